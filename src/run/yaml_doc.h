/* A YAML file read into a small tree that remembers line numbers, so the
 * config and job readers can be strict and still say exactly where a problem
 * is: every error is one line "file:line: key.path: problem".
 *
 * Only what configs need: maps with plain string keys, sequences and scalars.
 * Aliases, non-string keys, tags other than !!str and more than one document
 * are refused; a duplicate key is an error at load time. Scalars keep their
 * text and whether they were plain (unquoted): only plain scalars can be
 * numbers or null, so `tp: "2"` is a string, not an integer. */
#ifndef HL_YAML_DOC_H
#define HL_YAML_DOC_H

#include <stddef.h>
#include <stdint.h>

#include "util/check.h"

typedef enum { YD_SCALAR, YD_MAP, YD_SEQ } YdKind;

typedef struct YdNode YdNode;
struct YdNode {
    YdKind kind;
    int line;       /* 1-based line where the node starts */
    int key_line;   /* line of the map key naming this node (0: root or list item) */
    char *value;    /* scalar text */
    int plain;      /* scalar: 1 when written unquoted */
    int n;          /* map: pairs; seq: items */
    char **keys;    /* map: key of each pair */
    YdNode **items; /* map: value of each pair; seq: items */
};

typedef struct {
    char *path;   /* the file as given */
    char *dir;    /* its folder ("." when none): relative paths resolve against it */
    YdNode *root; /* NULL for an empty document */
} YdDoc;

/* Reads and parses a file; hl_fail on I/O or syntax errors ("f.yaml:3:7: YAML
 * syntax error: ..."), duplicate keys, aliases and unsupported tags. */
void yd_load(const char *path, YdDoc *doc);
void yd_free(YdDoc *doc);

/* The line to report for a node: its key's line when it has one. */
int yd_line(const YdNode *n);
/* "path:line: key: message" and exit 1. key may be NULL or "". */
HL_NORETURN void yd_fail(const YdDoc *doc, int line, const char *key, const char *fmt, ...)
    HL_PRINTF(4, 5);
/* What a node is, for "got ..." messages: "\"two\"", "null", "a list", "a map". */
const char *yd_describe(const YdNode *n, char *buf, size_t cap);
int yd_is_null(const YdNode *n);

/* Value of a map key, NULL when absent. */
const YdNode *yd_get(const YdNode *map, const char *key);
/* Fails ("key.path: expected a map, got a list") unless the node is a map / a list. */
void yd_expect_map(const YdDoc *doc, const YdNode *n, const char *keypath);
void yd_expect_seq(const YdDoc *doc, const YdNode *n, const char *keypath);
/* Fails on the first key of a map that is not in the NULL-terminated list
 * ("prefix.key: unknown key (expected one of a, b, c)"). prefix may be "". */
void yd_check_keys(const YdDoc *doc, const YdNode *map, const char *prefix,
                   const char *const *allowed);
/* The value of a required key; fails "prefix.key: missing required key" at the map's line. */
const YdNode *yd_require(const YdDoc *doc, const YdNode *map, const char *prefix, const char *key);

/* Typed scalars. Each fails with "keypath: expected ..., got ..." otherwise.
 * yd_int: a plain decimal integer in [min, max]. */
long long yd_int(const YdDoc *doc, const YdNode *n, const char *keypath, long long min,
                 long long max);
uint64_t yd_u64(const YdDoc *doc, const YdNode *n, const char *keypath);
/* A plain finite number (integer or decimal) in [min, max]. */
double yd_real(const YdDoc *doc, const YdNode *n, const char *keypath, double min, double max);
/* A non-null, non-empty scalar (numbers are accepted as text). */
const char *yd_str(const YdDoc *doc, const YdNode *n, const char *keypath);

/* A path value: ${VAR} and ${VAR:-default} are replaced from the environment
 * (an unset VAR without default is an error), then a relative result is joined
 * to base_dir (NULL: the document's folder). Returns a malloc'd string. */
char *yd_path(const YdDoc *doc, const YdNode *n, const char *keypath, const char *base_dir);

#endif
