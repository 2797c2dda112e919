#include "model/shard.h"

void shard_sum(const Ctx *ctx, Group *tp, float *buf, long n) {
    if (tp->size <= 1 || n <= 0) return;
    size_t bytes = (size_t)n * sizeof(float);
    if (ctx->backend == BACKEND_CPU) {
        group_allreduce_sum(tp, buf, n);
        return;
    }
    if (tp->device_memory) {
        /* MPI gets memory it can share between processes, once the kernels
         * that wrote buf are done */
        float *x = ctx_exchange(ctx, bytes);
        ctx_copy(ctx, x, buf, bytes);
        ctx_sync(ctx);
        group_allreduce_sum(tp, x, n);
        ctx_copy(ctx, buf, x, bytes);
        return;
    }
    float *h = ctx_staging(ctx, bytes);
    ctx_download(ctx, h, buf, bytes);
    group_allreduce_sum(tp, h, n);
    ctx_upload(ctx, buf, h, bytes);
}
