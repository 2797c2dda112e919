#include "kernels/ctx.h"

#include <string.h>
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

Ctx ctx_cpu(int threads, Isa isa) {
#ifdef _OPENMP
    if (threads <= 0) threads = omp_get_num_procs();
#else
    threads = 1;
#endif
    return (Ctx){.backend = BACKEND_CPU, .threads = threads, .isa = isa, .dev = NULL};
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
