// CUDA twin of the GEMM (kernels/gemm.h): y[M, n] = x[M, k] W^T (+ b), W in
// the packed panels of kernels/weight.h.
//
// Determinism contract on the GPU: each output element's sum over k runs in
// one order that depends on k only, never on M, on the tile the row falls in
// or on the launch size, so a sample's result is bit-identical whatever else
// is computed with it. Both kernels below keep it by construction: a fixed
// tile shape, the k loop visited in order by the one block that owns the
// output tile, no split over k and no choice that changes with M. cuBLAS
// makes no such promise (its heuristics pick kernels and split-K by shape),
// which is why the products are our own.
//
//   f32 weights: one FMA chain per element over k = 0 .. k-1 from zero, then
//     the bias: the CPU kernel's exact operations, so the bits match it.
//   bf16/f16 weights: tensor cores (WMMA 16x16x16, f32 accumulation); the
//     activations are rounded (to nearest) to the weight's type, the way a
//     bf16 PyTorch model computes. Every output element is the same sequence
//     of 16x16x16 MMAs over k chunks [0,16), [16,32), ... from a zero
//     accumulator, then the bias. Two kernels run that same sequence: tiles
//     of 64x64 outputs (k staged 32 at a time through shared memory) for
//     many rows, and for at most 16 rows (decoding) one warp per 16-column
//     panel reading the panels straight from memory, eight chunks in flight.
//     Which kernel runs depends on M, but both issue the same MMAs on the
//     same operands for an element, so its bits do not; the skinny kernel
//     needs k and n to be multiples of 16 and is used only then, a choice
//     made by (n, k) alone.
#include <mma.h>

#include "kernels/cuda_common.cuh"

using namespace nvcuda;

// ---- f32: the CPU's chain ---------------------------------------------------

__global__ void k_gemm_f32(float *y, int ldy, const float *x, int ldx, const float *w, int N, int K,
                           const float *b, int M) {
    int j = blockIdx.x * blockDim.x + threadIdx.x, m = blockIdx.y * blockDim.y + threadIdx.y;
    if (j >= N || m >= M) return;
    const float *xr = x + (size_t)m * ldx;
    float acc = 0.0f;
    for (int kk = 0; kk < K; kk++) acc = fmaf(xr[kk], w[weight_index(N, K, j, kk)], acc);
    y[(size_t)m * ldy + j] = b ? acc + b[j] : acc;
}

// ---- bf16 / f16: tensor cores ------------------------------------------------

#define BM 64
#define BN 64
#define BK 32
#define LDA (BK + 8) // staged tiles padded against bank conflicts (multiples of 8)
#define LDB (BN + 8)
#define LDC (BN + 4)

template <typename T> __device__ __forceinline__ T to_t(float v);
template <> __device__ __forceinline__ __nv_bfloat16 to_t<__nv_bfloat16>(float v) {
    return __float2bfloat16_rn(v);
}
template <> __device__ __forceinline__ __half to_t<__half>(float v) {
    return __float2half_rn(v);
}

template <typename T>
__global__ void __launch_bounds__(128) k_gemm_tc(float *y, int ldy, const float *x, int ldx,
                                                 const T *w, int N, int K, const float *b, int M) {
    // A [BM][LDA] and B [BK][LDB] while the k loop runs, C [BM][LDC] after it
    __shared__ __align__(32) unsigned char smem[BM * LDC * sizeof(float)];
    T *As = (T *)smem;
    T *Bs = (T *)(smem + BM * LDA * sizeof(T));
    float *Cs = (float *)smem;
    const int tid = threadIdx.x, warp = tid / 32;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int wr = (warp / 2) * 32, wc = (warp % 2) * 32;
    const T zero = to_t<T>(0.0f);
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.0f);
    for (int k0 = 0; k0 < K; k0 += BK) {
        // A: thread t stages 16 k of row t / 2
        {
            int r = tid / 2, kb = (tid % 2) * 16, m = m0 + r;
            const float *xr = x + (size_t)m * ldx;
            for (int c = 0; c < 16; c++) {
                int kk = k0 + kb + c;
                As[r * LDA + kb + c] = (m < M && kk < K) ? to_t<T>(xr[kk]) : zero;
            }
        }
        // B = W^T: thread t stages k row t % 32 of panel t / 32 (16 columns)
        {
            int kr = tid % 32, pp = tid / 32, kk = k0 + kr, j0 = n0 + pp * 16;
            T *dst = Bs + kr * LDB + pp * 16;
            int p = j0 / WEIGHT_PANEL;
            if (kk < K && j0 + 16 <= N && weight_panel_width(N, p) == 16) {
                const uint4 *src = (const uint4 *)(w + weight_index(N, K, j0, kk));
                uint4 *d4 = (uint4 *)dst;
                d4[0] = src[0], d4[1] = src[1];
            } else {
                for (int c = 0; c < 16; c++)
                    dst[c] = (kk < K && j0 + c < N) ? w[weight_index(N, K, j0 + c, kk)] : zero;
            }
        }
        __syncthreads();
        for (int kk = 0; kk < BK && k0 + kk < K; kk += 16) { // the chunks of k, no more
            wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> bf[2];
            for (int i = 0; i < 2; i++)
                wmma::load_matrix_sync(a[i], As + (wr + i * 16) * LDA + kk, LDA);
            for (int j = 0; j < 2; j++)
                wmma::load_matrix_sync(bf[j], Bs + kk * LDB + wc + j * 16, LDB);
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], a[i], bf[j], acc[i][j]);
        }
        __syncthreads();
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            wmma::store_matrix_sync(Cs + (wr + i * 16) * LDC + wc + j * 16, acc[i][j], LDC,
                                    wmma::mem_row_major);
    __syncthreads();
    for (int e = tid; e < BM * BN; e += blockDim.x) {
        int r = e / BN, c = e % BN, m = m0 + r, j = n0 + c;
        if (m < M && j < N) y[(size_t)m * ldy + j] = b ? Cs[r * LDC + c] + b[j] : Cs[r * LDC + c];
    }
}

// ---- at most 16 rows: one warp per panel --------------------------------------

#define SK_WARPS 4
#define SK_DEPTH 8 // k chunks in flight per warp

__global__ void k_round_rows(void *dst, Dtype dt, const float *x, int ldx, int M, int K) {
    long n = 16L * K;
    for (long e = blockIdx.x * (long)blockDim.x + threadIdx.x; e < n;
         e += (long)gridDim.x * blockDim.x) {
        int m = (int)(e / K), kk = (int)(e % K);
        float v = m < M ? x[(size_t)m * ldx + kk] : 0.0f;
        if (dt == DT_BF16)
            ((__nv_bfloat16 *)dst)[e] = __float2bfloat16_rn(v);
        else
            ((__half *)dst)[e] = __float2half_rn(v);
    }
}

// xt: the rows rounded to T, [16][K]; K and N multiples of 16.
template <typename T>
__global__ void __launch_bounds__(SK_WARPS * 32)
    k_gemm_skinny(float *y, int ldy, const T *xt, const T *w, int N, int K, const float *b, int M) {
    __shared__ __align__(32) float cs[SK_WARPS][16 * 16];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int p = blockIdx.x * SK_WARPS + warp; // the warp's panel
    if (p * 16 >= N) return;
    // a full panel is a [K][16] row-major block: chunk k0 at w + p*16*K + k0*16
    const T *wp = w + weight_index(N, K, p * 16, 0);
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 0.0f);
    int k0 = 0;
    for (; k0 + 16 * SK_DEPTH <= K; k0 += 16 * SK_DEPTH) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> bf[SK_DEPTH];
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a[SK_DEPTH];
#pragma unroll
        for (int i = 0; i < SK_DEPTH; i++)
            wmma::load_matrix_sync(bf[i], wp + (size_t)(k0 + 16 * i) * 16, 16);
#pragma unroll
        for (int i = 0; i < SK_DEPTH; i++) wmma::load_matrix_sync(a[i], xt + k0 + 16 * i, K);
#pragma unroll
        for (int i = 0; i < SK_DEPTH; i++) wmma::mma_sync(acc, a[i], bf[i], acc);
    }
    for (; k0 < K; k0 += 16) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> bf;
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
        wmma::load_matrix_sync(bf, wp + (size_t)k0 * 16, 16);
        wmma::load_matrix_sync(a, xt + k0, K);
        wmma::mma_sync(acc, a, bf, acc);
    }
    wmma::store_matrix_sync(cs[warp], acc, 16, wmma::mem_row_major);
    __syncwarp();
    for (int e = lane; e < 16 * 16; e += 32) {
        int r = e / 16, c = e % 16, j = p * 16 + c;
        if (r < M) y[(size_t)r * ldy + j] = b ? cs[warp][e] + b[j] : cs[warp][e];
    }
}

__global__ void k_fill_bias(float *y, int ldy, const float *b, int N, int M) {
    long n = (long)M * N;
    for (long e = blockIdx.x * (long)blockDim.x + threadIdx.x; e < n;
         e += (long)gridDim.x * blockDim.x)
        y[(size_t)(e / N) * ldy + e % N] = b ? b[e % N] : 0.0f;
}

extern "C" void cuda_gemm(void *dev, float *y, int ldy, const float *x, int ldx, const Weight *w,
                          const float *b, int M) {
    const int N = w->n, K = w->k;
    if (M <= 0 || N <= 0) return;
    cudaStream_t s = stream_of(dev);
    if (K == 0) {
        unsigned g = blocks_for((long)M * N, 256), cap = 65535u * 8;
        if (g > cap) g = cap;
        k_fill_bias<<<g, 256, 0, s>>>(y, ldy, b, N, M);
    } else if (w->dtype == DT_F32) {
        dim3 block(32, 8), grid(blocks_for(N, 32), blocks_for(M, 8));
        k_gemm_f32<<<grid, block, 0, s>>>(y, ldy, x, ldx, (const float *)w->data, N, K, b, M);
    } else if (M <= 16 && K % 16 == 0 && N % 16 == 0) {
        void *xt = cuda_alloc(dev, 16 * (size_t)K * 2, 16 * (size_t)K * 2); /* all written */
        k_round_rows<<<blocks_for(16L * K, 256), 256, 0, s>>>(xt, w->dtype, x, ldx, M, K);
        dim3 grid(blocks_for(N / 16, SK_WARPS));
        if (w->dtype == DT_BF16)
            k_gemm_skinny<__nv_bfloat16><<<grid, SK_WARPS * 32, 0, s>>>(
                y, ldy, (const __nv_bfloat16 *)xt, (const __nv_bfloat16 *)w->data, N, K, b, M);
        else
            k_gemm_skinny<__half><<<grid, SK_WARPS * 32, 0, s>>>(
                y, ldy, (const __half *)xt, (const __half *)w->data, N, K, b, M);
        cuda_free(dev, xt);
    } else {
        dim3 grid(blocks_for(N, BN), blocks_for(M, BM));
        if (w->dtype == DT_BF16)
            k_gemm_tc<__nv_bfloat16>
                <<<grid, 128, 0, s>>>(y, ldy, x, ldx, (const __nv_bfloat16 *)w->data, N, K, b, M);
        else
            k_gemm_tc<__half>
                <<<grid, 128, 0, s>>>(y, ldy, x, ldx, (const __half *)w->data, N, K, b, M);
    }
    CUDA_LAUNCHED();
}
