/* Tab-separated tables as pandas.read_table reads them (MMBench's question files).
 *
 * First row = column names. A field that starts with '"' is quoted: it runs to the
 * closing quote, may hold tabs and newlines, and "" stands for one quote; quotes
 * elsewhere are literal. Blank lines are skipped, "\r\n" line ends are accepted, a
 * leading UTF-8 byte order mark is dropped. Missing trailing fields are empty. */
#ifndef HL_TSV_H
#define HL_TSV_H

#include <stddef.h>

#include "util/base64.h" /* MMBench TSV cells hold base64 images */

typedef struct {
    char *path;
    char **cols;
    size_t ncols;
    char ***rows; /* rows[r][c], NUL-terminated strings ("" for a missing field) */
    long *lines;  /* line in the file where row r starts */
    size_t nrows;
} TsvTable;

TsvTable *tsv_read(const char *path);
int tsv_col(const TsvTable *t, const char *name); /* column index or -1 */
void tsv_free(TsvTable *t);

/* pandas' default missing-value strings ("", "NA", "N/A", "NaN", "nan", "None",
 * "NULL", "null", "n/a", "#N/A", "<NA>", ...): such a cell reads as NaN. */
int tsv_is_na(const char *cell);

#endif
