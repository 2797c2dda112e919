#include "kernels/ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda.h"
#include "util/check.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static int cpu_has(Isa isa) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (isa == ISA_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (isa == ISA_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
    return 1;
#else
    return isa == ISA_GENERIC;
#endif
}

Isa isa_detect(void) {
    return cpu_has(ISA_AVX512) ? ISA_AVX512 : cpu_has(ISA_AVX2) ? ISA_AVX2 : ISA_GENERIC;
}

const char *isa_name(Isa isa) {
    return isa == ISA_AVX512 ? "avx512" : isa == ISA_AVX2 ? "avx2" : "generic";
}

int isa_parse(const char *s, Isa *isa) {
    Isa v;
    if (!strcmp(s, "auto"))
        v = isa_detect();
    else if (!strcmp(s, "generic"))
        v = ISA_GENERIC;
    else if (!strcmp(s, "avx2"))
        v = ISA_AVX2;
    else if (!strcmp(s, "avx512"))
        v = ISA_AVX512;
    else
        return -1;
    if (!cpu_has(v)) return -2;
    *isa = v;
    return 0;
}

const char *isa_choose(const char *name, Isa *isa) {
    *isa = isa_detect();
    if (!name || !*name) return NULL;
    int rc = isa_parse(name, isa);
    return rc == -1   ? "unknown kernel (expected auto, avx512, avx2 or generic)"
           : rc == -2 ? "this CPU cannot run it"
                      : NULL;
}

Ctx ctx_cpu(int threads, Isa isa) {
#ifdef _OPENMP
    if (threads <= 0) threads = omp_get_num_procs();
#else
    threads = 1;
#endif
    return (Ctx){.backend = BACKEND_CPU, .threads = threads, .isa = isa, .device = -1, .dev = NULL};
}

int backend_cuda_built(void) {
#ifdef HL_CUDA
    return 1;
#else
    return 0;
#endif
}

const char *backends_built(void) {
    return backend_cuda_built() ? "cpu cuda" : "cpu";
}

void *ctx_alloc(const Ctx *ctx, size_t bytes) {
#ifdef HL_CUDA
    if (ctx->backend == BACKEND_CUDA) return cuda_alloc(ctx->dev, bytes, 0);
#endif
    (void)ctx;
    return hl_calloc(bytes ? bytes : 1, 1);
}

void ctx_free(const Ctx *ctx, void *p) {
    if (!p) return;
    CUDA_TWIN(ctx, cuda_free(ctx->dev, p));
    free(p);
}

void ctx_upload(const Ctx *ctx, void *dst, const void *src, size_t bytes) {
    if (!bytes) return;
    CUDA_TWIN(ctx, cuda_upload(ctx->dev, dst, src, bytes));
    memcpy(dst, src, bytes);
}

void ctx_download(const Ctx *ctx, void *dst, const void *src, size_t bytes) {
    if (!bytes) return;
    CUDA_TWIN(ctx, cuda_download(ctx->dev, dst, src, bytes));
    memcpy(dst, src, bytes);
}

void ctx_copy(const Ctx *ctx, void *dst, const void *src, size_t bytes) {
    if (!bytes || dst == src) return;
    CUDA_TWIN(ctx, cuda_copy(ctx->dev, dst, src, bytes));
    memmove(dst, src, bytes);
}

void ctx_sync(const Ctx *ctx) {
    CUDA_TWIN(ctx, cuda_sync(ctx->dev));
}

void *ctx_view(const Ctx *ctx, const void *host, size_t bytes, size_t size) {
    if (ctx->backend == BACKEND_CPU) return (void *)host;
#ifdef HL_CUDA
    void *v = cuda_alloc(ctx->dev, size, bytes); /* only what is not uploaded is zeroed */
    ctx_upload(ctx, v, host, bytes);
    return v;
#else
    (void)bytes, (void)size;
    CHECK(0);
    return NULL;
#endif
}

void ctx_view_end(const Ctx *ctx, void *host, void *view, size_t back) {
    if (ctx->backend == BACKEND_CPU) return;
    ctx_download(ctx, host, view, back);
    ctx_free(ctx, view);
}

void *ctx_exchange(const Ctx *ctx, size_t bytes) {
#ifdef HL_CUDA
    if (ctx->backend == BACKEND_CUDA) return cuda_exchange(ctx->dev, bytes);
#endif
    (void)ctx, (void)bytes;
    return NULL;
}

void *ctx_staging(const Ctx *ctx, size_t bytes) {
#ifdef HL_CUDA
    if (ctx->backend == BACKEND_CUDA) return cuda_staging(ctx->dev, bytes);
#endif
    (void)ctx, (void)bytes;
    return NULL;
}

int ctx_cuda(Ctx *ctx, int local_rank, char *err, size_t n) {
#ifdef HL_CUDA
    int count = cuda_device_count(err, n);
    if (count <= 0) return -1;
    int device = local_rank % count;
    void *dev = cuda_open(device, err, n);
    if (!dev) return -1;
    *ctx = (Ctx){
        .backend = BACKEND_CUDA, .threads = 1, .isa = ISA_GENERIC, .device = device, .dev = dev};
    return 0;
#else
    (void)ctx, (void)local_rank;
    snprintf(err, n, "this binary was built without CUDA (no nvcc at build time)");
    return -1;
#endif
}

void ctx_device_memory(const Ctx *ctx, size_t *free_b, size_t *total_b) {
    *free_b = *total_b = 0;
#ifdef HL_CUDA
    if (ctx->backend == BACKEND_CUDA) cuda_memory(ctx->dev, free_b, total_b);
#else
    (void)ctx;
#endif
}

const char *ctx_device_name(const Ctx *ctx) {
#ifdef HL_CUDA
    if (ctx->backend == BACKEND_CUDA) return cuda_device_name(ctx->dev);
#else
    (void)ctx;
#endif
    return "cpu";
}

void ctx_release(Ctx *ctx) {
#ifdef HL_CUDA
    if (ctx->backend == BACKEND_CUDA) cuda_close(ctx->dev);
#endif
    ctx->dev = NULL;
}
