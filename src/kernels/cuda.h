/* The CUDA twins of the kernels, as C functions. Each takes the device
 * state of a CUDA Ctx (ctx->dev) and device pointers, runs on that state's
 * stream and mirrors the CPU kernel of the same name (one exception: with
 * bf16/f16 weights the GEMM rounds its activations to the weight's type for
 * the tensor cores, where the CPU keeps them in f32); the index math they
 * share (weight panels, KV cache, rotary pairs) comes from the kernels'
 * headers, so the CPU tests exercise it. Only kernel files include this:
 * everything else reaches the twins through the CPU functions, which hand
 * over when ctx->backend is BACKEND_CUDA.
 *
 * Built only when nvcc is present (HL_CUDA). */
#ifndef HL_CUDA_H
#define HL_CUDA_H

#include <stddef.h>

#include "kernels/attention.h"
#include "kernels/weight.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Devices visible to this process; 0 with the runtime's reason in err. */
int cuda_device_count(char *err, size_t n);
/* Binds GPU `device`, makes its stream; NULL with the reason in err. */
void *cuda_open(int device, char *err, size_t n);
void cuda_close(void *dev);
const char *cuda_device_name(void *dev);
void cuda_memory(void *dev, size_t *free_b, size_t *total_b);

/* Stream-ordered device memory; zero-filled from byte `zero_from` on
 * (bytes: none). */
void *cuda_alloc(void *dev, size_t bytes, size_t zero_from);
void cuda_free(void *dev, void *p);
void cuda_upload(void *dev, void *dst, const void *src, size_t bytes);
void cuda_download(void *dev, void *dst, const void *src, size_t bytes);
void cuda_copy(void *dev, void *dst, const void *src, size_t bytes);
void *cuda_staging(void *dev, size_t bytes);
/* Device memory MPI may be handed (plain cudaMalloc: stream-ordered pool
 * memory cannot be shared between processes), reused by the next call. */
void *cuda_exchange(void *dev, size_t bytes);
void cuda_sync(void *dev);

void cuda_gemm(void *dev, float *y, int ldy, const float *x, int ldx, const Weight *w,
               const float *b, int M);
void cuda_weight_pack(void *dev, Weight *w, const float *src, int n, int k, size_t ld);
void cuda_weight_rows(void *dev, const Weight *w, const int *ids, int n, float *out);

void cuda_layernorm(void *dev, float *out, const float *x, const float *w, const float *b, int M,
                    int N, float eps);
void cuda_rmsnorm(void *dev, float *out, const float *x, const float *w, int M, int N, float eps);
/* f: CUDA_GELU_ERF, CUDA_QUICK_GELU or CUDA_SILU, in place over n values. */
enum { CUDA_GELU_ERF, CUDA_QUICK_GELU, CUDA_SILU };
void cuda_activation(void *dev, int f, float *x, long n);
void cuda_swiglu(void *dev, float *gate, const float *up, long n);
void cuda_add(void *dev, float *y, const float *x, long n);
void cuda_add_block(void *dev, float *y, int ldy, const float *x, int ldx, int M, int N);
void cuda_add_rows(void *dev, float *y, const float *b, int M, int N);
void cuda_rope(void *dev, float *x, int n_rows, int ld, int pos0, int n_heads, int head_dim,
               const float *inv_freq);
void cuda_mean_rms(void *dev, const float *rows, int n_rows, int dim, float eps, float *g);
void cuda_patch_rows(void *dev, float *cols, const float *px, int S, int P, int G);

void cuda_rope_spans(void *dev, float *x, int ld, const KvSpan *sp, int n_spans, int n_heads,
                     int head_dim, const float *inv_freq);
void cuda_kv_store_spans(void *dev, const KvSpan *sp, int n_spans, int n_heads, int head_dim,
                         const float *k_rows, const float *v_rows, int ld);
void cuda_attention_spans(void *dev, float *out, int ldo, const float *q, int ldq, const KvSpan *sp,
                          int n_spans, int n_heads, int head_dim, int causal);
void cuda_kv_store(void *dev, float *kc, float *vc, int cap, int n_heads, int head_dim, int t0,
                   int n, const float *k_rows, const float *v_rows, int ld);
void cuda_kv_copy(void *dev, float *kc1, float *vc1, int cap1, const float *kc0, const float *vc0,
                  int cap0, int n_heads, int head_dim, int len);
void cuda_attention(void *dev, float *out, int ldo, const float *q, int ldq, int n_q, int q_pos0,
                    const float *kc, const float *vc, int cap, int n_kv, int n_heads, int head_dim,
                    int causal);

#ifdef __cplusplus
}
#endif

/* In a CPU kernel: hand the call to its CUDA twin on a CUDA context. */
#ifdef HL_CUDA
#define CUDA_TWIN(ctx, call)                                                                       \
    do {                                                                                           \
        if ((ctx)->backend == BACKEND_CUDA) {                                                      \
            call;                                                                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#else
#define CUDA_TWIN(ctx, call) ((void)(ctx))
#endif

#endif
