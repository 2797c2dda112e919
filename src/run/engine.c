#include "run/engine.h"

#include <stdlib.h>
#include <string.h>

#include "model/param.h"
#include "util/check.h"
#include "util/layout.h"

/* Messages between the stages of a replica. Each starts with a MsgHeader.
 * Activations (first → … → last): n SpanHeaders, then the float32 rows of
 * the spans in order. Tokens (last → first): n TokenEntries, then n*k top-k
 * ids and n*k top-k values (k = the engine's trace_k). End: the header only,
 * once a micro-batch has no active sample left. */
enum { MSG_ACT = 1, MSG_END = 2, MSG_TOK = 3 };
enum { TAG_FWD = 11, TAG_TOK = 12 };

typedef struct {
    int32_t kind, micro, n, pad;
} MsgHeader;

/* The rows of one sequence in an activation message. */
typedef struct {
    uint64_t key; /* sampling key of the token these rows lead to */
    int32_t slot; /* the sample's index in the batch */
    int32_t rows; /* rows in this message */
    int32_t pos0; /* position of the first row */
    int32_t prefill;
    int32_t cap; /* positions to reserve (prefill) */
    int32_t pad;
} SpanHeader;

typedef struct {
    int32_t slot, token;
} TokenEntry;

void engine_init(Engine *e, Comm *comm, WeightFile *wf, const ModelConfig *c,
                 const int *stage_blocks, const Ctx *ctx) {
    memset(e, 0, sizeof *e);
    e->comm = comm;
    e->ctx = *ctx;
    e->micro_batches = 1;
    int pp = comm->pp;
    int *blocks = hl_malloc((size_t)pp * sizeof(int));
    layout_stage_blocks(c->layers, pp, stage_blocks, blocks);
    e->stage = comm->pp_rank;
    e->first_block = layout_first_block(blocks, e->stage);
    e->n_blocks = blocks[e->stage];
    e->is_first = e->stage == 0, e->is_last = e->stage == pp - 1;
    e->prev = e->is_first ? -1 : comm_rank_of(comm, comm->dp_rank, e->stage - 1, comm->tp_rank);
    e->next = e->is_last ? -1 : comm_rank_of(comm, comm->dp_rank, e->stage + 1, comm->tp_rank);
    e->first = comm_rank_of(comm, comm->dp_rank, 0, comm->tp_rank);
    e->last = comm_rank_of(comm, comm->dp_rank, pp - 1, comm->tp_rank);
    LlmPart part = {.tp_rank = comm->tp_rank,
                    .tp_size = comm->tp,
                    .block0 = e->first_block,
                    .n_blocks = e->n_blocks,
                    .has_embed = e->is_first,
                    .has_head = e->is_last};
    llava_load(&e->model, wf, c, &part);
    /* guidance group: the guidance stage and every later stage of this (dp, tp) */
    e->guide_stage = layout_guide_stage(blocks, pp, c->expert_lang ? c->guide_layer : 0);
    int member = e->guide_stage >= 0 && e->stage >= e->guide_stage;
    comm_subgroup(comm, member ? comm->dp_rank * comm->tp + comm->tp_rank : -1, e->stage,
                  &e->guide);
    e->weight_bytes = param_bytes_held(wf);
    e->bytes_read = wf->bytes_read;
    free(blocks);
}

void gen_result_free(GenResult *r) {
    free(r->tokens), free(r->topk_ids), free(r->topk_vals);
    memset(r, 0, sizeof *r);
}

/* First-stage bookkeeping of one sample. */
typedef struct {
    int active, pos, n_new, max_new;
} Sample;

typedef struct {
    Engine *e;
    int n, M;
    int *mb_lo, *mb_hi;
    SeqState *st;
    Sample *smp;
    const GenRequest *reqs;
    GenResult *res;
    CommRequest *sends;
    int n_sends, cap_sends;
    CommRequest *guid; /* per micro-batch guidance broadcast */
    float **guid_buf;
    int *guid_done;
    MsgHeader **queue; /* pp == 1: token messages waiting for the first stage */
    int q_head, q_tail, q_cap;
    int finished; /* micro-batches whose samples are all done */
    double t_start;
} Run;

static void push_send(Run *r, int dest, int tag, void *buf, size_t bytes) {
    /* drop the completed ones first so the list stays short */
    int k = 0;
    for (int i = 0; i < r->n_sends; i++)
        if (!comm_test(&r->sends[i])) r->sends[k++] = r->sends[i];
    r->n_sends = k;
    if (r->n_sends == r->cap_sends) {
        r->cap_sends = r->cap_sends ? 2 * r->cap_sends : 16;
        r->sends = hl_realloc(r->sends, (size_t)r->cap_sends * sizeof(CommRequest));
    }
    comm_isend_owned(r->e->comm, dest, tag, buf, bytes, &r->sends[r->n_sends++]);
    r->e->stats.messages++;
}

static void send_end(Run *r, int m) {
    MsgHeader *end = hl_malloc(sizeof *end);
    *end = (MsgHeader){.kind = MSG_END, .micro = m};
    push_send(r, r->e->next, TAG_FWD, end, sizeof *end);
}

/* Waits for (or tests) the guidance of micro-batch m and makes the adapters. */
static void take_guidance(Run *r, int m, int block) {
    Engine *e = r->e;
    const Llm *llm = &e->model.llm;
    if (r->guid_done[m] || !r->guid[m].req) return;
    if (block)
        e->stats.guidance_wait_s += comm_wait(&r->guid[m]);
    else if (!comm_test(&r->guid[m]))
        return;
    double t0 = comm_wtime();
    for (int i = r->mb_lo[m]; i < r->mb_hi[m]; i++) {
        SeqState *st = &r->st[i];
        memcpy(st->guidance, r->guid_buf[m] + (long)(i - r->mb_lo[m]) * llm->d,
               (size_t)llm->d * sizeof(float));
        st->has_guidance = 1;
        llm_make_adapters(&e->ctx, llm, st);
    }
    r->guid_done[m] = 1;
    e->stats.compute_s += comm_wtime() - t0;
}

/* Runs this rank's blocks on the rows of micro-batch m, then hands them on. */
static void run_stage(Run *r, int m, float *x, const SpanHeader *sh, int ns, int prefill) {
    Engine *e = r->e;
    const Llm *llm = &e->model.llm;
    const int d = llm->d;
    hl_test_point("engine.stage");
    if (prefill && e->guide.size > 1 && e->stage > e->guide_stage) take_guidance(r, m, 1);
    SeqSpan *spans = hl_malloc((size_t)(ns ? ns : 1) * sizeof(SeqSpan));
    int R = 0;
    for (int s = 0; s < ns; s++) {
        spans[s] = (SeqSpan){.st = &r->st[sh[s].slot],
                             .n_rows = sh[s].rows,
                             .pos0 = sh[s].pos0,
                             .prefill = sh[s].prefill};
        R += sh[s].rows;
    }
    double t0 = comm_wtime();
    llm_blocks(&e->ctx, llm, x, spans, ns, &e->comm->tp_group);
    e->stats.compute_s += comm_wtime() - t0;
    if (prefill) e->stats.prefill_rows += (uint64_t)R;
    if (prefill && e->guide.size > 1 && e->stage == e->guide_stage) {
        float *g = r->guid_buf[m];
        for (int s = 0; s < ns; s++)
            memcpy(g + (long)s * d, spans[s].st->guidance, (size_t)d * sizeof(float));
        group_ibcast(&e->guide, g, (size_t)ns * d * sizeof(float), 0, &r->guid[m]);
    }
    free(spans);
    if (!e->is_last) {
        size_t head = sizeof(MsgHeader) + (size_t)ns * sizeof(SpanHeader);
        size_t bytes = head + (size_t)R * d * sizeof(float);
        MsgHeader *msg = hl_malloc(bytes);
        *msg = (MsgHeader){.kind = MSG_ACT, .micro = m, .n = ns};
        memcpy(msg + 1, sh, (size_t)ns * sizeof(SpanHeader));
        memcpy((char *)msg + head, x, (size_t)R * d * sizeof(float));
        push_send(r, e->next, TAG_FWD, msg, bytes);
        /* Finish the hand-over before computing on: a large message moves only
         * while its sender is inside MPI (rendezvous without single-copy or
         * RDMA support), so a pending send would stall the next stage for the
         * whole next micro-batch. The next stage either waits for it already
         * or is busy with the previous one, which bounds the pipeline anyway;
         * the last stage never waits on its sends, so the ring cannot lock. */
        e->stats.wait_s += comm_wait(&r->sends[r->n_sends - 1]);
        return;
    }
    /* last stage: the next token of every span from its last row */
    t0 = comm_wtime();
    int n1 = ns ? ns : 1, k = e->trace_k;
    float *xl = hl_malloc((size_t)n1 * d * sizeof(float));
    uint64_t *keys = hl_malloc((size_t)n1 * sizeof(uint64_t));
    for (int s = 0, row = 0; s < ns; s++) {
        row += sh[s].rows;
        memcpy(xl + (long)s * d, x + (long)(row - 1) * d, (size_t)d * sizeof(float));
        keys[s] = sh[s].key;
    }
    float *logits = hl_malloc((size_t)n1 * llm->vocab_l * sizeof(float));
    llm_logits(&e->ctx, llm, xl, ns, logits);
    size_t bytes = sizeof(MsgHeader) + (size_t)ns * sizeof(TokenEntry) +
                   (size_t)ns * k * (sizeof(int32_t) + sizeof(float));
    MsgHeader *msg = hl_malloc(bytes);
    *msg = (MsgHeader){.kind = MSG_TOK, .micro = m, .n = ns};
    TokenEntry *te = (TokenEntry *)(msg + 1);
    int32_t *tid = (int32_t *)(te + ns);
    float *tval = (float *)(tid + (size_t)ns * k);
    int *tok = hl_malloc((size_t)n1 * sizeof(int));
    if (k) sampler_topk(logits, ns, llm->vocab_l, llm->vocab0, k, &e->comm->tp_group, tid, tval);
    sampler_choose(&e->gen, logits, ns, llm->vocab_l, llm->vocab0, keys, &e->comm->tp_group, tok);
    for (int s = 0; s < ns; s++) te[s] = (TokenEntry){.slot = sh[s].slot, .token = tok[s]};
    e->stats.compute_s += comm_wtime() - t0;
    if (e->is_first)
        r->queue[r->q_tail++ % r->q_cap] = msg;
    else
        push_send(r, e->first, TAG_TOK, msg, bytes);
    free(xl), free(keys), free(logits), free(tok);
}

/* First stage: prompts of micro-batch m → rows (vision, projector, embeddings). */
static void prefill_first(Run *r, int m) {
    Engine *e = r->e;
    const Llava *md = &e->model;
    const ModelConfig *c = &md->cfg;
    const int d = md->llm.d, NP = c->n_patches, S = c->image_size;
    int lo = r->mb_lo[m], hi = r->mb_hi[m], ns = hi - lo;
    double t0 = comm_wtime();
    int n_img = 0;
    int *img_of = hl_malloc((size_t)ns * sizeof(int));
    for (int i = lo; i < hi; i++) {
        const GenRequest *q = &r->reqs[i];
        int markers = llava_image_markers(q->ids, q->n_ids, q->id);
        if (markers && !image_ref_given(&q->image)) {
            if (q->label) hl_fail("%s: the prompt has <image> but no image was given", q->label);
            hl_fail("request %lld: the prompt has <image> but no image was given",
                    (long long)q->id);
        }
        img_of[i - lo] = markers ? n_img++ : -1;
    }
    float *pix = hl_malloc((size_t)(n_img ? n_img : 1) * 3 * S * S * sizeof(float));
    for (int i = lo; i < hi; i++) {
        if (img_of[i - lo] < 0) continue;
        ImageInfo info;
        llava_pixels(c, &r->reqs[i].image, pix + (long)img_of[i - lo] * 3 * S * S, &info);
        GenResult *res = &r->res[i];
        res->img_w = info.w, res->img_h = info.h;
        memcpy(res->img_mode, info.mode, sizeof res->img_mode);
    }
    float *vis = hl_malloc((size_t)(n_img ? n_img : 1) * NP * d * sizeof(float));
    llava_encode_images(&e->ctx, md, pix, n_img, vis, &e->comm->tp_group, NULL, NULL);
    e->stats.vision_s += comm_wtime() - t0;
    int R = 0;
    SpanHeader *sh = hl_malloc((size_t)ns * sizeof(SpanHeader));
    for (int i = lo; i < hi; i++) {
        const GenRequest *q = &r->reqs[i];
        int has_img = img_of[i - lo] >= 0;
        int rows = llava_prompt_rows(c, q->ids, q->n_ids);
        char who[64];
        snprintf(who, sizeof who, "request %lld", (long long)q->id);
        if (rows > c->max_pos)
            hl_fail("%s: prompt of %d positions (%d text tokens + %d image tokens) "
                    "exceeds the model's context of %d",
                    q->label ? q->label : who, rows, q->n_ids - has_img, has_img ? NP : 0,
                    c->max_pos);
        if (rows == 0) hl_fail("%s: empty prompt", q->label ? q->label : who);
        CHECKF(q->max_new >= 1, "request %lld: max_new %d", (long long)q->id, q->max_new);
        int max_new = q->max_new;
        if (max_new > c->max_pos - rows + 1) max_new = c->max_pos - rows + 1;
        r->smp[i] = (Sample){.active = max_new > 0, .pos = rows, .max_new = max_new};
        int cap = rows + (max_new > 1 ? max_new - 1 : 0);
        seq_state_reserve(&e->ctx, &r->st[i], &md->llm, cap);
        sh[i - lo] = (SpanHeader){.key = sampler_key((uint64_t)q->id, 0),
                                  .slot = i,
                                  .rows = rows,
                                  .pos0 = 0,
                                  .prefill = 1,
                                  .cap = cap};
        r->res[i].prompt_rows = rows;
        R += rows;
    }
    float *x = hl_malloc((size_t)R * d * sizeof(float));
    for (int i = lo, row = 0; i < hi; i++) {
        const GenRequest *q = &r->reqs[i];
        const float *v = img_of[i - lo] >= 0 ? vis + (long)img_of[i - lo] * NP * d : NULL;
        llava_embed_prompt(&e->ctx, md, q->ids, q->n_ids, v, x + (long)row * d, q->id);
        row += sh[i - lo].rows;
    }
    e->stats.compute_s += comm_wtime() - t0;
    run_stage(r, m, x, sh, ns, 1);
    free(x), free(sh), free(pix), free(vis), free(img_of);
}

/* First stage: tokens of micro-batch m arrived; record them and feed the
 * still-active samples back in, or close the micro-batch. */
static void deliver(Run *r, const MsgHeader *msg) {
    Engine *e = r->e;
    int m = msg->micro, ns = msg->n, k = e->trace_k;
    const TokenEntry *te = (const TokenEntry *)(msg + 1);
    const int32_t *tid = (const int32_t *)(te + ns);
    const float *tval = (const float *)(tid + (size_t)ns * k);
    double now = comm_wtime();
    for (int s = 0; s < ns; s++) {
        int i = te[s].slot, tok = te[s].token;
        Sample *sm = &r->smp[i];
        GenResult *res = &r->res[i];
        res->tokens = hl_realloc(res->tokens, (size_t)(res->n_tokens + 1) * sizeof(int));
        res->tokens[res->n_tokens] = tok;
        if (k) {
            res->topk_ids =
                hl_realloc(res->topk_ids, (size_t)(res->n_tokens + 1) * k * sizeof(int));
            res->topk_vals =
                hl_realloc(res->topk_vals, (size_t)(res->n_tokens + 1) * k * sizeof(float));
            memcpy(res->topk_ids + (long)res->n_tokens * k, tid + (long)s * k,
                   (size_t)k * sizeof(int));
            memcpy(res->topk_vals + (long)res->n_tokens * k, tval + (long)s * k,
                   (size_t)k * sizeof(float));
        }
        res->n_tokens++;
        sm->n_new++;
        res->seconds = now - r->t_start;
        if ((tok == e->model.cfg.eos && !e->gen.ignore_eos) || sm->n_new >= sm->max_new)
            sm->active = 0;
    }
    int act = 0;
    for (int i = r->mb_lo[m]; i < r->mb_hi[m]; i++) act += r->smp[i].active;
    if (act == 0) {
        if (!e->is_last) send_end(r, m);
        r->finished++;
        return;
    }
    double t0 = comm_wtime();
    const int d = e->model.llm.d;
    float *x = hl_malloc((size_t)act * d * sizeof(float));
    SpanHeader *sh = hl_malloc((size_t)act * sizeof(SpanHeader));
    int *toks = hl_malloc((size_t)act * sizeof(int));
    int j = 0;
    for (int i = r->mb_lo[m]; i < r->mb_hi[m]; i++) {
        Sample *sm = &r->smp[i];
        if (!sm->active) continue;
        toks[j] = r->res[i].tokens[r->res[i].n_tokens - 1];
        sh[j] = (SpanHeader){.key = sampler_key((uint64_t)r->reqs[i].id, sm->n_new),
                             .slot = i,
                             .rows = 1,
                             .pos0 = sm->pos};
        sm->pos++;
        j++;
    }
    llm_embed(&e->ctx, &e->model.llm, toks, act, x); /* one lookup for the micro-batch */
    free(toks);
    e->stats.compute_s += comm_wtime() - t0;
    run_stage(r, m, x, sh, act, 0);
    free(x), free(sh);
}

/* Later stages: activations and end marks from the previous stage. */
static void run_later_stage(Run *r) {
    Engine *e = r->e;
    int ends = 0;
    while (ends < r->M) {
        for (int m = 0; m < r->M; m++) take_guidance(r, m, 0);
        int tag;
        size_t bytes;
        MsgHeader *msg = comm_recv_any(e->comm, e->prev, &tag, &bytes, &e->stats.wait_s);
        CHECK(tag == TAG_FWD && bytes >= sizeof *msg);
        if (msg->kind == MSG_END) {
            ends++;
            if (!e->is_last) send_end(r, msg->micro);
            free(msg);
            continue;
        }
        CHECK(msg->kind == MSG_ACT);
        const SpanHeader *sh = (const SpanHeader *)(msg + 1);
        int prefill = 0;
        for (int s = 0; s < msg->n; s++)
            if (sh[s].prefill) {
                prefill = 1;
                seq_state_reserve(&e->ctx, &r->st[sh[s].slot], &e->model.llm, sh[s].cap);
            }
        float *x = (float *)(sh + msg->n);
        run_stage(r, msg->micro, x, sh, msg->n, prefill);
        free(msg);
    }
}

void engine_generate(Engine *e, const GenRequest *reqs, int n, GenResult *results) {
    if (n <= 0) return;
    const int d = e->model.llm.d;
    Run r = {.e = e, .n = n, .reqs = reqs, .res = results};
    r.M = layout_micro_count(n, e->micro_batches);
    r.mb_lo = hl_malloc((size_t)r.M * sizeof(int));
    r.mb_hi = hl_malloc((size_t)r.M * sizeof(int));
    for (int m = 0; m < r.M; m++) {
        int size = layout_micro_batch(n, r.M, m, &r.mb_lo[m]);
        r.mb_hi[m] = r.mb_lo[m] + size;
    }
    r.st = hl_calloc((size_t)n, sizeof(SeqState));
    for (int i = 0; i < n; i++) seq_state_init(&e->ctx, &r.st[i], &e->model.llm, 0);
    r.guid = hl_calloc((size_t)r.M, sizeof(CommRequest));
    r.guid_buf = hl_calloc((size_t)r.M, sizeof(float *));
    r.guid_done = hl_calloc((size_t)r.M, sizeof(int));
    if (e->guide.size > 1) {
        for (int m = 0; m < r.M; m++) {
            size_t bytes = (size_t)(r.mb_hi[m] - r.mb_lo[m]) * d * sizeof(float);
            r.guid_buf[m] = hl_malloc(bytes);
            if (e->stage > e->guide_stage)
                group_ibcast(&e->guide, r.guid_buf[m], bytes, 0, &r.guid[m]);
        }
    }
    r.t_start = comm_wtime();
    if (e->is_first) {
        r.smp = hl_calloc((size_t)n, sizeof(Sample));
        r.q_cap = r.M + 1; /* at most one token message per micro-batch waits */
        r.queue = hl_calloc((size_t)r.q_cap, sizeof(MsgHeader *));
        for (int i = 0; i < n; i++) memset(&results[i], 0, sizeof results[i]);
        for (int m = 0; m < r.M; m++) prefill_first(&r, m);
        e->stats.prefill_s += comm_wtime() - r.t_start;
        double t_dec = comm_wtime();
        while (r.finished < r.M) {
            MsgHeader *msg;
            if (e->is_last) {
                CHECK(r.q_head < r.q_tail);
                msg = r.queue[r.q_head++ % r.q_cap];
            } else {
                int tag;
                size_t bytes;
                msg = comm_recv_any(e->comm, e->last, &tag, &bytes, &e->stats.wait_s);
                CHECK(tag == TAG_TOK && bytes >= sizeof *msg && msg->kind == MSG_TOK);
            }
            deliver(&r, msg);
            free(msg);
        }
        e->stats.decode_s += comm_wtime() - t_dec;
    } else {
        run_later_stage(&r);
    }
    for (int i = 0; i < r.n_sends; i++) e->stats.wait_s += comm_wait(&r.sends[i]);
    for (int m = 0; m < r.M; m++) {
        comm_wait(&r.guid[m]);
        free(r.guid_buf[m]);
    }
    for (int i = 0; i < n; i++) seq_state_free(&e->ctx, &r.st[i], &e->model.llm);
    free(r.st), free(r.smp), free(r.queue), free(r.sends), free(r.guid), free(r.guid_buf);
    free(r.guid_done), free(r.mb_lo), free(r.mb_hi);
}
