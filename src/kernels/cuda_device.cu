// The CUDA backend's device state and memory (kernels/cuda.h): one GPU and
// one stream per rank; every kernel and copy of the rank goes to that
// stream, so they run in the order the model code issues them.
#include <cuda_runtime.h>
#include <string.h>

#include "kernels/cuda_common.cuh"

extern "C" int cuda_device_count(char *err, size_t n) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        snprintf(err, n, "no usable GPU (%s)", cudaGetErrorString(e));
        return 0;
    }
    if (count == 0) snprintf(err, n, "no usable GPU (the CUDA runtime sees no device)");
    return count;
}

extern "C" void *cuda_open(int device, char *err, size_t n) {
    cudaError_t e = cudaSetDevice(device);
    CudaDev *d = NULL;
    if (e == cudaSuccess) {
        d = (CudaDev *)hl_calloc(1, sizeof *d);
        d->device = device;
        e = cudaGetDeviceProperties(&d->prop, device);
    }
    if (e == cudaSuccess && d->prop.major < 8) {
        snprintf(err, n,
                 "GPU %d (%s) has compute capability %d.%d; the CUDA backend needs 8.0 or newer",
                 device, d->prop.name, d->prop.major, d->prop.minor);
        free(d);
        return NULL;
    }
    int pools = 0;
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device);
    if (e == cudaSuccess && !pools) {
        snprintf(err, n, "GPU %d (%s) does not support stream-ordered memory pools", device,
                 d->prop.name);
        free(d);
        return NULL;
    }
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&d->stream, cudaStreamNonBlocking);
    if (e == cudaSuccess) {
        // keep freed blocks in the pool across synchronisations: every pass
        // allocates its scratch again
        cudaMemPool_t pool;
        uint64_t keep = UINT64_MAX;
        e = cudaDeviceGetDefaultMemPool(&pool, device);
        if (e == cudaSuccess)
            e = cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
    }
    if (e != cudaSuccess) {
        snprintf(err, n, "GPU %d: %s", device, cudaGetErrorString(e));
        if (d->stream) cudaStreamDestroy(d->stream);
        free(d);
        return NULL;
    }
    return d;
}

extern "C" void cuda_close(void *dev) {
    CudaDev *d = (CudaDev *)dev;
    if (!d) return;
    cuda_sync(d);
    if (d->stage) cudaFreeHost(d->stage);
    if (d->exchange) cudaFree(d->exchange);
    cudaStreamDestroy(d->stream);
    free(d);
}

extern "C" const char *cuda_device_name(void *dev) {
    return ((CudaDev *)dev)->prop.name;
}

extern "C" void cuda_memory(void *dev, size_t *free_b, size_t *total_b) {
    (void)dev;
    CUDA_CALL(cudaMemGetInfo(free_b, total_b));
}

extern "C" void *cuda_alloc(void *dev, size_t bytes, size_t zero_from) {
    CudaDev *d = (CudaDev *)dev;
    void *p = NULL;
    if (!bytes) bytes = 1;
    // stream-ordered: the pool reuses blocks (cuda_open keeps them), so
    // per-pass scratch is cheap
    cudaError_t e = cudaMallocAsync(&p, bytes, d->stream);
    if (e != cudaSuccess) {
        size_t fr = 0, tot = 0;
        cudaMemGetInfo(&fr, &tot);
        hl_fail("GPU %d: cannot allocate %.1f MiB of device memory (%.1f of %.1f MiB free): %s",
                d->device, bytes / 1048576.0, fr / 1048576.0, tot / 1048576.0,
                cudaGetErrorString(e));
    }
    if (zero_from < bytes)
        CUDA_CALL(cudaMemsetAsync((char *)p + zero_from, 0, bytes - zero_from, d->stream));
    return p;
}

extern "C" void cuda_free(void *dev, void *p) {
    CUDA_CALL(cudaFreeAsync(p, ((CudaDev *)dev)->stream));
}

extern "C" void cuda_upload(void *dev, void *dst, const void *src, size_t bytes) {
    CudaDev *d = (CudaDev *)dev;
    CUDA_CALL(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, d->stream));
    // the caller may free or reuse src on return: wait for the copy, except
    // from the staging buffer, which is reused only after a synchronisation
    const char *c = (const char *)src, *st = (const char *)d->stage;
    if (!(st && c >= st && c < st + d->stage_bytes)) CUDA_CALL(cudaStreamSynchronize(d->stream));
}

extern "C" void cuda_download(void *dev, void *dst, const void *src, size_t bytes) {
    CudaDev *d = (CudaDev *)dev;
    CUDA_CALL(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, d->stream));
    CUDA_CALL(cudaStreamSynchronize(d->stream));
}

extern "C" void cuda_copy(void *dev, void *dst, const void *src, size_t bytes) {
    CUDA_CALL(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ((CudaDev *)dev)->stream));
}

extern "C" void cuda_sync(void *dev) {
    CUDA_CALL(cudaStreamSynchronize(((CudaDev *)dev)->stream));
}

// A buffer reused from call to call, grown (once the queued work that may
// still read it is done) to a quarter more than asked.
static void *reused(CudaDev *d, void **buf, size_t *have, size_t bytes, int host) {
    if (bytes > *have) {
        cuda_sync(d);
        if (*buf) CUDA_CALL(host ? cudaFreeHost(*buf) : cudaFree(*buf));
        *have = bytes + bytes / 4;
        CUDA_CALL(host ? cudaMallocHost(buf, *have) : cudaMalloc(buf, *have));
    }
    return *buf;
}

extern "C" void *cuda_exchange(void *dev, size_t bytes) {
    CudaDev *d = (CudaDev *)dev;
    return reused(d, &d->exchange, &d->exchange_bytes, bytes, 0);
}

extern "C" void *cuda_staging(void *dev, size_t bytes) {
    CudaDev *d = (CudaDev *)dev;
    return reused(d, &d->stage, &d->stage_bytes, bytes, 1);
}
