/* Where kernels run. A Ctx is made once per rank and handed to every kernel
 * call: the CPU backend keeps its thread count and the instruction set its
 * kernels were chosen for; a device backend carries its stream and library
 * handles here. Kernels never read the environment or a config: the run
 * layer decides and fills the Ctx. */
#ifndef HL_CTX_H
#define HL_CTX_H

#include <stddef.h>

/* CPU kernel variants. Every variant performs the same floating-point
 * operations in the same order (fused multiply-adds included), so they give
 * bit-identical results; they differ only in speed. */
typedef enum { ISA_GENERIC, ISA_AVX2, ISA_AVX512 } Isa;

typedef enum { BACKEND_CPU, BACKEND_CUDA } Backend;

/* Index math in the kernels' headers is marked HL_HD: compiled for the CPU
 * and, in the CUDA files, for the device, one definition for both. */
#ifdef __CUDACC__
#define HL_HD __host__ __device__
#else
#define HL_HD
#endif

typedef struct {
    Backend backend;
    int threads; /* compute threads of this rank (CPU) */
    Isa isa;     /* the CPU kernels used */
    int device;  /* the GPU of a device backend */
    void *dev;   /* device state (stream, staging buffer) of a device backend */
} Ctx;

/* Memory a context's kernels read and write ("context memory"): host memory
 * for the CPU, device memory for CUDA. Parameters, KV caches, adapters and
 * activations live there; data crosses to the host only through upload and
 * download, which are plain copies on the CPU. */
void *ctx_alloc(const Ctx *ctx, size_t bytes); /* zero-filled; never NULL */
void ctx_free(const Ctx *ctx, void *p);
void ctx_upload(const Ctx *ctx, void *dst, const void *src, size_t bytes);   /* host -> ctx */
void ctx_download(const Ctx *ctx, void *dst, const void *src, size_t bytes); /* ctx -> host */
void ctx_copy(const Ctx *ctx, void *dst, const void *src, size_t bytes);     /* ctx -> ctx */
/* Waits for the context's queued kernels (no-op on the CPU). */
void ctx_sync(const Ctx *ctx);
/* Host rows seen from a context: on the CPU the rows themselves, on a device
 * a copy (bytes of them uploaded, the rest zero). ctx_view_end writes the
 * first `back` bytes back to host (0: none) and releases the copy. */
void *ctx_view(const Ctx *ctx, const void *host, size_t bytes, size_t size);
void ctx_view_end(const Ctx *ctx, void *host, void *view, size_t back);
/* A host buffer of at least `bytes` for staging transfers (page-locked on a
 * device, reused by the next call). NULL on the CPU, which needs none. */
void *ctx_staging(const Ctx *ctx, size_t bytes);
/* Context memory MPI may be handed directly (a CUDA-aware MPI shares it
 * between processes), at least `bytes`, reused by the next call. NULL on
 * the CPU. */
void *ctx_exchange(const Ctx *ctx, size_t bytes);
/* The CUDA context of this rank: GPU local_rank % device count, one stream.
 * 0 on success; -1 with the reason in err when there is no usable GPU or the
 * binary holds no CUDA backend. */
int ctx_cuda(Ctx *ctx, int local_rank, char *err, size_t n);
/* Device memory (free, total) of a CUDA context; 0 when unknown. */
void ctx_device_memory(const Ctx *ctx, size_t *free_b, size_t *total_b);
/* Name of the device ("NVIDIA H100 80GB HBM3"), or "cpu". */
const char *ctx_device_name(const Ctx *ctx);
void ctx_release(Ctx *ctx);

/* 1 when this binary was built with the CUDA backend, else 0. */
int backend_cuda_built(void);
/* "cpu" or "cpu cuda": the backends this binary holds. */
const char *backends_built(void);

/* The best variant this CPU supports. */
Isa isa_detect(void);
/* "generic", "avx2", "avx512", "auto" -> 0 and *isa set (auto: detected);
 * -1 for a name it does not know, -2 for a variant this CPU cannot run. */
int isa_parse(const char *s, Isa *isa);
const char *isa_name(Isa isa);
/* The variant a user named (NULL or "": the best this CPU has): NULL and
 * *isa set, or why it cannot be used. */
const char *isa_choose(const char *name, Isa *isa);
/* A CPU context with the given thread count (<= 0: all cores) and variant. */
Ctx ctx_cpu(int threads, Isa isa);

#endif
