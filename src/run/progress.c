#include "run/progress.h"

#include <stdio.h>

void progress_init(Progress *p, const char *name, const char *unit, const char *rate, size_t total,
                   size_t start, double now, int tty) {
    *p = (Progress){.name = name,
                    .unit = unit,
                    .rate = rate,
                    .total = total,
                    .done = start,
                    .start = start,
                    .t0 = now,
                    .last = now,
                    .tty = tty,
                    .last_decile = -1};
}

void progress_update(Progress *p, size_t done, double now) {
    p->done = done;
    size_t n = p->done - p->start, todo = p->total - p->start;
    double el = now - p->t0, rate = el > 0 ? n / el : 0, eta = rate > 0 ? (todo - n) / rate : 0;
    if (p->tty) {
        int w = 30, f = todo ? (int)(w * n / todo) : w;
        fprintf(stderr, "\r%-12.12s [%.*s%*s] %zu/%zu  %.2f %s  ETA %02d:%02d:%02d ", p->name, f,
                "##############################", w - f, "", p->done, p->total, rate, p->rate,
                (int)eta / 3600, (int)eta / 60 % 60, (int)eta % 60);
        p->drawn = p->done != p->total;
        if (!p->drawn) fputc('\n', stderr);
    } else {
        int dec = todo ? (int)(10 * n / todo) : 10;
        if (dec == p->last_decile && now - p->last < 60 && p->done != p->total) return;
        p->last_decile = dec, p->last = now;
        fprintf(stderr, "hyperllava: %s: %zu/%zu %s, %.2f %s, ETA %.0f s\n", p->name, p->done,
                p->total, p->unit, rate, p->rate, eta);
    }
    fflush(stderr);
}

void progress_clear(Progress *p) {
    if (!p->tty || !p->drawn) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->drawn = 0;
}
