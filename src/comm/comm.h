/* The one place that talks MPI. Model and run code see only Groups (a set of
 * ranks that reduce or broadcast together) and point-to-point messages
 * between world ranks. A Group of size 1 never calls MPI, so single-rank code
 * paths cost nothing. Each Group counts its own time and bytes (metrics). */
#ifndef HL_COMM_H
#define HL_COMM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int rank, size;
    void *mpi;         /* MPI_Comm*, or NULL for a group of one */
    int device_memory; /* MPI may be handed device pointers (CUDA-aware) */
    double time_s;     /* wall time spent inside this group's collectives */
    uint64_t bytes;    /* bytes this rank contributed */
} Group;

typedef struct {
    int rank, size; /* world */
    int dp, pp, tp;
    int dp_rank, pp_rank, tp_rank;
    Group world;
    Group tp_group;    /* ranks of one stage of one replica */
    int local_rank;    /* rank among the ranks of this node */
    int device_memory; /* the MPI library takes device pointers (CUDA-aware) */
    double p2p_time_s;
    uint64_t p2p_bytes;
} Comm;

/* MPI_Init and an exit hook: a rank that exits with an error (hl_fail) aborts
 * the whole job instead of leaving the others waiting. */
void comm_init(int *argc, char ***argv, Comm *c);
/* Builds the rank grid (numbering: util/layout.h). */
void comm_grid(Comm *c, int dp, int pp, int tp);
/* World rank of (dp_rank, pp_rank, tp_rank). */
int comm_rank_of(const Comm *c, int dp_rank, int pp_rank, int tp_rank);
/* MPI_Finalize; after it, exit(status) does not abort anyone. */
void comm_finalize(Comm *c);
/* Every rank calls this with the same decision: rank 0 prints the message,
 * all ranks finalize and exit(1). For errors every rank detects alike. */
void comm_fail_all(Comm *c, const char *msg);
/* The progress watchdog: a rank that waits on another (a pipeline message,
 * a send's completion, a broadcast, any collective) for longer than `seconds`
 * finds the rank that has gone silent (stopped, hung, far too slow), prints
 * one line naming it, and ends the job (exit 1 on every rank). 0 turns it off
 * (plain blocking waits). With it on, each blocking collective is preceded
 * by a watched barrier, as a blocking collective cannot be interrupted. */
void comm_watchdog(Comm *c, double seconds);
/* Called now and then from long work of this rank alone (reading its
 * weights): answers the watchdog's pings as busy, so ranks that wait for it
 * wait on instead of ending the job; a rank that stops calling it (frozen)
 * is named once the limit passes. */
void comm_alive(Comm *c);
/* 1 if any rank of the world passed a non-zero flag. */
int comm_any(Comm *c, int flag);

void group_allreduce_sum(Group *g, float *buf, long n);
void group_allreduce_max_double(Group *g, double *buf, long n);
void group_allreduce_sum_double(Group *g, double *buf, long n);
/* For each i: the largest val[i] over the group and the lowest index holding
 * it (MPI_MAXLOC over (float, int) pairs). */
void group_allreduce_maxloc(Group *g, float *val, int *idx, int n);
void group_bcast(Group *g, void *buf, size_t bytes, int root);
void group_barrier(Group *g);
/* Gathers variable-size byte blocks to root (returns malloc'd concatenation
 * and per-rank sizes on root, NULL elsewhere). */
char *group_gatherv(Group *g, const void *buf, size_t bytes, int root, size_t **sizes);

/* Collective over the world: ranks passing the same color >= 0 form a group,
 * ordered by key; color < 0 joins none (out->size = 0). */
void comm_subgroup(Comm *c, int color, int key, Group *out);

double comm_wtime(void);
/* First line of the MPI library's version string. */
void comm_library_version(char *buf, size_t n);
uint64_t comm_peak_rss_bytes(void);

/* Non-blocking operations. A CommRequest owns the buffer it sends from when
 * `owned` is set, and frees it on completion. */
typedef struct {
    void *req; /* MPI_Request* */
    void *owned;
    int peer; /* world rank at the other end; -1: a group */
} CommRequest;

/* Sends without blocking; takes ownership of buf (freed when done). */
void comm_isend_owned(Comm *c, int dest, int tag, void *buf, size_t bytes, CommRequest *r);
/* Broadcast without blocking; buf must live until comm_wait. */
void group_ibcast(Group *g, void *buf, size_t bytes, int root, CommRequest *r);
/* Waits for r (no-op for an empty request); returns the seconds waited. */
double comm_wait(CommRequest *r);
/* Completes r if it is done; returns 1 when complete. */
int comm_test(CommRequest *r);
/* Receives the next message from src with any tag; returns its tag. */
void *comm_recv_any(Comm *c, int src, int *tag, size_t *bytes, double *wait_s);

#endif
