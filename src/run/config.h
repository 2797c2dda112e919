/* The run config: which model, how the ranks are laid out (dp x pp x tp),
 * the backend and the batching. Read from YAML (docs/config.md), strictly:
 * any unknown key, wrong type or impossible value is a one-line error that
 * names the file, the line and the key.
 * The rank numbering and the stage split are util/layout.h's. */
#ifndef HL_CONFIG_H
#define HL_CONFIG_H

#include "model/config.h"
#include "run/yaml_doc.h"
#include "util/layout.h"

/* The default progress watchdog: ten minutes without a message from the
 * rank waited on (far longer than any one step of a 7B model on a CPU). */
#define RUN_WATCHDOG_S 600
#define RUN_WATCHDOG_MAX 604800 /* a week */

typedef struct {
    char *path;          /* the YAML file it came from (for a job's inline run: the job file) */
    char *model;         /* HDF5 weight file, relative paths already resolved */
    int dp, pp, tp;      /* data-parallel replicas, pipeline stages, tensor-parallel ranks */
    int *stage_blocks;   /* LLM blocks per stage (n_stage_blocks == pp); NULL = even split */
    int stages_balanced; /* stages: balanced (split by cost, the tower counted on stage 0) */
    int n_stage_blocks;
    char backend[8];   /* "cpu" | "cuda" */
    int threads;       /* compute threads per rank */
    int batch_size;    /* samples per batch (per replica) */
    int micro_batches; /* pipeline micro-batches per batch, 1..batch_size */
    char dtype[8];     /* compute dtype: "f32" (cpu); "f32" | "bf16" | "f16" (cuda) */
    int nodes;         /* nodes to spread the ranks over (launchers); 0 = not said */
    int watchdog_s;    /* end the job when a rank waits on another this long; 0 = off */
} RunConfig;

/* Model numbers the layout depends on, known before any weight is read. */
typedef struct {
    int vision_heads, vision_hidden, vision_intermediate;
    int heads, hidden, intermediate, layers, vocab;
    int guide_layer;    /* first posterior block; 0 = no language expert */
    double vision_cost; /* vision tower + projector per image, in LLM blocks' prefill cost */
} ModelShape;

typedef Layout RunLayout;

/* dp=pp=tp=1, cpu, threads 1, batch 1, micro-batches 1, f32, watchdog
 * RUN_WATCHDOG_S, no model. */
void run_config_defaults(RunConfig *cfg);
/* Loads a run config file; hl_fail on any problem. */
void run_config_load(const char *path, RunConfig *cfg);
/* Fills cfg from a map node of an already loaded document (the job reader uses
 * it for an inline run map). prefix names the map in messages ("run" or "").
 * Relative paths resolve against the document's folder. */
void run_config_parse(const YdDoc *doc, const YdNode *map, const char *prefix, RunConfig *cfg);
void run_config_free(RunConfig *cfg);
/* Deep copy. */
void run_config_copy(RunConfig *dst, const RunConfig *src);

/* Layout validation before any weight is read. Returns NULL when the layout is
 * fine, else a malloc'd one-line message naming the config file and the key
 * ("configs/x.yaml: parallel: world size 3 != dp*pp*tp = 4"). m == NULL skips
 * the checks that need the model; world_size <= 0 skips the world check. */
char *run_config_check_layout(const RunConfig *cfg, const ModelShape *m, int world_size);

static inline Layout run_config_layout(const RunConfig *cfg) {
    return (Layout){cfg->dp, cfg->pp, cfg->tp};
}
/* Blocks of each pipeline stage for a model with `layers` blocks: the config's
 * stage list, or layout_stage_blocks' even split. counts has room for cfg->pp
 * entries. Requires pp <= layers. */
void run_config_stage_blocks(const RunConfig *cfg, int layers, int *counts);
/* The same for a model of shape m, where `stages: balanced` splits by cost
 * (layout_balanced_blocks with the shape's vision_cost). */
void run_config_stages(const RunConfig *cfg, const ModelShape *m, int *counts);
/* Coordinates of a rank (layout_coords of the config's layout) and back. */
void run_rank_coords(const RunConfig *cfg, int rank, int *d, int *p, int *t);
int run_rank_of(const RunConfig *cfg, int d, int p, int t);

/* Parses "DxPxT" ("2x1x4"); returns 1 on success, 0 when malformed. */
int run_layout_parse(const char *s, RunLayout *out);
/* Overrides used by `eval --layout` / `--batch-size` and sweeps. A new pp drops
 * an explicit stage list (back to the even split); a new world size drops
 * `nodes` (0: the launcher decides). A batch size below micro_batches lowers
 * micro_batches to the batch size. */
void run_config_set_layout(RunConfig *cfg, RunLayout l);
void run_config_set_batch_size(RunConfig *cfg, int batch_size);

/* The layout numbers of a model, from its validated config. */
ModelShape run_model_shape(const ModelConfig *c);
/* Reads and validates a weight file's attributes (model_config_load, no
 * tensors) and returns their layout numbers. */
void run_model_shape_load(const char *model_path, ModelShape *m);

#endif
