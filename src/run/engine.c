#include "run/engine.h"

#include <stdlib.h>
#include <string.h>

#include "io/clip_image.h"
#include "io/image.h"
#include "model/param.h"
#include "text/prompt.h"
#include "util/check.h"

/* Messages between stages. Activations (first → … → last) and tokens
 * (last → first) are int32 headers followed by float32 rows. */
enum { MSG_ACT = 1, MSG_END = 2, MSG_TOK = 3 };
enum { TAG_FWD = 11, TAG_TOK = 12 };
enum {
    HDR = 3,
    SPAN_INTS = 7
}; /* kind, micro-batch, spans | slot, rows, pos0, prefill, cap, key */

void engine_even_split(int layers, int stages, int *blocks) {
    for (int s = 0; s < stages; s++) blocks[s] = layers / stages + (s < layers % stages);
}

static int stage_of_block(const int *blocks, int stages, int b) {
    for (int s = 0, first = 0; s < stages; first += blocks[s], s++)
        if (b < first + blocks[s]) return s;
    return stages - 1;
}

void engine_init(Engine *e, Comm *comm, const char *model_path, const int *stage_blocks,
                 const Ctx *ctx, Dtype hold) {
    memset(e, 0, sizeof *e);
    e->comm = comm;
    e->ctx = *ctx;
    e->micro_batches = 1;
    WeightFile wf;
    wf_open(&wf, model_path);
    wf.hold = hold;
    model_config_read(&wf, &e->cfg);
    const ModelConfig *c = &e->cfg;
    int pp = comm->pp;
    int *blocks = hl_malloc((size_t)pp * sizeof(int));
    if (stage_blocks)
        memcpy(blocks, stage_blocks, (size_t)pp * sizeof(int));
    else
        engine_even_split(c->layers, pp, blocks);
    e->stage = comm->pp_rank, e->n_stages = pp;
    for (int s = 0; s < e->stage; s++) e->first_block += blocks[s];
    e->n_blocks = blocks[e->stage];
    e->is_first = e->stage == 0, e->is_last = e->stage == pp - 1;
    e->prev = e->is_first ? -1 : comm_rank_of(comm, comm->dp_rank, e->stage - 1, comm->tp_rank);
    e->next = e->is_last ? -1 : comm_rank_of(comm, comm->dp_rank, e->stage + 1, comm->tp_rank);
    e->first = comm_rank_of(comm, comm->dp_rank, 0, comm->tp_rank);
    e->last = comm_rank_of(comm, comm->dp_rank, pp - 1, comm->tp_rank);
    if (e->is_first) {
        vision_load(&e->vision, &wf, c, comm->tp_rank, comm->tp);
        projector_load(&e->proj, &wf, c);
    }
    LlmPart part = {.tp_rank = comm->tp_rank,
                    .tp_size = comm->tp,
                    .block0 = e->first_block,
                    .n_blocks = e->n_blocks,
                    .has_embed = e->is_first,
                    .has_head = e->is_last};
    llm_load(&e->llm, &wf, c, &part);
    /* guidance group: the guidance stage and every later stage of this (dp, tp) */
    e->guide_stage = c->expert_lang ? stage_of_block(blocks, pp, c->guide_layer - 1) : -1;
    int member = c->expert_lang && e->stage >= e->guide_stage;
    comm_subgroup(comm, member ? comm->dp_rank * comm->tp + comm->tp_rank : -1, e->stage,
                  &e->guide);
    e->weight_bytes = param_bytes_held(&wf);
    e->bytes_read = wf.bytes_read;
    wf_close(&wf);
    free(blocks);
}

void gen_result_free(GenResult *r) {
    free(r->tokens), free(r->topk_ids), free(r->topk_vals);
    memset(r, 0, sizeof *r);
}

/* First-stage bookkeeping of one sample. */
typedef struct {
    int active, pos, n_new, max_new, prompt_rows;
    int cap_tokens;
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
    void **queue; /* pp == 1: token messages waiting for the first stage */
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
    r->e->stats.bytes_sent += bytes;
    r->e->stats.messages++;
}

/* Waits for (or tests) the guidance of micro-batch m and makes the adapters. */
static void take_guidance(Run *r, int m, int block) {
    Engine *e = r->e;
    if (r->guid_done[m] || !r->guid[m].req) return;
    if (block)
        e->stats.guidance_wait_s += comm_wait(&r->guid[m]);
    else if (!comm_test(&r->guid[m]))
        return;
    double t0 = comm_wtime();
    for (int i = r->mb_lo[m]; i < r->mb_hi[m]; i++) {
        SeqState *st = &r->st[i];
        memcpy(st->guidance, r->guid_buf[m] + (long)(i - r->mb_lo[m]) * e->llm.d,
               (size_t)e->llm.d * sizeof(float));
        st->has_guidance = 1;
        llm_make_adapters(&e->ctx, &e->llm, st);
    }
    r->guid_done[m] = 1;
    e->stats.compute_s += comm_wtime() - t0;
}

/* Runs this rank's blocks on the rows of micro-batch m, then hands them on. */
static void run_stage(Run *r, int m, float *x, const int *hdr_spans, int ns, int prefill) {
    Engine *e = r->e;
    const int d = e->llm.d;
    if (prefill && e->guide.size > 1 && e->stage > e->guide_stage) take_guidance(r, m, 1);
    SeqSpan *spans = hl_malloc((size_t)(ns ? ns : 1) * sizeof(SeqSpan));
    int R = 0;
    for (int s = 0; s < ns; s++) {
        const int *h = hdr_spans + s * SPAN_INTS;
        spans[s] = (SeqSpan){.st = &r->st[h[0]], .n_rows = h[1], .pos0 = h[2], .prefill = h[3]};
        R += h[1];
    }
    double t0 = comm_wtime();
    llm_blocks(&e->ctx, &e->llm, x, spans, ns, &e->comm->tp_group);
    e->stats.compute_s += comm_wtime() - t0;
    if (prefill)
        e->stats.prefill_rows += (uint64_t)R;
    else
        e->stats.decode_rows += (uint64_t)R;
    if (prefill && e->guide.size > 1 && e->stage == e->guide_stage) {
        float *g = r->guid_buf[m];
        for (int s = 0; s < ns; s++)
            memcpy(g + (long)s * d, spans[s].st->guidance, (size_t)d * sizeof(float));
        group_ibcast(&e->guide, g, (size_t)ns * d * sizeof(float), 0, &r->guid[m]);
    }
    if (!e->is_last) {
        size_t ints = HDR + (size_t)ns * SPAN_INTS, bytes = (ints + (size_t)R * d) * 4;
        int *msg = hl_malloc(bytes);
        msg[0] = MSG_ACT, msg[1] = m, msg[2] = ns;
        memcpy(msg + HDR, hdr_spans, (size_t)ns * SPAN_INTS * sizeof(int));
        memcpy(msg + ints, x, (size_t)R * d * sizeof(float));
        push_send(r, e->next, TAG_FWD, msg, bytes);
        free(spans);
        return;
    }
    /* last stage: the next token of every span from its last row */
    t0 = comm_wtime();
    float *xl = hl_malloc((size_t)(ns ? ns : 1) * d * sizeof(float));
    uint64_t *keys = hl_malloc((size_t)(ns ? ns : 1) * sizeof(uint64_t));
    int row = 0;
    for (int s = 0; s < ns; s++) {
        row += spans[s].n_rows;
        memcpy(xl + (long)s * d, x + (long)(row - 1) * d, (size_t)d * sizeof(float));
        const int *h = hdr_spans + s * SPAN_INTS;
        keys[s] = (uint64_t)(uint32_t)h[5] | ((uint64_t)(uint32_t)h[6] << 32);
    }
    float *logits = hl_malloc((size_t)(ns ? ns : 1) * e->llm.vocab_l * sizeof(float));
    llm_logits(&e->ctx, &e->llm, xl, ns, logits);
    int k = e->trace_k;
    int per = 2 + 2 * k;
    int *msg = hl_malloc((HDR + (size_t)ns * per) * sizeof(int));
    msg[0] = MSG_TOK, msg[1] = m, msg[2] = ns;
    int *tok = hl_malloc((size_t)(ns ? ns : 1) * sizeof(int));
    int *tid = hl_malloc((size_t)(ns * k + 1) * sizeof(int));
    float *tval = hl_malloc((size_t)(ns * k + 1) * sizeof(float));
    if (k)
        sampler_topk(logits, ns, e->llm.vocab_l, e->llm.vocab0, k, &e->comm->tp_group, tid, tval);
    sampler_choose(&e->gen, logits, ns, e->llm.vocab_l, e->llm.vocab0, keys, &e->comm->tp_group,
                   tok);
    for (int s = 0; s < ns; s++) {
        int *p = msg + HDR + s * per;
        p[0] = hdr_spans[s * SPAN_INTS], p[1] = tok[s];
        memcpy(p + 2, tid + s * k, (size_t)k * sizeof(int));
        memcpy(p + 2 + k, tval + s * k, (size_t)k * sizeof(float));
    }
    e->stats.compute_s += comm_wtime() - t0;
    if (e->is_first)
        r->queue[r->q_tail++ % r->q_cap] = msg;
    else
        push_send(r, e->first, TAG_TOK, msg, (HDR + (size_t)ns * per) * sizeof(int));
    free(xl), free(keys), free(logits), free(tok), free(tid), free(tval), free(spans);
}

/* First stage: prompts of micro-batch m → rows (vision, projector, embeddings). */
static void prefill_first(Run *r, int m) {
    Engine *e = r->e;
    const ModelConfig *c = &e->cfg;
    const int d = e->llm.d, NP = c->n_patches, S = c->image_size;
    int lo = r->mb_lo[m], hi = r->mb_hi[m], ns = hi - lo;
    double t0 = comm_wtime();
    int n_img = 0;
    int *img_of = hl_malloc((size_t)ns * sizeof(int));
    for (int i = lo; i < hi; i++) {
        const GenRequest *q = &r->reqs[i];
        int markers = 0;
        for (int j = 0; j < q->n_ids; j++) markers += q->ids[j] == HL_IMAGE_TOKEN;
        if (markers > 1)
            hl_fail("request %lld: %d <image> markers; one image per prompt is supported",
                    (long long)q->id, markers);
        int has_file = q->image_path || q->image_data;
        if (markers && !has_file)
            hl_fail("request %lld: the prompt has <image> but no image was given",
                    (long long)q->id);
        img_of[i - lo] = markers ? n_img++ : -1;
    }
    float *pix = hl_malloc((size_t)(n_img ? n_img : 1) * 3 * S * S * sizeof(float));
    for (int i = lo; i < hi; i++) {
        if (img_of[i - lo] < 0) continue;
        const GenRequest *q = &r->reqs[i];
        Image img;
        if (q->image_path)
            image_load(q->image_path, &img);
        else
            image_decode(q->image_data, q->image_size, q->image_name ? q->image_name : "image",
                         &img);
        r->res[i].img_w = img.w, r->res[i].img_h = img.h;
        snprintf(r->res[i].img_mode, sizeof r->res[i].img_mode, "%s", img.mode);
        float *dst = pix + (long)img_of[i - lo] * 3 * S * S;
        if (q->image_raw)
            clip_preprocess_unconverted(&img, S, c->image_mean, c->image_std, dst);
        else
            clip_preprocess(&img, S, c->image_mean, c->image_std, dst);
        image_free(&img);
    }
    float *feats = hl_malloc((size_t)(n_img ? n_img : 1) * NP * c->v_hidden * sizeof(float));
    float *vis = hl_malloc((size_t)(n_img ? n_img : 1) * NP * d * sizeof(float));
    if (n_img) {
        vision_forward(&e->ctx, &e->vision, pix, n_img, feats, &e->comm->tp_group);
        for (int j = 0; j < n_img; j++)
            projector_forward(&e->ctx, &e->proj, feats + (long)j * NP * c->v_hidden, NP,
                              vis + (long)j * NP * d, NULL);
    }
    e->stats.vision_s += comm_wtime() - t0;
    int R = 0;
    int *hdr = hl_malloc((size_t)ns * SPAN_INTS * sizeof(int));
    for (int i = lo; i < hi; i++) {
        const GenRequest *q = &r->reqs[i];
        Sample *sm = &r->smp[i];
        int rows = q->n_ids + (img_of[i - lo] >= 0 ? NP - 1 : 0);
        if (rows > c->max_pos)
            hl_fail("request %lld: prompt of %d positions (%d text tokens + %d image tokens) "
                    "exceeds the model's context of %d",
                    (long long)q->id, rows, q->n_ids - (img_of[i - lo] >= 0),
                    img_of[i - lo] >= 0 ? NP : 0, c->max_pos);
        if (rows == 0) hl_fail("request %lld: empty prompt", (long long)q->id);
        CHECKF(q->max_new >= 1, "request %lld: max_new %d", (long long)q->id, q->max_new);
        int max_new = q->max_new;
        if (max_new > c->max_pos - rows + 1) max_new = c->max_pos - rows + 1;
        *sm = (Sample){.active = max_new > 0, .pos = rows, .max_new = max_new, .prompt_rows = rows};
        int cap = rows + (max_new > 1 ? max_new - 1 : 0);
        seq_state_reserve(&r->st[i], &e->llm, cap);
        uint64_t key = sampler_key((uint64_t)q->id, 0);
        int *h = hdr + (i - lo) * SPAN_INTS;
        h[0] = i, h[1] = rows, h[2] = 0, h[3] = 1, h[4] = cap;
        h[5] = (int)(uint32_t)key, h[6] = (int)(uint32_t)(key >> 32);
        r->res[i].prompt_rows = rows;
        R += rows;
    }
    float *x = hl_malloc((size_t)R * d * sizeof(float));
    int row = 0;
    for (int i = lo; i < hi; i++) {
        const GenRequest *q = &r->reqs[i];
        for (int j = 0; j < q->n_ids; j++) {
            if (q->ids[j] == HL_IMAGE_TOKEN) {
                memcpy(x + (long)row * d, vis + (long)img_of[i - lo] * NP * d,
                       (size_t)NP * d * sizeof(float));
                row += NP;
            } else {
                if (q->ids[j] < 0 || q->ids[j] >= c->vocab)
                    hl_fail("request %lld: token id %d outside the vocabulary of %d",
                            (long long)q->id, q->ids[j], c->vocab);
                llm_embed(&e->llm, &q->ids[j], 1, x + (long)row * d);
                row++;
            }
        }
    }
    e->stats.compute_s += comm_wtime() - t0;
    run_stage(r, m, x, hdr, ns, 1);
    free(x), free(hdr), free(pix), free(feats), free(vis), free(img_of);
}

/* First stage: tokens of micro-batch m arrived; record them and feed the
 * still-active samples back in, or close the micro-batch. */
static void deliver(Run *r, const int *msg) {
    Engine *e = r->e;
    int m = msg[1], ns = msg[2], k = e->trace_k, per = 2 + 2 * k;
    double now = comm_wtime();
    for (int s = 0; s < ns; s++) {
        const int *p = msg + HDR + s * per;
        int i = p[0], tok = p[1];
        Sample *sm = &r->smp[i];
        GenResult *res = &r->res[i];
        res->tokens = hl_realloc(res->tokens, (size_t)(res->n_tokens + 1) * sizeof(int));
        res->tokens[res->n_tokens] = tok;
        if (k) {
            res->topk_ids =
                hl_realloc(res->topk_ids, (size_t)(res->n_tokens + 1) * k * sizeof(int));
            res->topk_vals =
                hl_realloc(res->topk_vals, (size_t)(res->n_tokens + 1) * k * sizeof(float));
            memcpy(res->topk_ids + (long)res->n_tokens * k, p + 2, (size_t)k * sizeof(int));
            memcpy(res->topk_vals + (long)res->n_tokens * k, p + 2 + k, (size_t)k * sizeof(float));
        }
        res->n_tokens++;
        sm->n_new++;
        res->seconds = now - r->t_start;
        if ((tok == e->cfg.eos && !e->gen.ignore_eos) || sm->n_new >= sm->max_new) sm->active = 0;
    }
    int act = 0;
    for (int i = r->mb_lo[m]; i < r->mb_hi[m]; i++) act += r->smp[i].active;
    if (act == 0) {
        if (!e->is_last) {
            int *end = hl_malloc(HDR * sizeof(int));
            end[0] = MSG_END, end[1] = m, end[2] = 0;
            push_send(r, e->next, TAG_FWD, end, HDR * sizeof(int));
        }
        r->finished++;
        return;
    }
    double t0 = comm_wtime();
    const int d = e->llm.d;
    float *x = hl_malloc((size_t)act * d * sizeof(float));
    int *hdr = hl_malloc((size_t)act * SPAN_INTS * sizeof(int));
    int j = 0;
    for (int i = r->mb_lo[m]; i < r->mb_hi[m]; i++) {
        Sample *sm = &r->smp[i];
        if (!sm->active) continue;
        int tok = r->res[i].tokens[r->res[i].n_tokens - 1];
        llm_embed(&e->llm, &tok, 1, x + (long)j * d);
        uint64_t key = sampler_key((uint64_t)r->reqs[i].id, sm->n_new);
        int *h = hdr + j * SPAN_INTS;
        h[0] = i, h[1] = 1, h[2] = sm->pos, h[3] = 0, h[4] = 0;
        h[5] = (int)(uint32_t)key, h[6] = (int)(uint32_t)(key >> 32);
        sm->pos++;
        j++;
    }
    e->stats.compute_s += comm_wtime() - t0;
    run_stage(r, m, x, hdr, act, 0);
    free(x), free(hdr);
}

void engine_generate(Engine *e, const GenRequest *reqs, int n, GenResult *results) {
    if (n <= 0) return;
    Run r = {.e = e, .n = n, .reqs = reqs, .res = results};
    r.M = e->micro_batches < n ? e->micro_batches : n;
    if (r.M < 1) r.M = 1;
    r.mb_lo = hl_malloc((size_t)r.M * sizeof(int));
    r.mb_hi = hl_malloc((size_t)r.M * sizeof(int));
    for (int m = 0, lo = 0; m < r.M; m++) {
        int sz = n / r.M + (m < n % r.M);
        r.mb_lo[m] = lo, r.mb_hi[m] = lo + sz, lo += sz;
    }
    r.st = hl_calloc((size_t)n, sizeof(SeqState));
    for (int i = 0; i < n; i++) seq_state_init(&r.st[i], &e->llm, 0);
    r.guid = hl_calloc((size_t)r.M, sizeof(CommRequest));
    r.guid_buf = hl_calloc((size_t)r.M, sizeof(float *));
    r.guid_done = hl_calloc((size_t)r.M, sizeof(int));
    if (e->guide.size > 1) {
        for (int m = 0; m < r.M; m++) {
            r.guid_buf[m] = hl_malloc((size_t)(r.mb_hi[m] - r.mb_lo[m]) * e->llm.d * sizeof(float));
            if (e->stage > e->guide_stage)
                group_ibcast(&e->guide, r.guid_buf[m],
                             (size_t)(r.mb_hi[m] - r.mb_lo[m]) * e->llm.d * sizeof(float), 0,
                             &r.guid[m]);
        }
    }
    r.t_start = comm_wtime();
    if (e->is_first) {
        r.smp = hl_calloc((size_t)n, sizeof(Sample));
        r.q_cap = r.M + 1; /* at most one token message per micro-batch waits */
        r.queue = hl_calloc((size_t)r.q_cap, sizeof(void *));
        for (int i = 0; i < n; i++) memset(&results[i], 0, sizeof results[i]);
        for (int m = 0; m < r.M; m++) prefill_first(&r, m);
        e->stats.prefill_s += comm_wtime() - r.t_start;
        double t_dec = comm_wtime();
        while (r.finished < r.M) {
            int *msg;
            if (e->is_last) {
                CHECK(r.q_head < r.q_tail);
                msg = r.queue[r.q_head++ % r.q_cap];
            } else {
                int tag;
                size_t bytes;
                msg = comm_recv_any(e->comm, e->last, &tag, &bytes, &e->stats.wait_s);
                CHECK(tag == TAG_TOK && msg[0] == MSG_TOK);
            }
            deliver(&r, msg);
            free(msg);
        }
        e->stats.decode_s += comm_wtime() - t_dec;
    } else {
        int ends = 0;
        while (ends < r.M) {
            for (int m = 0; m < r.M; m++) take_guidance(&r, m, 0);
            int tag;
            size_t bytes;
            int *msg = comm_recv_any(e->comm, e->prev, &tag, &bytes, &e->stats.wait_s);
            CHECK(tag == TAG_FWD);
            int m = msg[1], ns = msg[2];
            if (msg[0] == MSG_END) {
                ends++;
                if (!e->is_last) {
                    int *end = hl_malloc(HDR * sizeof(int));
                    memcpy(end, msg, HDR * sizeof(int));
                    push_send(&r, e->next, TAG_FWD, end, HDR * sizeof(int));
                }
                free(msg);
                continue;
            }
            int prefill = 0;
            for (int s = 0; s < ns; s++) {
                const int *h = msg + HDR + s * SPAN_INTS;
                if (h[3]) {
                    prefill = 1;
                    seq_state_reserve(&r.st[h[0]], &e->llm, h[4]);
                }
            }
            size_t ints = HDR + (size_t)ns * SPAN_INTS;
            float *x = hl_malloc(bytes - ints * 4 + 4);
            memcpy(x, msg + ints, bytes - ints * 4);
            run_stage(&r, m, x, msg + HDR, ns, prefill);
            free(x);
            free(msg);
        }
    }
    for (int i = 0; i < r.n_sends; i++) e->stats.wait_s += comm_wait(&r.sends[i]);
    for (int m = 0; m < r.M; m++) {
        comm_wait(&r.guid[m]);
        free(r.guid_buf[m]);
    }
    for (int i = 0; i < n; i++) seq_state_free(&r.st[i], &e->llm);
    free(r.st), free(r.smp), free(r.queue), free(r.sends), free(r.guid), free(r.guid_buf);
    free(r.guid_done), free(r.mb_lo), free(r.mb_hi);
}
