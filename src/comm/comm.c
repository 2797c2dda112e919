#include "comm/comm.h"

#include <mpi.h>
#if defined(__has_include)
#if __has_include(<mpi-ext.h>)
#include <mpi-ext.h> /* MPIX_Query_cuda_support, where the library has it */
#endif
#endif
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "util/check.h"
#include "util/layout.h"

static int aborting_allowed(void) {
    int init = 0, fin = 0, size = 1;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (!init || fin) return 0;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size > 1;
}

/* Runs on exit(): after a clean comm_finalize nothing happens; after an error
 * exit on one rank the other ranks are aborted rather than left blocked. */
static void exit_hook(void) {
    if (aborting_allowed()) MPI_Abort(MPI_COMM_WORLD, 1);
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) MPI_Finalize();
}

static void group_solo(Group *g) {
    memset(g, 0, sizeof *g), g->size = 1;
}

static void group_from(Group *g, MPI_Comm mc) {
    memset(g, 0, sizeof *g);
    MPI_Comm_rank(mc, &g->rank);
    MPI_Comm_size(mc, &g->size);
    if (g->size == 1) {
        MPI_Comm_free(&mc);
        return;
    }
    MPI_Comm *box = hl_malloc(sizeof(MPI_Comm));
    *box = mc;
    g->mpi = box;
}

/* The progress watchdog (comm.h). Every wait on another rank polls its
 * request (MPI_Test, MPI_Iprobe) and checks the clock; a wait longer than
 * the limit pings every rank on a private duplicate of the world. Ranks that
 * are waiting too answer from their polling loops, saying whom they wait on;
 * the ranks that do not answer within the grace time are the silent ones. */
enum { WD_PING = 1, WD_PONG = 2, WD_ENDING = 3 };
enum { WD_GROUP = -1, WD_IDLE = -2, WD_BUSY = -3 }; /* waited on: a group, nobody; working */

static struct {
    double limit;  /* seconds; 0: off */
    MPI_Comm comm; /* world duplicate for pings and pongs */
    int peer;      /* world rank this rank waits on, WD_GROUP or WD_IDLE */
    int timed_out; /* this rank's limit passed: it is about to end the job */
    int ending;    /* another rank has said it prints the line and ends the job */
    Layout layout; /* the grid, once comm_grid has run (dp = 0 before) */
} wd = {.peer = WD_IDLE};

static double wd_grace(void) {
    return wd.limit < 2 ? wd.limit : 2;
}

/* Answers every ping waiting ({rank waited on, timed out}) and notes an
 * announced end. */
static void wd_answer(void) {
    for (;;) {
        int flag = 0, msg;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, wd.comm, &flag, &st);
        if (!flag || st.MPI_TAG == WD_PONG) return;
        MPI_Recv(&msg, 1, MPI_INT, st.MPI_SOURCE, st.MPI_TAG, wd.comm, MPI_STATUS_IGNORE);
        if (st.MPI_TAG == WD_ENDING) {
            wd.ending = 1;
            continue;
        }
        int pong[2] = {wd.peer, wd.timed_out};
        MPI_Send(pong, 2, MPI_INT, st.MPI_SOURCE, WD_PONG, wd.comm);
    }
}

static void wd_sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* "replica 0, stage 1, tp rank 0" of world rank r, or "" before the grid. */
static void wd_place(int r, char *buf, size_t n) {
    buf[0] = 0;
    if (wd.layout.dp < 1) return;
    LayoutCoords c = layout_coords(wd.layout, r);
    if (wd.layout.dp > 1 && wd.layout.tp > 1)
        snprintf(buf, n, " (replica %d, stage %d, tp rank %d)", c.d, c.p, c.t);
    else if (wd.layout.dp > 1)
        snprintf(buf, n, " (replica %d, stage %d)", c.d, c.p);
    else if (wd.layout.tp > 1)
        snprintf(buf, n, " (stage %d, tp rank %d)", c.p, c.t);
    else
        snprintf(buf, n, " (stage %d)", c.p);
}

/* The limit passed on this rank: find the silent rank; the first rank to
 * get there announces it ends the job, prints one line and exits (several
 * ranks can time out at once: the lower one wins a near tie). Returns only
 * when every rank answered and one of them is busy on its own work (reading
 * the weights, comm_alive): then the wait goes on. */
static void wd_fire(void) {
    wd.timed_out = 1;
    int me, n;
    MPI_Comm_rank(wd.comm, &me);
    MPI_Comm_size(wd.comm, &n);
    int *pong = hl_malloc((size_t)n * 2 * sizeof(int));
    int *got = hl_calloc((size_t)n, sizeof(int));
    MPI_Request *rq = hl_malloc((size_t)n * 2 * sizeof(MPI_Request));
    int ping = me, pending = n - 1;
    for (int r = 0; r < n; r++) {
        rq[2 * r] = rq[2 * r + 1] = MPI_REQUEST_NULL;
        if (r == me) continue;
        MPI_Irecv(pong + 2 * r, 2, MPI_INT, r, WD_PONG, wd.comm, &rq[2 * r]);
        MPI_Isend(&ping, 1, MPI_INT, r, WD_PING, wd.comm, &rq[2 * r + 1]);
    }
    double t0 = MPI_Wtime();
    while (pending > 0 && MPI_Wtime() - t0 < wd_grace()) {
        wd_answer();
        for (int r = 0; r < n; r++) {
            int done = 0;
            if (r == me || got[r]) continue;
            MPI_Test(&rq[2 * r], &done, MPI_STATUS_IGNORE);
            if (done) got[r] = 1, pending--;
        }
    }
    int busy = 0;
    for (int r = 0; r < n; r++) busy |= r != me && got[r] && pong[2 * r] == WD_BUSY;
    if (busy && pending == 0 && !wd.ending) {
        for (int r = 0; r < n; r++)
            if (r != me) MPI_Wait(&rq[2 * r + 1], MPI_STATUS_IGNORE); /* the pings, received */
        wd.timed_out = 0;
        free(pong), free(got), free(rq);
        return;
    }
    double t1 = MPI_Wtime(), tie = 0.02 * (me < 50 ? me : 50);
    while (!wd.ending && MPI_Wtime() - t1 < tie) wd_answer(), wd_sleep_ms(1);
    wd_answer();
    if (wd.ending) { /* another rank prints and ends the job; exit if it does not */
        while (MPI_Wtime() - t1 < 10 + wd_grace()) wd_answer(), wd_sleep_ms(10);
        exit(1);
    }
    for (int r = 0; r < n; r++)
        if (r != me) MPI_Isend(&ping, 1, MPI_INT, r, WD_ENDING, wd.comm, &rq[2 * r + 1]);
    /* the silent rank: one waited on by this rank or an answering one, else the lowest */
    int silent = -1;
    if (wd.peer >= 0 && wd.peer != me && !got[wd.peer]) silent = wd.peer;
    for (int r = 0; r < n && silent < 0; r++)
        if (got[r] && pong[2 * r] >= 0 && pong[2 * r] < n && pong[2 * r] != me && !got[pong[2 * r]])
            silent = pong[2 * r];
    for (int r = 0; r < n && silent < 0; r++)
        if (r != me && !got[r]) silent = r;
    char line[512], place[96];
    if (silent >= 0) {
        wd_place(silent, place, sizeof place);
        snprintf(line, sizeof line,
                 "rank %d%s sent nothing for %g s (stopped, hung or far too slow; watchdog_s is "
                 "%g); ending the job",
                 silent, place, wd.limit, wd.limit);
    } else {
        snprintf(line, sizeof line,
                 "every rank has waited on another for %g s (a deadlock: please report it); "
                 "ending the job",
                 wd.limit);
    }
    fprintf(stderr, "hyperllava: error: %s\n", line);
    fflush(stderr);
    exit(1); /* the exit hook aborts the other ranks */
}

/* Completes q (or, with q NULL, waits until a message from probe_src can be
 * received, filling st), watching the clock; peer names whom it waits on. */
static void wd_wait(MPI_Request *q, int probe_src, MPI_Status *st, int peer) {
    if (wd.limit <= 0) {
        if (q)
            MPI_Wait(q, st);
        else
            MPI_Probe(probe_src, MPI_ANY_TAG, MPI_COMM_WORLD, st);
        return;
    }
    int done = 0;
    wd.peer = peer;
    double t0 = MPI_Wtime();
    for (unsigned it = 1;; it++) {
        if (q)
            MPI_Test(q, &done, st);
        else
            MPI_Iprobe(probe_src, MPI_ANY_TAG, MPI_COMM_WORLD, &done, st);
        if (done) break;
        if (it % 64 == 0) {
            wd_answer();
            if (MPI_Wtime() - t0 > wd.limit) {
                wd_fire(); /* returns when a rank it waits on is still working */
                t0 = MPI_Wtime();
            }
        }
    }
    wd.peer = WD_IDLE;
}

/* Before a blocking collective (which cannot be interrupted): every member
 * arrives, watched. Off when the watchdog is off. */
static void wd_arrive(MPI_Comm mc) {
    if (wd.limit <= 0) return;
    MPI_Request q;
    MPI_Ibarrier(mc, &q);
    wd_wait(&q, 0, MPI_STATUS_IGNORE, WD_GROUP);
}

void comm_watchdog(Comm *c, double seconds) {
    (void)c;
    wd.limit = seconds > 0 ? seconds : 0;
}

void comm_alive(Comm *c) {
    (void)c;
    if (wd.limit <= 0) return;
    int peer = wd.peer;
    wd.peer = WD_BUSY;
    wd_answer();
    wd.peer = peer;
}

void comm_init(int *argc, char ***argv, Comm *c) {
    memset(c, 0, sizeof *c);
    int provided;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    atexit(exit_hook);
    hl_report_all_ranks();
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->size);
    c->dp = c->pp = c->tp = 1;
    group_solo(&c->tp_group);
    MPI_Comm w;
    MPI_Comm_dup(MPI_COMM_WORLD, &w);
    group_from(&c->world, w);
    /* ranks sharing a node pick their GPU by this */
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &c->local_rank);
    MPI_Comm_free(&node);
#if defined(MPIX_CUDA_AWARE_SUPPORT) && MPIX_CUDA_AWARE_SUPPORT
    c->device_memory = MPIX_Query_cuda_support() == 1;
#endif
    MPI_Comm_dup(MPI_COMM_WORLD, &wd.comm);
}

int comm_rank_of(const Comm *c, int dp_rank, int pp_rank, int tp_rank) {
    return layout_rank_of((Layout){c->dp, c->pp, c->tp}, (LayoutCoords){dp_rank, pp_rank, tp_rank});
}

void comm_grid(Comm *c, int dp, int pp, int tp) {
    Layout l = {dp, pp, tp};
    CHECK(layout_world(l) == c->size);
    LayoutCoords me = layout_coords(l, c->rank);
    c->dp = dp, c->pp = pp, c->tp = tp;
    c->dp_rank = me.d, c->pp_rank = me.p, c->tp_rank = me.t;
    wd.layout = l;
    MPI_Comm m;
    wd_arrive(MPI_COMM_WORLD); /* a split blocks until every rank calls it */
    MPI_Comm_split(MPI_COMM_WORLD, c->dp_rank * pp + c->pp_rank, c->tp_rank, &m);
    group_from(&c->tp_group, m);
    c->tp_group.device_memory = c->device_memory;
}

void comm_subgroup(Comm *c, int color, int key, Group *out) {
    (void)c;
    MPI_Comm m;
    wd_arrive(MPI_COMM_WORLD); /* after loading weights: a rank frozen there is named */
    MPI_Comm_split(MPI_COMM_WORLD, color >= 0 ? color : MPI_UNDEFINED, key, &m);
    if (color < 0) {
        group_solo(out);
        out->size = 0;
        return;
    }
    group_from(out, m);
}

void comm_finalize(Comm *c) {
    (void)c;
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Finalize();
}

void comm_fail_all(Comm *c, const char *msg) {
    if (c->rank == 0) {
        fprintf(stderr, "hyperllava: error: %s\n", msg);
        fflush(stderr);
    }
    comm_finalize(c);
    exit(1);
}

int comm_any(Comm *c, int flag) {
    if (c->size == 1) return flag != 0;
    int in = flag != 0, out = 0;
    wd_arrive(MPI_COMM_WORLD);
    MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return out;
}

#define GROUP_COLLECTIVE(g, nbytes, call)                                                          \
    do {                                                                                           \
        if ((g)->size <= 1) return;                                                                \
        double t0_ = MPI_Wtime();                                                                  \
        wd_arrive(*(MPI_Comm *)(g)->mpi);                                                          \
        call;                                                                                      \
        (g)->time_s += MPI_Wtime() - t0_;                                                          \
        (g)->bytes += (nbytes);                                                                    \
    } while (0)

void group_allreduce_sum(Group *g, float *buf, long n) {
    GROUP_COLLECTIVE(
        g, (uint64_t)n * 4,
        MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, *(MPI_Comm *)g->mpi));
}

void group_allreduce_sum_double(Group *g, double *buf, long n) {
    GROUP_COLLECTIVE(
        g, (uint64_t)n * 8,
        MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, *(MPI_Comm *)g->mpi));
}

void group_allreduce_max_double(Group *g, double *buf, long n) {
    GROUP_COLLECTIVE(
        g, (uint64_t)n * 8,
        MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_MAX, *(MPI_Comm *)g->mpi));
}

typedef struct {
    float v;
    int i;
} FloatInt;

void group_allreduce_maxloc(Group *g, float *val, int *idx, int n) {
    if (g->size <= 1) return;
    FloatInt *p = hl_malloc((size_t)n * sizeof *p);
    for (int i = 0; i < n; i++) p[i].v = val[i], p[i].i = idx[i];
    double t0 = MPI_Wtime();
    wd_arrive(*(MPI_Comm *)g->mpi);
    MPI_Allreduce(MPI_IN_PLACE, p, n, MPI_FLOAT_INT, MPI_MAXLOC, *(MPI_Comm *)g->mpi);
    g->time_s += MPI_Wtime() - t0;
    g->bytes += (uint64_t)n * sizeof *p;
    for (int i = 0; i < n; i++) val[i] = p[i].v, idx[i] = p[i].i;
    free(p);
}

void group_bcast(Group *g, void *buf, size_t bytes, int root) {
    GROUP_COLLECTIVE(g, g->rank == root ? bytes : 0,
                     MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, *(MPI_Comm *)g->mpi));
}

void group_barrier(Group *g) {
    GROUP_COLLECTIVE(g, 0, MPI_Barrier(*(MPI_Comm *)g->mpi));
}

char *group_gatherv(Group *g, const void *buf, size_t bytes, int root, size_t **sizes) {
    if (g->size <= 1) {
        char *out = hl_malloc(bytes);
        memcpy(out, buf, bytes);
        *sizes = hl_malloc(sizeof(size_t));
        (*sizes)[0] = bytes;
        return out;
    }
    MPI_Comm mc = *(MPI_Comm *)g->mpi;
    int mine = (int)bytes;
    int *counts = hl_calloc((size_t)g->size, sizeof(int)), *displs = NULL;
    wd_arrive(mc);
    MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, root, mc);
    char *out = NULL;
    long total = 0;
    if (g->rank == root) {
        displs = hl_calloc((size_t)g->size, sizeof(int));
        for (int i = 0; i < g->size; i++) displs[i] = (int)total, total += counts[i];
        out = hl_malloc((size_t)total + 1);
    }
    MPI_Gatherv(buf, mine, MPI_BYTE, out, counts, displs, MPI_BYTE, root, mc);
    g->bytes += bytes;
    if (g->rank == root) {
        *sizes = hl_malloc((size_t)g->size * sizeof(size_t));
        for (int i = 0; i < g->size; i++) (*sizes)[i] = (size_t)counts[i];
    } else {
        *sizes = NULL;
    }
    free(counts);
    free(displs);
    return out;
}

double comm_wtime(void) {
    return MPI_Wtime();
}

void comm_library_version(char *buf, size_t n) {
    char v[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int len = 0;
    MPI_Get_library_version(v, &len);
    char *nl = strchr(v, '\n');
    if (nl) *nl = 0;
    snprintf(buf, n, "%s", v);
}

uint64_t comm_peak_rss_bytes(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_maxrss * 1024;
}

void comm_isend_owned(Comm *c, int dest, int tag, void *buf, size_t bytes, CommRequest *r) {
    MPI_Request *q = hl_malloc(sizeof *q);
    double t0 = MPI_Wtime();
    MPI_Isend(buf, (int)bytes, MPI_BYTE, dest, tag, MPI_COMM_WORLD, q);
    c->p2p_time_s += MPI_Wtime() - t0;
    c->p2p_bytes += bytes;
    r->req = q;
    r->owned = buf;
    r->peer = dest;
}

void group_ibcast(Group *g, void *buf, size_t bytes, int root, CommRequest *r) {
    r->owned = NULL;
    r->req = NULL;
    r->peer = WD_GROUP;
    if (g->size <= 1) return;
    MPI_Request *q = hl_malloc(sizeof *q);
    MPI_Ibcast(buf, (int)bytes, MPI_BYTE, root, *(MPI_Comm *)g->mpi, q);
    if (g->rank == root) g->bytes += bytes;
    r->req = q;
}

double comm_wait(CommRequest *r) {
    if (!r->req) return 0;
    double t0 = MPI_Wtime();
    wd_wait((MPI_Request *)r->req, 0, MPI_STATUS_IGNORE, r->peer);
    free(r->req);
    free(r->owned);
    r->req = r->owned = NULL;
    return MPI_Wtime() - t0;
}

int comm_test(CommRequest *r) {
    if (!r->req) return 1;
    int done = 0;
    MPI_Test((MPI_Request *)r->req, &done, MPI_STATUS_IGNORE);
    if (done) {
        free(r->req);
        free(r->owned);
        r->req = r->owned = NULL;
    }
    return done;
}

void *comm_recv_any(Comm *c, int src, int *tag, size_t *bytes, double *wait_s) {
    double t0 = MPI_Wtime();
    MPI_Status st;
    wd_wait(NULL, src, &st, src);
    double t1 = MPI_Wtime();
    int n;
    MPI_Get_count(&st, MPI_BYTE, &n);
    void *buf = hl_malloc((size_t)n + 1);
    MPI_Request q;
    MPI_Irecv(buf, n, MPI_BYTE, src, st.MPI_TAG, MPI_COMM_WORLD, &q);
    wd_wait(&q, 0, MPI_STATUS_IGNORE, src);
    c->p2p_time_s += MPI_Wtime() - t1;
    if (wait_s) *wait_s += t1 - t0;
    *tag = st.MPI_TAG;
    *bytes = (size_t)n;
    return buf;
}
