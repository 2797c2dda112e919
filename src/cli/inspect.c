/* hyperllava inspect FILE: the config attributes and the tensor table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "io/weights.h"
#include "model/config.h"
#include "run/model_file.h"
#include "kernels/ctx.h"
#include "util/check.h"

static const char *help =
    "usage: hyperllava inspect [--no-values] FILE\n"
    "Prints the model configuration of an HDF5 weight file, its tokenizer size and a\n"
    "table of every tensor (name, shape, dtype) with the parameter count, then reads\n"
    "every value: a tensor holding NaN or infinity is listed and the exit status is 1.\n"
    "  --no-values   skip reading the values (the header and table only)\n";

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void on_file(void *ctx, const char *v) {
    const char **path = ctx;
    if (*path) hl_fail("inspect: more than one file given");
    *path = v;
}

/* Reads every value of every tensor; lists those holding NaN or infinity and
 * fails naming the first. */
static void check_values(WeightFile *wf, char **names, int n) {
    int bad = 0;
    char first[512] = "";
    for (int i = 0; i < n; i++) {
        char where[128];
        int64_t k = wf_count_nonfinite(wf, names[i], where, sizeof where);
        if (!k) continue;
        printf("non-finite: %s: %lld value%s (first: %s)\n", names[i], (long long)k,
               k == 1 ? "" : "s", where);
        if (!bad++) snprintf(first, sizeof first, "%s, %s", names[i], where);
    }
    fflush(stdout);
    if (bad)
        hl_fail("%s: %d tensor%s hold%s non-finite values (first: %s); the file is damaged or "
                "its conversion overflowed",
                wf->path, bad, bad == 1 ? "" : "s", bad == 1 ? "s" : "", first);
    printf("values: all finite\n");
}

int cmd_inspect(int argc, char **argv) {
    const char *path = NULL;
    int no_values = 0;
    const Opt opts[] = {
        {"--no-values", OPT_FLAG, &no_values, 0, NULL}, {NULL, OPT_FN, NULL, 0, on_file}, {0}};
    args_parse(&(ArgsCmd){.name = "inspect",
                          .help = help,
                          .unknown = "inspect: unknown option '%s'",
                          .ctx = &path},
               opts, argc, argv);
    if (!path) hl_fail("inspect: no weight file given (hyperllava inspect FILE)");
    WeightFile wf;
    wf_open(&wf, path);
    ModelConfig c;
    model_config_read(&wf, &c);
    printf("model: %s\nfile: %s\n", c.model_name[0] ? c.model_name : "(unnamed)", path);
    printf("backends built: %s (cpu kernels: %s on this CPU; also generic%s)\n", backends_built(),
           isa_name(isa_detect()), isa_detect() == ISA_AVX512 ? ", avx2" : "");
    printf("vision: hidden %d, heads %d, intermediate %d, layers %d (run %d, select %d), image %d, "
           "patch %d -> %d tokens\n",
           c.v_hidden, c.v_heads, c.v_inter, c.v_layers, c.v_layers_used, c.v_select, c.image_size,
           c.patch_size, c.n_patches);
    printf("image mean (%.8g, %.8g, %.8g) std (%.8g, %.8g, %.8g)\n", c.image_mean[0],
           c.image_mean[1], c.image_mean[2], c.image_std[0], c.image_std[1], c.image_std[2]);
    printf("llm: hidden %d, heads %d, intermediate %d, layers %d, vocab %d, context %d, rms_eps "
           "%g, rope_theta %g, bos %d, eos %d\n",
           c.hidden, c.heads, c.inter, c.layers, c.vocab, c.max_pos, c.rms_eps, c.rope_theta, c.bos,
           c.eos);
    const char *ve = c.expert_v1 && c.expert_v2 ? "both"
                     : c.expert_v1              ? "layer1"
                     : c.expert_v2              ? "layer2"
                                                : "none";
    printf("experts: visual %s, language %s", ve, c.expert_lang ? "yes" : "no");
    if (c.expert_lang) printf(" (guide_layer %d)", c.guide_layer);
    if (c.expert_v1 || c.expert_v2 || c.expert_lang)
        printf(", embed %d, hidden %d, rank %d", c.e_embed, c.e_hidden, c.e_rank);
    printf("\n");
    Tokenizer *tok = model_file_tokenizer(&wf);
    printf("tokenizer: %d pieces, bos %d, eos %d\n", tokenizer_size(tok), tokenizer_bos(tok),
           tokenizer_eos(tok));
    tokenizer_free(tok);
    char **names;
    int n = wf_list(&wf, &names);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    printf("\n%-56s %-24s %s\n", "tensor", "shape", "dtype");
    long long total = 0;
    for (int i = 0; i < n; i++) {
        TensorInfo ti = wf_info(&wf, names[i]);
        char shape[64];
        int o = snprintf(shape, sizeof shape, "[");
        long long cnt = 1;
        for (int d = 0; d < ti.ndim; d++) {
            o += snprintf(shape + o, sizeof shape - (size_t)o, "%s%lld", d ? ", " : "",
                          (long long)ti.shape[d]);
            cnt *= ti.shape[d];
        }
        snprintf(shape + o, sizeof shape - (size_t)o, "]");
        total += cnt;
        printf("%-56s %-24s %s\n", names[i], shape, dtype_name(ti.dtype));
    }
    printf("\n%d tensors, %lld parameters\n", n, total);
    if (!no_values) check_values(&wf, names, n);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    wf_close(&wf);
    return 0;
}
