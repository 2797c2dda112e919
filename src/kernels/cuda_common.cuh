// What the CUDA kernel files share: the device state behind Ctx.dev, error
// checks that report file:line, launch sizes and the element conversions.
#ifndef HL_CUDA_COMMON_CUH
#define HL_CUDA_COMMON_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

extern "C" {
#include "kernels/attention.h"
#include "kernels/cuda.h"
#include "kernels/ops.h"
#include "kernels/weight.h"
#include "util/check.h"
}

typedef struct {
    int device;
    cudaStream_t stream;
    cudaDeviceProp prop;
    void *stage; // page-locked staging buffer (cuda_staging)
    size_t stage_bytes;
    void *exchange; // device buffer MPI may be handed (cuda_exchange)
    size_t exchange_bytes;
} CudaDev;

#define CUDA_CALL(call)                                                                            \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess)                                                                     \
            hl_fail_at(__FILE__, __LINE__, "CUDA: %s: %s", #call, cudaGetErrorString(e_));         \
    } while (0)

// After a launch: a bad configuration shows here, a fault at the next sync.
#define CUDA_LAUNCHED() CUDA_CALL(cudaGetLastError())

static inline cudaStream_t stream_of(void *dev) {
    return ((CudaDev *)dev)->stream;
}

static inline unsigned blocks_for(long n, int threads) {
    long b = (n + threads - 1) / threads;
    return (unsigned)(b < 1 ? 1 : b > 0x7fffffffL ? 0x7fffffffL : b);
}

// Element i of a held weight, widened exactly to f32 (as dtype_get does).
__device__ __forceinline__ float dev_get(const void *p, Dtype t, size_t i) {
    if (t == DT_F32) return ((const float *)p)[i];
    unsigned short h = ((const unsigned short *)p)[i];
    if (t == DT_BF16) return __uint_as_float((unsigned)h << 16);
    return __half2float(__ushort_as_half(h));
}

#endif
