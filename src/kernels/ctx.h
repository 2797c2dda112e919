/* Where kernels run. A Ctx is made once per rank and handed to every kernel
 * call: the CPU backend keeps its thread count and the instruction set its
 * kernels were chosen for; a device backend carries its stream and library
 * handles here. Kernels never read the environment or a config: the run
 * layer decides and fills the Ctx. */
#ifndef HL_CTX_H
#define HL_CTX_H

/* CPU kernel variants. Every variant performs the same floating-point
 * operations in the same order (fused multiply-adds included), so they give
 * bit-identical results; they differ only in speed. */
typedef enum { ISA_GENERIC, ISA_AVX2, ISA_AVX512 } Isa;

typedef enum { BACKEND_CPU, BACKEND_CUDA } Backend;

typedef struct {
    Backend backend;
    int threads; /* compute threads of this rank (CPU) */
    Isa isa;     /* the CPU kernels used */
    void *dev;   /* device state (stream, handles) of a device backend */
} Ctx;

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
/* A CPU context with the given thread count (<= 0: all cores) and variant. */
Ctx ctx_cpu(int threads, Isa isa);

#endif
