/* Reading the image goldens that tests/reference/make_pillow_goldens.py
 * writes to tests/fixtures/pillow/ (goldens.txt, goldens_unconverted.txt):
 * one check per line, fields separated by spaces, the first naming the kind
 * of check; '#' starts a comment line. Images are under img/. */
#ifndef HL_PILLOW_GOLDEN_H
#define HL_PILLOW_GOLDEN_H

#include <stdio.h>
#include <string.h>

#include "test.h"

#define PILLOW_FIX "tests/fixtures/pillow"

/* The path of the fixture image `file` in buf. */
static inline void pillow_image_path(char *buf, size_t cap, const char *file) {
    snprintf(buf, cap, PILLOW_FIX "/img/%s", file);
}

/* The whole text of the goldens file PILLOW_FIX/name; NULL, with a failed
 * check, when it cannot be read. */
static inline char *pillow_goldens_read(const char *name) {
    char path[512];
    snprintf(path, sizeof path, PILLOW_FIX "/%s", name);
    char *text = test_read_file(path, NULL);
    EXPECT(text != NULL, "cannot open %s (run from the repository root)", path);
    return text;
}

/* The next line of the text at *cur that is neither blank nor a comment,
 * cut in place (its '\n' becomes a NUL); NULL at the end of the text. */
static inline char *pillow_goldens_next(char **cur) {
    while (**cur) {
        char *line = *cur, *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        *cur = nl ? nl + 1 : line + strlen(line);
        if (line[0] != '#' && line[0] != 0) return line;
    }
    return NULL;
}

#endif
