// CUDA twins of the row, element-wise and attention kernels (kernels/ops.h,
// kernels/attention.h, kernels/weight.h). They do the CPU kernels' IEEE
// operations in the CPU kernels' order where that is cheap to keep: sums
// over a row use the same 16 lanes (element i to lane i % 16) and the same
// tree, exp is the same polynomial, every chain of fused multiply-adds runs
// over the same index order, and nothing is contracted (nvcc -fmad=false).
// Differences left: cosf/sinf (rotary angles) and erff (projector GELU) are
// the CUDA library's, within 2 ulp of the CPU's.
#include <string.h>

#include "kernels/cuda_common.cuh"

#define ROW_THREADS 256

// The CPU's exp polynomial (kernels/ops.c, exp16), one lane.
__device__ __forceinline__ float dev_exp(float x) {
    if (x != x) return x;
    if (x > 88.3f) return INFINITY;
    if (x < -87.33f) return 0.0f;
    float fx = x * 1.44269504088896341f + 0.5f;
    float fl = (float)(int)fx;
    if (fl > fx) fl -= 1.0f;
    float r = x - fl * 0.693359375f;
    r = r - fl * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * (r * r) + r + 1.0f;
    return y * __int_as_float(((int)fl + 127) << 23);
}

// The CPU's lane sum of f(i) for i < n: threads 0..15 of the block each own
// one lane; the result is in the return value of thread 0 (sh: 16 floats).
template <typename F> __device__ float lane_sum(int n, F f, float *sh) {
    int t = threadIdx.x;
    if (t < 16) {
        float acc = 0.0f;
        for (int i = t; i < n; i += 16) acc += f(i);
        sh[t] = acc;
    }
    __syncthreads();
    float s = 0.0f;
    if (t == 0) {
        float a[8];
        for (int i = 0; i < 8; i++) a[i] = sh[i] + sh[i + 8];
        s = ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
    }
    __syncthreads();
    return s;
}

__global__ void k_layernorm(float *out, const float *x, const float *w, const float *b, int N,
                            float eps) {
    __shared__ float sh[16], stat[2];
    const float *r = x + (size_t)blockIdx.x * N;
    float *o = out + (size_t)blockIdx.x * N;
    float s = lane_sum(
        N, [=](int i) { return r[i]; }, sh);
    if (threadIdx.x == 0) stat[0] = s / (float)N;
    __syncthreads();
    const float mu = stat[0];
    float v = lane_sum(
        N,
        [=](int i) {
            float d = r[i] - mu;
            return d * d;
        },
        sh);
    if (threadIdx.x == 0) stat[1] = 1.0f / sqrtf(v / (float)N + eps);
    __syncthreads();
    const float rstd = stat[1];
    for (int i = threadIdx.x; i < N; i += blockDim.x) o[i] = (r[i] - mu) * rstd * w[i] + b[i];
}

__global__ void k_rmsnorm(float *out, const float *x, const float *w, int N, float eps) {
    __shared__ float sh[16], stat;
    const float *r = x + (size_t)blockIdx.x * N;
    float *o = out + (size_t)blockIdx.x * N;
    float s = lane_sum(
        N, [=](int i) { return r[i] * r[i]; }, sh);
    if (threadIdx.x == 0) stat = 1.0f / sqrtf(s / (float)N + eps);
    __syncthreads();
    const float scale = stat;
    for (int i = threadIdx.x; i < N; i += blockDim.x) o[i] = w[i] * (r[i] * scale);
}

extern "C" void cuda_layernorm(void *dev, float *out, const float *x, const float *w,
                               const float *b, int M, int N, float eps) {
    if (M <= 0) return;
    k_layernorm<<<M, ROW_THREADS, 0, stream_of(dev)>>>(out, x, w, b, N, eps);
    CUDA_LAUNCHED();
}

extern "C" void cuda_rmsnorm(void *dev, float *out, const float *x, const float *w, int M, int N,
                             float eps) {
    if (M <= 0) return;
    k_rmsnorm<<<M, ROW_THREADS, 0, stream_of(dev)>>>(out, x, w, N, eps);
    CUDA_LAUNCHED();
}

__global__ void k_activation(int f, float *x, long n) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x) {
        float v = x[i];
        if (f == CUDA_GELU_ERF)
            x[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
        else if (f == CUDA_QUICK_GELU)
            x[i] = v / (1.0f + dev_exp(-1.702f * v));
        else
            x[i] = v / (1.0f + dev_exp(-v));
    }
}

__global__ void k_swiglu(float *g, const float *u, long n) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x) {
        float v = g[i];
        g[i] = v / (1.0f + dev_exp(-v)) * u[i];
    }
}

static unsigned grid_for(long n) {
    unsigned b = blocks_for(n, 256);
    return b > 65535 * 8 ? 65535 * 8 : b;
}

extern "C" void cuda_activation(void *dev, int f, float *x, long n) {
    if (n <= 0) return;
    k_activation<<<grid_for(n), 256, 0, stream_of(dev)>>>(f, x, n);
    CUDA_LAUNCHED();
}

extern "C" void cuda_swiglu(void *dev, float *gate, const float *up, long n) {
    if (n <= 0) return;
    k_swiglu<<<grid_for(n), 256, 0, stream_of(dev)>>>(gate, up, n);
    CUDA_LAUNCHED();
}

__global__ void k_add(float *y, const float *x, long n) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x)
        y[i] += x[i];
}

// y[m][j] += x[m][j]; bias rows: ldx == 0.
__global__ void k_add_block(float *y, int ldy, const float *x, int ldx, int M, int N) {
    long n = (long)M * N;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
         i += (long)gridDim.x * blockDim.x) {
        long m = i / N, j = i % N;
        y[m * ldy + j] += x[m * ldx + j];
    }
}

extern "C" void cuda_add(void *dev, float *y, const float *x, long n) {
    if (n <= 0) return;
    k_add<<<grid_for(n), 256, 0, stream_of(dev)>>>(y, x, n);
    CUDA_LAUNCHED();
}

extern "C" void cuda_add_block(void *dev, float *y, int ldy, const float *x, int ldx, int M,
                               int N) {
    if ((long)M * N <= 0) return;
    k_add_block<<<grid_for((long)M * N), 256, 0, stream_of(dev)>>>(y, ldy, x, ldx, M, N);
    CUDA_LAUNCHED();
}

extern "C" void cuda_add_rows(void *dev, float *y, const float *b, int M, int N) {
    cuda_add_block(dev, y, N, b, 0, M, N);
}

typedef struct {
    float f[ROPE_MAX_HALF];
} InvFreq;

// Spans travel by value in the launch (no upload, no wait): at most
// MAX_SPANS a launch, sorted by row0, covering rows [lo, lo + rows).
#define MAX_SPANS 64
typedef struct {
    KvSpan s[MAX_SPANS];
    int n, lo, rows;
} SpanTable;

__device__ __forceinline__ int span_of(const SpanTable &t, int r) {
    int a = 0, b = t.n - 1;
    while (a < b) { // the last span with row0 <= r
        int m = (a + b + 1) / 2;
        if (t.s[m].row0 <= r)
            a = m;
        else
            b = m - 1;
    }
    return r >= t.s[a].row0 && r < t.s[a].row0 + t.s[a].n ? a : -1;
}

// Calls f(table) for consecutive groups of at most MAX_SPANS spans.
template <typename F> static void by_tables(const KvSpan *sp, int n_spans, F f) {
    for (int s0 = 0; s0 < n_spans; s0 += MAX_SPANS) {
        SpanTable t;
        memset(&t, 0, sizeof t);
        t.n = n_spans - s0 < MAX_SPANS ? n_spans - s0 : MAX_SPANS;
        memcpy(t.s, sp + s0, (size_t)t.n * sizeof(KvSpan));
        t.lo = t.s[0].row0;
        t.rows = t.s[t.n - 1].row0 + t.s[t.n - 1].n - t.lo;
        if (t.rows > 0) f(t);
    }
}

// One thread per (row, pair index): the angle once, then every head.
__global__ void k_rope_spans(float *x, int ld, SpanTable t, int n_heads, int head_dim,
                             InvFreq inv) {
    const int half = head_dim / 2;
    long n = (long)t.rows * half;
    for (long e = blockIdx.x * (long)blockDim.x + threadIdx.x; e < n;
         e += (long)gridDim.x * blockDim.x) {
        int r = t.lo + (int)(e / half), i = (int)(e % half), s = span_of(t, r);
        if (s < 0) continue;
        float ang = (float)(t.s[s].pos0 + r - t.s[s].row0) * inv.f[i];
        float c = cosf(ang), sn = sinf(ang);
        float *row = x + (size_t)r * ld;
        for (int h = 0; h < n_heads; h++) {
            float *p = row + (size_t)h * head_dim;
            float a = p[i], b = p[i + half];
            p[i] = a * c - b * sn;
            p[i + half] = b * c + a * sn;
        }
    }
}

extern "C" void cuda_rope_spans(void *dev, float *x, int ld, const KvSpan *sp, int n_spans,
                                int n_heads, int head_dim, const float *inv_freq) {
    CHECK(head_dim / 2 <= ROPE_MAX_HALF); /* inv.f holds that many */
    InvFreq inv;
    memset(&inv, 0, sizeof inv);
    memcpy(inv.f, inv_freq, (size_t)(head_dim / 2) * sizeof(float));
    by_tables(sp, n_spans, [&](const SpanTable &t) {
        k_rope_spans<<<grid_for((long)t.rows * (head_dim / 2)), 256, 0, stream_of(dev)>>>(
            x, ld, t, n_heads, head_dim, inv);
        CUDA_LAUNCHED();
    });
}

extern "C" void cuda_rope(void *dev, float *x, int n_rows, int ld, int pos0, int n_heads,
                          int head_dim, const float *inv_freq) {
    if (n_rows <= 0) return;
    KvSpan one = {NULL, NULL, 0, pos0, n_rows, 0};
    cuda_rope_spans(dev, x, ld, &one, 1, n_heads, head_dim, inv_freq);
}

// One block: column means in row order, then the square sum in j order on
// one thread, exactly as the CPU loops.
__global__ void k_mean_rms(const float *rows, int n_rows, int dim, float eps, float *g) {
    __shared__ float inv;
    for (int j = threadIdx.x; j < dim; j += blockDim.x) {
        float s = 0;
        for (int i = 0; i < n_rows; i++) s += rows[(size_t)i * dim + j];
        g[j] = s / (float)n_rows;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        float ms = 0;
        for (int j = 0; j < dim; j++) ms += g[j] * g[j];
        inv = 1.0f / sqrtf(ms / (float)dim + eps);
    }
    __syncthreads();
    for (int j = threadIdx.x; j < dim; j += blockDim.x) g[j] *= inv;
}

extern "C" void cuda_mean_rms(void *dev, const float *rows, int n_rows, int dim, float eps,
                              float *g) {
    k_mean_rms<<<1, ROW_THREADS, 0, stream_of(dev)>>>(rows, n_rows, dim, eps, g);
    CUDA_LAUNCHED();
}

__global__ void k_patch_rows(float *cols, const float *px, int S, int P, int G) {
    const int K = 3 * P * P;
    long n = (long)G * G * K;
    for (long e = blockIdx.x * (long)blockDim.x + threadIdx.x; e < n;
         e += (long)gridDim.x * blockDim.x) {
        cols[e] = px[patch_src_index(S, P, G, (int)(e / K), (int)(e % K))];
    }
}

extern "C" void cuda_patch_rows(void *dev, float *cols, const float *px, int S, int P, int G) {
    k_patch_rows<<<grid_for((long)G * G * 3 * P * P), 256, 0, stream_of(dev)>>>(cols, px, S, P, G);
    CUDA_LAUNCHED();
}

__global__ void k_kv_store_spans(SpanTable t, int n_heads, int head_dim, const float *k_rows,
                                 const float *v_rows, int ld) {
    const int w = n_heads * head_dim;
    long total = (long)t.rows * w;
    for (long e = blockIdx.x * (long)blockDim.x + threadIdx.x; e < total;
         e += (long)gridDim.x * blockDim.x) {
        int r = t.lo + (int)(e / w), hd = (int)(e % w), h = hd / head_dim, d = hd % head_dim;
        int s = span_of(t, r);
        if (s < 0) continue;
        const KvSpan *sp = &t.s[s];
        int pos = sp->pos0 + r - sp->row0;
        sp->kc[kv_key_index(sp->cap, head_dim, h, pos, d)] = k_rows[(size_t)r * ld + hd];
        sp->vc[kv_value_index(sp->cap, head_dim, h, pos, d)] = v_rows[(size_t)r * ld + hd];
    }
}

extern "C" void cuda_kv_store_spans(void *dev, const KvSpan *sp, int n_spans, int n_heads,
                                    int head_dim, const float *k_rows, const float *v_rows,
                                    int ld) {
    by_tables(sp, n_spans, [&](const SpanTable &t) {
        k_kv_store_spans<<<grid_for((long)t.rows * n_heads * head_dim), 256, 0, stream_of(dev)>>>(
            t, n_heads, head_dim, k_rows, v_rows, ld);
        CUDA_LAUNCHED();
    });
}

extern "C" void cuda_kv_store(void *dev, float *kc, float *vc, int cap, int n_heads, int head_dim,
                              int t0, int n, const float *k_rows, const float *v_rows, int ld) {
    if (n <= 0) return;
    KvSpan one = {kc, vc, cap, t0, n, 0};
    cuda_kv_store_spans(dev, &one, 1, n_heads, head_dim, k_rows, v_rows, ld);
}

__global__ void k_kv_copy(float *kc1, float *vc1, int cap1, const float *kc0, const float *vc0,
                          int cap0, int n_heads, int head_dim, int len) {
    long total = (long)n_heads * len * head_dim;
    for (long e = blockIdx.x * (long)blockDim.x + threadIdx.x; e < total;
         e += (long)gridDim.x * blockDim.x) {
        int h = (int)(e / ((long)len * head_dim)), t = (int)(e / head_dim % len),
            d = (int)(e % head_dim);
        kc1[kv_key_index(cap1, head_dim, h, t, d)] = kc0[kv_key_index(cap0, head_dim, h, t, d)];
        vc1[kv_value_index(cap1, head_dim, h, t, d)] = vc0[kv_value_index(cap0, head_dim, h, t, d)];
    }
}

extern "C" void cuda_kv_copy(void *dev, float *kc1, float *vc1, int cap1, const float *kc0,
                             const float *vc0, int cap0, int n_heads, int head_dim, int len) {
    if (len <= 0) return;
    k_kv_copy<<<grid_for((long)n_heads * len * head_dim), 256, 0, stream_of(dev)>>>(
        kc1, vc1, cap1, kc0, vc0, cap0, n_heads, head_dim, len);
    CUDA_LAUNCHED();
}

#define ATT_THREADS 128

// One block per (query row, head). Scores: one FMA chain over head_dim each;
// softmax with the CPU's lane sum; each output element one chain over the
// row's keys in position order: the CPU kernel's operations, and nothing
// depends on the other rows or spans.
__global__ void k_attention_spans(float *out, int ldo, const float *q, int ldq, SpanTable t,
                                  int head_dim, int causal, float scale) {
    extern __shared__ float smem[];
    __shared__ float sh[16], stat;
    const int r = t.lo + blockIdx.x, h = blockIdx.y, sidx = span_of(t, r);
    if (sidx < 0) return; // the whole block: r is the block's
    const KvSpan *sp = &t.s[sidx];
    const int i = r - sp->row0, cap = sp->cap;
    const int len = causal ? sp->pos0 + i + 1 : sp->pos0 + sp->n;
    const float *kc = sp->kc, *vc = sp->vc;
    float *qs = smem, *s = smem + head_dim;
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x)
        qs[d] = q[(size_t)r * ldq + (size_t)h * head_dim + d];
    __syncthreads();
    for (int k = threadIdx.x; k < len; k += blockDim.x) {
        float acc = 0.0f;
        for (int d = 0; d < head_dim; d++)
            acc = fmaf(qs[d], kc[kv_key_index(cap, head_dim, h, k, d)], acc);
        s[k] = acc * scale;
    }
    __syncthreads();
    // the maximum over the block: exact in any order; as on the CPU every
    // partial starts from s[0] and takes only a larger value, so a NaN at
    // s[0] stays and one elsewhere is never taken (a zero's sign may differ,
    // which exp(s - mx) does not see)
    __shared__ float wmax[ATT_THREADS / 32];
    float m = s[0];
    for (int k = threadIdx.x; k < len; k += blockDim.x) m = s[k] > m ? s[k] : m;
    for (int o = 16; o > 0; o >>= 1) {
        float v = __shfl_down_sync(0xffffffffu, m, o);
        m = v > m ? v : m;
    }
    if ((threadIdx.x & 31) == 0) wmax[threadIdx.x >> 5] = m;
    __syncthreads();
    if (threadIdx.x == 0) {
        float mx = wmax[0];
        for (int w = 1; w < ATT_THREADS / 32; w++) mx = wmax[w] > mx ? wmax[w] : mx;
        stat = mx;
    }
    __syncthreads();
    const float mx = stat;
    for (int k = threadIdx.x; k < len; k += blockDim.x) s[k] = dev_exp(s[k] - mx);
    __syncthreads();
    float sum = lane_sum(
        len, [=](int k) { return s[k]; }, sh);
    if (threadIdx.x == 0) stat = 1.0f / sum;
    __syncthreads();
    const float inv = stat;
    for (int k = threadIdx.x; k < len; k += blockDim.x) s[k] *= inv;
    __syncthreads();
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
        float acc = 0.0f;
        for (int k = 0; k < len; k++)
            acc = fmaf(s[k], vc[kv_value_index(cap, head_dim, h, k, d)], acc);
        out[(size_t)r * ldo + (size_t)h * head_dim + d] = acc;
    }
}

extern "C" void cuda_attention_spans(void *dev, float *out, int ldo, const float *q, int ldq,
                                     const KvSpan *sp, int n_spans, int n_heads, int head_dim,
                                     int causal) {
    const float scale = 1.0f / sqrtf((float)head_dim);
    for (int i = 0; i < n_spans; i++) /* as attention() checks on the CPU */
        CHECK(sp[i].pos0 + sp[i].n <= sp[i].cap);
    by_tables(sp, n_spans, [&](const SpanTable &t) {
        int max_kv = 0;
        for (int i = 0; i < t.n; i++)
            if (t.s[i].pos0 + t.s[i].n > max_kv) max_kv = t.s[i].pos0 + t.s[i].n;
        size_t smem = (size_t)(head_dim + max_kv) * sizeof(float);
        // the static shared memory (lane sums) counts against the same limit
        size_t limit = ((CudaDev *)dev)->prop.sharedMemPerBlockOptin - 1024;
        if (smem > limit)
            hl_fail("attention over %d positions needs %zu bytes of shared memory; GPU %d "
                    "allows %zu a block (a shorter context, or backend cpu)",
                    max_kv, smem, ((CudaDev *)dev)->device, limit);
        if (smem > 47 * 1024)
            CUDA_CALL(cudaFuncSetAttribute(k_attention_spans,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
        dim3 grid((unsigned)t.rows, (unsigned)n_heads);
        k_attention_spans<<<grid, ATT_THREADS, smem, stream_of(dev)>>>(out, ldo, q, ldq, t,
                                                                       head_dim, causal, scale);
        CUDA_LAUNCHED();
    });
}

extern "C" void cuda_attention(void *dev, float *out, int ldo, const float *q, int ldq, int n_q,
                               int q_pos0, const float *kc, const float *vc, int cap, int n_kv,
                               int n_heads, int head_dim, int causal) {
    if (n_q <= 0) return;
    // a single sequence whose last query sees n_kv keys when not causal
    KvSpan one = {(float *)kc, (float *)vc, cap, causal ? q_pos0 : n_kv - n_q, n_q, 0};
    cuda_attention_spans(dev, out, ldo, q, ldq, &one, 1, n_heads, head_dim, causal);
}

__global__ void k_weight_pack(float *dst, const float *src, int n, int k, size_t ld) {
    long total = (long)n * k;
    for (long e = blockIdx.x * (long)blockDim.x + threadIdx.x; e < total;
         e += (long)gridDim.x * blockDim.x) {
        int j = (int)(e / k), kk = (int)(e % k);
        dst[weight_index(n, k, j, kk)] = src[(size_t)j * ld + kk];
    }
}

extern "C" void cuda_weight_pack(void *dev, Weight *w, const float *src, int n, int k, size_t ld) {
    if ((long)n * k <= 0) return;
    k_weight_pack<<<grid_for((long)n * k), 256, 0, stream_of(dev)>>>((float *)w->data, src, n, k,
                                                                     ld);
    CUDA_LAUNCHED();
}

__global__ void k_weight_rows(const void *data, Dtype dt, int wn, int k, const int *ids, int n,
                              float *out) {
    long total = (long)n * k;
    for (long e = blockIdx.x * (long)blockDim.x + threadIdx.x; e < total;
         e += (long)gridDim.x * blockDim.x) {
        int i = (int)(e / k), kk = (int)(e % k);
        out[e] = dev_get(data, dt, weight_index(wn, k, ids[i], kk));
    }
}

extern "C" void cuda_weight_rows(void *dev, const Weight *w, const int *ids, int n, float *out) {
    if (n <= 0 || w->k <= 0) return;
    int *d_ids = (int *)cuda_alloc(dev, (size_t)n * sizeof(int), (size_t)n * sizeof(int));
    cuda_upload(dev, d_ids, ids, (size_t)n * sizeof(int));
    k_weight_rows<<<grid_for((long)n * w->k), 256, 0, stream_of(dev)>>>(w->data, w->dtype, w->n,
                                                                        w->k, d_ids, n, out);
    CUDA_LAUNCHED();
    cuda_free(dev, d_ids);
}
