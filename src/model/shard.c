#include "model/shard.h"

void shard_sum(const Ctx *ctx, Group *tp, float *buf, long n) {
    if (tp->size <= 1 || n <= 0) return;
    if (ctx->backend == BACKEND_CPU || tp->device_memory) {
        ctx_sync(ctx); /* the kernels that wrote buf are done before MPI reads it */
        group_allreduce_sum(tp, buf, n);
        return;
    }
    size_t bytes = (size_t)n * sizeof(float);
    float *h = ctx_staging(ctx, bytes);
    ctx_download(ctx, h, buf, bytes);
    group_allreduce_sum(tp, h, n);
    ctx_upload(ctx, buf, h, bytes);
}
