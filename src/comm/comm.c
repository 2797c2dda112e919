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
    MPI_Comm m;
    MPI_Comm_split(MPI_COMM_WORLD, c->dp_rank * pp + c->pp_rank, c->tp_rank, &m);
    group_from(&c->tp_group, m);
    c->tp_group.device_memory = c->device_memory;
}

void comm_subgroup(Comm *c, int color, int key, Group *out) {
    (void)c;
    MPI_Comm m;
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
    MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return out;
}

#define GROUP_COLLECTIVE(g, nbytes, call)                                                          \
    do {                                                                                           \
        if ((g)->size <= 1) return;                                                                \
        double t0_ = MPI_Wtime();                                                                  \
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
}

void group_ibcast(Group *g, void *buf, size_t bytes, int root, CommRequest *r) {
    r->owned = NULL;
    r->req = NULL;
    if (g->size <= 1) return;
    MPI_Request *q = hl_malloc(sizeof *q);
    MPI_Ibcast(buf, (int)bytes, MPI_BYTE, root, *(MPI_Comm *)g->mpi, q);
    if (g->rank == root) g->bytes += bytes;
    r->req = q;
}

double comm_wait(CommRequest *r) {
    if (!r->req) return 0;
    double t0 = MPI_Wtime();
    MPI_Wait((MPI_Request *)r->req, MPI_STATUS_IGNORE);
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
    MPI_Probe(src, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
    double t1 = MPI_Wtime();
    int n;
    MPI_Get_count(&st, MPI_BYTE, &n);
    void *buf = hl_malloc((size_t)n + 1);
    MPI_Recv(buf, n, MPI_BYTE, src, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    c->p2p_time_s += MPI_Wtime() - t1;
    if (wait_s) *wait_s += t1 - t0;
    *tag = st.MPI_TAG;
    *bytes = (size_t)n;
    return buf;
}
