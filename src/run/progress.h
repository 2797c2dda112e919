/* Progress of a long command on rank 0, on stderr: on a terminal a bar with
 * the rate and the ETA, redrawn in place; otherwise a log line every 10 % of
 * the work (and at least every 60 s) and one at the end. The ETA assumes the
 * rest goes at the rate so far. */
#ifndef HL_PROGRESS_H
#define HL_PROGRESS_H

#include <stddef.h>

typedef struct {
    const char *name; /* what runs ("pope", "generate") */
    const char *unit; /* what is counted, for the log line ("answered") */
    const char *rate; /* the rate's unit ("q/s") */
    size_t total, done, start;
    double t0, last;
    int tty, last_decile, drawn;
} Progress;

/* Counts from `start` (work done before, e.g. a resumed run) to `total`;
 * now: the clock of the caller (seconds). tty: draw a bar. */
void progress_init(Progress *p, const char *name, const char *unit, const char *rate, size_t total,
                   size_t start, double now, int tty);
/* `done` of `total` are finished: draws the bar or logs a line when due. */
void progress_update(Progress *p, size_t done, double now);
/* Erases a bar drawn on the terminal, before other output goes there. */
void progress_clear(Progress *p);

#endif
