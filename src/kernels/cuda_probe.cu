// CUDA side of the kernels. The CUDA backend is not built yet: this unit only
// proves the toolchain (nvcc builds and archives it whenever nvcc is on PATH)
// and reports what devices a rank can see. Nothing in the CPU engine calls it.
#include <cuda_runtime.h>

extern "C" int hl_cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
    return n;
}
