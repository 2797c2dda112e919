/* JSON and JSON Lines input, and output byte-identical to Python's json.dumps.
 *
 * The benchmark files are JSON (one document) or JSON Lines (one object a line);
 * every read error names the file and line. The output side writes what Python's
 * json.dumps / json.dump writes with default settings (ensure_ascii, ", " and ": "
 * separators, keys in insertion order, floats as repr), so answers and submission
 * files made here are byte-identical to those LLaVA's scripts make. */
#ifndef HL_JSONIO_H
#define HL_JSONIO_H

#include <jansson.h>
#include <stdio.h>

#include "text/pytext.h"

/* Whole-file JSON document; fails with "path: line L: message". */
json_t *json_read_file(const char *path);

typedef struct {
    FILE *f;
    char *path;
    long line; /* number of the line last returned (1-based) */
    char *buf;
    size_t cap;
} JsonlReader;

void jsonl_open(JsonlReader *r, const char *path);
/* Next non-blank line as a JSON object (new reference), NULL at end of file.
 * Fails with "path:line: ..." on bad JSON or a line that is not an object. */
json_t *jsonl_next(JsonlReader *r);
void jsonl_close(JsonlReader *r);

/* obj[key], failing with "path:line: missing key 'key'" (line 0: no line part). */
json_t *json_req(json_t *obj, const char *key, const char *path, long line);
/* obj[key] as a string, failing when missing or not a string. */
const char *json_req_str(json_t *obj, const char *key, const char *path, long line);

/* Python json.dumps(v) (indent < 0) or json.dumps(v, indent=indent), appended to b. */
void pyjson_dump(StrBuf *b, json_t *v, int indent);
char *pyjson_dumps(json_t *v, int indent);
/* Writes json.dump(v, f[, indent]) to path (no trailing newline, as Python),
 * atomically (util/atomic.h). */
void pyjson_write_file(const char *path, json_t *v, int indent);
/* json_dumps(v, flags) written atomically (util/atomic.h); fails naming path. */
void json_write_atomic(const char *path, const json_t *v, size_t flags);
/* Python repr() of a float, as json.dumps prints it. */
void py_float_repr(StrBuf *b, double x);

/* json_string() of any bytes: ill-formed UTF-8 is replaced by U+FFFD first. */
json_t *json_text(const char *s);

/* A question id as a dictionary key with Python's equality: 1, 1.0 and true are the
 * same key, "1" is another. Returns a new string. */
char *json_id_key(json_t *id);
/* str(id) in Python: 12 -> "12", "ab" -> "ab". Returns a new string. */
char *json_id_str(json_t *id);

#endif
