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
//     activations are rounded to the weight's type as they are staged, the
//     way a bf16 PyTorch model computes. Tiles of 64x64 outputs, k steps of
//     32, four warps of 32x32.
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
        for (int kk = 0; kk < BK; kk += 16) {
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

__global__ void k_fill_bias(float *y, int ldy, const float *b, int N, int M) {
    int j = blockIdx.x * blockDim.x + threadIdx.x, m = blockIdx.y;
    if (j < N && m < M) y[(size_t)m * ldy + j] = b ? b[j] : 0.0f;
}

extern "C" void cuda_gemm(void *dev, float *y, int ldy, const float *x, int ldx, const Weight *w,
                          const float *b, int M) {
    const int N = w->n, K = w->k;
    if (M <= 0 || N <= 0) return;
    cudaStream_t s = stream_of(dev);
    if (K == 0) {
        k_fill_bias<<<dim3(blocks_for(N, 256), (unsigned)M), 256, 0, s>>>(y, ldy, b, N, M);
    } else if (w->dtype == DT_F32) {
        dim3 block(32, 8), grid(blocks_for(N, 32), blocks_for(M, 8));
        k_gemm_f32<<<grid, block, 0, s>>>(y, ldy, x, ldx, (const float *)w->data, N, K, b, M);
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
