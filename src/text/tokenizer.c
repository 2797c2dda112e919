/* SentencePiece BPE encode/decode, rule for rule as sentencepiece 0.2 does it
 * (normalizer.cc, bpe_model.cc, sentencepiece_processor.cc) plus the layer that
 * transformers' LlamaTokenizer(legacy=False) puts on top. docs/tokenizer.md
 * explains the rules; comments here say where each one comes from. */
#include "text/tokenizer.h"

#include <string.h>

#include "util/check.h"
#include "util/strbuf.h"
#include "util/utf8.h"

#define WS "\xe2\x96\x81" /* U+2581, sentencepiece's escaped space */
#define WS_LEN 3
static const char kReplacement[] = "\xef\xbf\xbd";  /* U+FFFD */
static const char kUnkSurface[] = " \xe2\x81\x87 "; /* sentencepiece's default unk_surface */

/* Open-addressing map from a piece's bytes to its id. */
typedef struct {
    int32_t *slot; /* -1 = empty */
    uint32_t mask;
} PieceMap;

struct Tokenizer {
    int n;
    char *blob;
    int64_t *off;
    float *score;
    int32_t *type;
    TokenizerFlags f;
    int byte_id[256]; /* id of <0xXX>, -1 when absent */
    /* sentencepiece keeps two maps: the pieces merges may form (normal,
     * user-defined, unused) and the reserved ones (control, unknown, byte)
     * that only an exact lookup finds. */
    PieceMap normal, reserved;
    int max_user_len; /* longest user-defined piece, 0 when there is none */
    int hf_unk_len;   /* pieces the unk piece alone encodes to (LlamaTokenizer.unk_token_length) */
};

/* ---- small growable arrays ---------------------------------------------------------- */

/* Makes room for element n of a growable array of capacity *cap. */
static void *grow(void *v, int n, int *cap, size_t elem) {
    if (n < *cap) return v;
    *cap = *cap ? 2 * *cap : 64;
    return hl_realloc(v, (size_t)*cap * elem);
}

/* A piece in an encoder's output, with the two facts LlamaTokenizer's
 * post-processing looks at. */
typedef struct {
    int id;
    unsigned char ws;      /* the piece's text is exactly "▁" */
    unsigned char special; /* a special-token string split out of the text */
} Tok;

typedef struct {
    Tok *v;
    int n, cap;
} TokVec;

static void tv_push(TokVec *tv, int id, int ws, int special) {
    tv->v = grow(tv->v, tv->n, &tv->cap, sizeof(Tok));
    tv->v[tv->n++] = (Tok){id, (unsigned char)ws, (unsigned char)special};
}

/* ---- piece lookup ------------------------------------------------------------------- */

static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static size_t piece_len(const Tokenizer *t, int id) {
    return (size_t)(t->off[id + 1] - t->off[id]);
}
static const char *piece_str(const Tokenizer *t, int id) {
    return t->blob + t->off[id];
}

static int map_find(const Tokenizer *t, const PieceMap *m, const char *s, size_t n) {
    for (uint32_t i = hash_bytes(s, n) & m->mask;; i = (i + 1) & m->mask) {
        int id = m->slot[i];
        if (id < 0) return -1;
        if (piece_len(t, id) == n && memcmp(piece_str(t, id), s, n) == 0) return id;
    }
}

/* Returns 0 when an equal piece is already there. */
static int map_add(const Tokenizer *t, PieceMap *m, int id) {
    const char *s = piece_str(t, id);
    size_t n = piece_len(t, id);
    uint32_t i = hash_bytes(s, n) & m->mask;
    for (; m->slot[i] >= 0; i = (i + 1) & m->mask)
        if (piece_len(t, m->slot[i]) == n && memcmp(piece_str(t, m->slot[i]), s, n) == 0) return 0;
    m->slot[i] = id;
    return 1;
}

/* ModelInterface::PieceToId: reserved pieces first, then the others, else unk. */
static int piece_to_id(const Tokenizer *t, const char *s, size_t n) {
    int id = map_find(t, &t->reserved, s, n);
    if (id < 0) id = map_find(t, &t->normal, s, n);
    return id < 0 ? t->f.unk_id : id;
}

/* "<0xXX>" (uppercase hex, as ByteToPiece writes it) -> XX, else -1. */
static int byte_piece_value(const char *s, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    const char *hi = memchr(hex, s[3], 16), *lo = memchr(hex, s[4], 16);
    if (!hi || !lo) return -1;
    return (int)(hi - hex) * 16 + (int)(lo - hex);
}

/* Length of the longest user-defined piece that prefixes s (PrefixMatcher), 0 if none. */
static int user_prefix(const Tokenizer *t, const char *s, size_t n) {
    for (int len = (int)(n < (size_t)t->max_user_len ? n : (size_t)t->max_user_len); len > 0;
         len--) {
        int id = map_find(t, &t->normal, s, (size_t)len);
        if (id >= 0 && t->type[id] == TOK_USER_DEFINED) return len;
    }
    return 0;
}

/* ---- UTF-8 and normalisation -------------------------------------------------------- */

/* Normalizer::NormalizePrefix with the identity normaliser: a user-defined
 * piece, one character, or one invalid byte read as U+FFFD. Sets the unit's
 * normalised text; returns the input bytes it consumes. */
static int norm_unit(const Tokenizer *t, const char *s, size_t n, const char **u, int *ulen) {
    int k = t->max_user_len ? user_prefix(t, s, n) : 0;
    if (k == 0) k = utf8_char_len(s, n);
    if (k == 0) {
        *u = kReplacement, *ulen = 3;
        return 1;
    }
    *u = s, *ulen = k;
    return k;
}

static void put_space(const Tokenizer *t, StrBuf *out) {
    if (t->f.escape_whitespaces)
        sb_putn(out, WS, WS_LEN);
    else
        sb_putn(out, " ", 1);
}

/* Normalizer::Normalize (identity rules; add_dummy_prefix given by the caller
 * because LlamaTokenizer switches it off). */
static void normalize(const Tokenizer *t, const char *in, size_t n, int add_dummy, StrBuf *out) {
    sb_clear(out);
    int strip = t->f.remove_extra_whitespaces;
    const char *u;
    int ulen;
    size_t pos = 0;
    if (strip) /* leading spaces */
        while (pos < n) {
            int k = norm_unit(t, in + pos, n - pos, &u, &ulen);
            if (!(ulen == 1 && u[0] == ' ')) break;
            pos += (size_t)k;
        }
    if (pos == n) return; /* empty, or only spaces that were removed */
    if (add_dummy) put_space(t, out);
    int prev_space = strip;
    while (pos < n) {
        int k = norm_unit(t, in + pos, n - pos, &u, &ulen);
        while (prev_space && ulen > 0 && u[0] == ' ') u++, ulen--;
        if (ulen > 0) {
            for (int i = 0; i < ulen; i++) {
                if (u[i] == ' ')
                    put_space(t, out);
                else
                    sb_putn(out, u + i, 1);
            }
            prev_space = u[ulen - 1] == ' ';
        }
        pos += (size_t)k;
        if (!strip) prev_space = 0;
    }
    if (strip) { /* trailing spaces */
        const char *sp = t->f.escape_whitespaces ? WS : " ";
        size_t sl = strlen(sp);
        while (out->n >= sl && memcmp(out->s + out->n - sl, sp, sl) == 0) out->n -= sl;
        out->s[out->n] = 0;
    }
}

/* ---- BPE (bpe::Model::SampleEncode without dropout) --------------------------------- */

typedef struct {
    float score;
    int left, right, size;
} Pair;

/* Agenda order: higher score first, then the leftmost pair. */
static int pair_before(const Pair *a, const Pair *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

typedef struct {
    Pair *v;
    int n, cap;
} Heap;

static void heap_push(Heap *h, Pair p) {
    h->v = grow(h->v, h->n, &h->cap, sizeof(Pair));
    int i = h->n++;
    while (i > 0 && pair_before(&p, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = p;
}

static Pair heap_pop(Heap *h) {
    Pair top = h->v[0], last = h->v[--h->n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && pair_before(&h->v[c + 1], &h->v[c])) c++;
        if (!pair_before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n > 0) h->v[i] = last;
    return top;
}

/* How an unused piece was last formed: it is split back into these two. */
typedef struct {
    int id, lstart, llen, rstart, rlen;
} RevMerge;

typedef struct {
    const Tokenizer *t;
    const char *s;
    int *start, *len, *prev, *next;
    unsigned char *freeze;
    Heap heap;
    RevMerge *rev;
    int nrev, caprev;
} Bpe;

static void bpe_maybe_add(Bpe *b, int l, int r) {
    if (l < 0 || r < 0 || b->freeze[l] || b->freeze[r]) return;
    int size = b->len[l] + b->len[r];
    int id = map_find(b->t, &b->t->normal, b->s + b->start[l], (size_t)size);
    if (id < 0) return;
    heap_push(&b->heap, (Pair){b->t->score[id], l, r, size});
    if (b->t->type[id] == TOK_UNUSED) { /* the latest candidate wins, as in rev_merge */
        b->rev = grow(b->rev, b->nrev, &b->caprev, sizeof(RevMerge));
        b->rev[b->nrev++] = (RevMerge){id, b->start[l], b->len[l], b->start[r], b->len[r]};
    }
}

/* A piece of the BPE output: its id and where its text lies in the normalised string. */
typedef struct {
    int id, start, len;
} Span;

typedef struct {
    Span *v;
    int n, cap;
} SpanVec;

/* Emits a final symbol; an unused piece is replaced by the two symbols it was
 * last formed from, recursively (the resegment step). */
static void bpe_resegment(Bpe *b, int start, int len, SpanVec *out) {
    const Tokenizer *t = b->t;
    int id = piece_to_id(t, b->s + start, (size_t)len);
    if (t->type[id] == TOK_UNUSED)
        for (int k = b->nrev - 1; k >= 0; k--)
            if (b->rev[k].id == id) {
                RevMerge m = b->rev[k];
                bpe_resegment(b, m.lstart, m.llen, out);
                bpe_resegment(b, m.rstart, m.rlen, out);
                return;
            }
    out->v = grow(out->v, out->n, &out->cap, sizeof(Span));
    out->v[out->n++] = (Span){id, start, len};
}

/* Splits normalised text into pieces. The ids are PieceToId's: a character
 * outside the vocabulary comes out as unk. */
static void bpe_encode(const Tokenizer *t, const char *s, int n, SpanVec *out) {
    if (n == 0) return;
    Bpe b = {.t = t, .s = s};
    b.start = hl_malloc(4 * (size_t)n * sizeof(int));
    b.len = b.start + n, b.prev = b.len + n, b.next = b.prev + n;
    b.freeze = hl_malloc((size_t)n);
    int ns = 0;
    for (int pos = 0; pos < n; ns++) {
        /* a user-defined piece (frozen: never merged), else one character by its lead byte */
        int k = t->max_user_len ? user_prefix(t, s + pos, (size_t)(n - pos)) : 0;
        b.freeze[ns] = k > 0;
        if (k == 0) {
            static const unsigned char kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
            k = kLen[(unsigned char)s[pos] >> 4];
            if (k > n - pos) k = n - pos;
        }
        b.start[ns] = pos, b.len[ns] = k, b.prev[ns] = ns - 1;
        pos += k;
        b.next[ns] = pos < n ? ns + 1 : -1;
    }
    for (int i = 1; i < ns; i++) bpe_maybe_add(&b, i - 1, i);
    while (b.heap.n > 0) {
        Pair p = heap_pop(&b.heap);
        int l = p.left, r = p.right;
        if (b.len[l] == 0 || b.len[r] == 0 || b.len[l] + b.len[r] != p.size) continue; /* stale */
        b.len[l] += b.len[r];
        b.next[l] = b.next[r];
        if (b.next[r] >= 0) b.prev[b.next[r]] = l;
        b.len[r] = 0;
        bpe_maybe_add(&b, b.prev[l], l);
        bpe_maybe_add(&b, l, b.next[l]);
    }
    for (int i = 0; i != -1; i = b.next[i]) bpe_resegment(&b, b.start[i], b.len[i], out);
    free(b.start);
    free(b.freeze);
    free(b.heap.v);
    free(b.rev);
}

/* SentencePieceProcessor::Encode: normalise, BPE, then an unknown piece becomes
 * its UTF-8 bytes (byte fallback) or, without byte fallback, a run of unknown
 * pieces becomes one unk. Appends to out; norm is scratch. */
static void sp_encode(const Tokenizer *t, const char *text, size_t n, int add_dummy, StrBuf *norm,
                      TokVec *out) {
    normalize(t, text, n, add_dummy, norm);
    SpanVec sv = {0};
    bpe_encode(t, norm->s, (int)norm->n, &sv);
    int prev_unk = 0;
    for (int i = 0; i < sv.n; i++) {
        Span sp = sv.v[i];
        const char *s = norm->s + sp.start;
        int unk = t->type[sp.id] == TOK_UNKNOWN;
        int ws = sp.len == WS_LEN && memcmp(s, WS, WS_LEN) == 0;
        if (unk && t->f.byte_fallback) {
            for (int j = 0; j < sp.len; j++) tv_push(out, t->byte_id[(unsigned char)s[j]], 0, 0);
        } else if (unk && prev_unk) {
            out->v[out->n - 1].ws = 0; /* joined to the previous unknown run: no longer "▁" */
        } else {
            tv_push(out, sp.id, ws, 0);
        }
        prev_unk = unk;
    }
    free(sv.v);
}

/* ---- encoders ----------------------------------------------------------------------- */

static int finish_ids(const Tokenizer *t, const TokVec *tv, int from, int add_bos, int **ids) {
    int bos = add_bos && t->f.bos_id >= 0;
    int n = tv->n - from + bos;
    int *v = hl_malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
    if (bos) v[0] = t->f.bos_id;
    for (int i = from; i < tv->n; i++) v[bos + i - from] = tv->v[i].id;
    *ids = v;
    return n;
}

int tokenizer_encode_sp(const Tokenizer *t, const char *text, int add_bos, int **ids) {
    StrBuf norm = {0};
    TokVec tv = {0};
    sp_encode(t, text, strlen(text), t->f.add_dummy_prefix, &norm, &tv);
    int n = finish_ids(t, &tv, 0, add_bos, ids);
    free(norm.s);
    free(tv.v);
    return n;
}

/* Length of the special-token string (unk, bos or eos piece: LlamaTokenizer's
 * added tokens) that starts at s, the longest if several; 0 when none. */
static int special_at(const Tokenizer *t, const char *s, size_t n, int *id) {
    const int cand[3] = {t->f.unk_id, t->f.bos_id, t->f.eos_id};
    int best = 0;
    for (int k = 0; k < 3; k++) {
        if (cand[k] < 0) continue;
        size_t len = piece_len(t, cand[k]);
        if (len <= n && (int)len > best && memcmp(s, piece_str(t, cand[k]), len) == 0)
            best = (int)len, *id = cand[k];
    }
    return best;
}

/* LlamaTokenizer._tokenize on one stretch of text between special tokens: the
 * sentencepiece model runs without its dummy prefix, and a stretch that starts
 * with a space is encoded behind the unk piece, whose pieces are then dropped
 * (so sentencepiece keeps that leading space). */
static void hf_stretch(const Tokenizer *t, const char *s, size_t n, StrBuf *tmp, StrBuf *norm,
                       TokVec *out) {
    if (n == 0) return;
    if (s[0] != ' ' && !(n >= WS_LEN && memcmp(s, WS, WS_LEN) == 0)) {
        sp_encode(t, s, n, 0, norm, out);
        return;
    }
    sb_clear(tmp);
    sb_putn(tmp, piece_str(t, t->f.unk_id), piece_len(t, t->f.unk_id));
    sb_putn(tmp, s, n);
    int from = out->n;
    sp_encode(t, tmp->s, tmp->n, 0, norm, out);
    int drop = out->n - from >= t->hf_unk_len ? t->hf_unk_len : 0;
    if (drop == 0) return; /* out->v may still be NULL */
    memmove(out->v + from, out->v + from + drop, (size_t)(out->n - from - drop) * sizeof(Tok));
    out->n -= drop;
}

int tokenizer_encode(const Tokenizer *t, const char *text, int add_bos, int **ids) {
    TokVec tv = {0};
    size_t n = strlen(text);
    if (n == 0) return finish_ids(t, &tv, 0, add_bos, ids); /* tokenize("") is [] */
    /* LlamaTokenizer.tokenize: "▁" + text, with every "▁" of the text made a space */
    StrBuf x = {0}, tmp = {0}, norm = {0};
    sb_putn(&x, WS, WS_LEN);
    for (size_t i = 0; i < n;) {
        if (i + WS_LEN <= n && memcmp(text + i, WS, WS_LEN) == 0)
            sb_putn(&x, " ", 1), i += WS_LEN;
        else
            sb_putn(&x, text + i, 1), i++;
    }
    /* split out the special-token strings, leftmost first */
    size_t seg = 0;
    for (size_t i = 0; i < x.n;) {
        int id, len = special_at(t, x.s + i, x.n - i, &id);
        if (len == 0) {
            i++;
            continue;
        }
        hf_stretch(t, x.s + seg, i - seg, &tmp, &norm, &tv);
        tv_push(&tv, id, 0, 1);
        i += (size_t)len;
        seg = i;
    }
    hf_stretch(t, x.s + seg, x.n - seg, &tmp, &norm, &tv);
    /* a lone leading "▁" before a special token is dropped */
    int from = tv.n > 1 && tv.v[0].ws && tv.v[1].special;
    int count = finish_ids(t, &tv, from, add_bos, ids);
    free(x.s);
    free(tmp.s);
    free(norm.s);
    free(tv.v);
    return count;
}

/* ---- decoders ----------------------------------------------------------------------- */

/* Byte pieces in a row: each valid UTF-8 character as is, each other byte as U+FFFD. */
static void flush_bytes(const unsigned char *b, int n, StrBuf *out) {
    for (int i = 0; i < n;) {
        int k = utf8_char_len((const char *)b + i, (size_t)(n - i));
        if (k == 0)
            sb_putn(out, kReplacement, 3), i++;
        else
            sb_putn(out, (const char *)b + i, (size_t)k), i += k;
    }
}

/* SentencePieceProcessor::Decode of piece strings. At the start of the text
 * one leading "▁" is dropped when the model adds a dummy prefix (or removes
 * extra whitespace); add_dummy says which setting applies. */
static char *sp_decode(const Tokenizer *t, const char **ps, const int *pl, int n, int add_dummy,
                       size_t *len_out) {
    StrBuf out = {0};
    sb_putn(&out, "", 0);
    unsigned char *bytes = hl_malloc((size_t)(n > 0 ? n : 1));
    int nb = 0, bos_ws = 1, bos_ws_seen = 0;
    for (int i = 0; i < n; i++) {
        const char *s = ps[i];
        int len = pl[i], id = piece_to_id(t, s, (size_t)len), type = t->type[id];
        if (type == TOK_BYTE) {
            bytes[nb++] = (unsigned char)byte_piece_value(s, (size_t)len);
            continue;
        }
        flush_bytes(bytes, nb, &out);
        nb = 0;
        if (bos_ws_seen || out.n > 0) bos_ws = 0;
        bos_ws_seen = 0;
        if (type == TOK_CONTROL) continue; /* invisible */
        if (type == TOK_UNKNOWN) {
            if ((size_t)len == piece_len(t, id) && memcmp(s, piece_str(t, id), (size_t)len) == 0)
                sb_putn(&out, kUnkSurface, strlen(kUnkSurface));
            else
                sb_putn(&out, s, (size_t)len); /* a string that is no piece: verbatim */
            continue;
        }
        if (bos_ws && (add_dummy || t->f.remove_extra_whitespaces) && len >= WS_LEN &&
            memcmp(s, WS, WS_LEN) == 0) {
            s += WS_LEN, len -= WS_LEN;
            bos_ws_seen = !t->f.remove_extra_whitespaces;
        }
        for (int j = 0; j < len;) {
            if (j + WS_LEN <= len && memcmp(s + j, WS, WS_LEN) == 0)
                sb_putn(&out, " ", 1), j += WS_LEN;
            else
                sb_putn(&out, s + j, 1), j++;
        }
    }
    flush_bytes(bytes, nb, &out);
    free(bytes);
    if (len_out) *len_out = out.n;
    return out.s;
}

char *tokenizer_decode_len(const Tokenizer *t, const int *ids, int n, int sp, size_t *len) {
    const char **ps = hl_malloc((size_t)(n > 0 ? n : 1) * sizeof(char *));
    int *pl = hl_malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
    int m = 0;
    for (int i = 0; i < n; i++) {
        int id = ids[i];
        /* An id past the pieces (a padded embedding's extra rows, which a model
         * can sample) has no text: dropped, as transformers' fast tokenizer
         * drops an id it has no token for (docs/tokenizer.md). */
        if (id < 0 || id >= t->n) continue;
        /* skip_special_tokens: LlamaTokenizer's special tokens are bos, eos and unk */
        if (!sp && (id == t->f.bos_id || id == t->f.eos_id || id == t->f.unk_id)) continue;
        ps[m] = piece_str(t, id), pl[m] = (int)piece_len(t, id);
        m++;
    }
    /* LlamaTokenizer.convert_tokens_to_string drops the first piece's leading
     * "▁" itself and decodes with the dummy prefix switched off */
    if (!sp && m > 0 && pl[0] >= WS_LEN && memcmp(ps[0], WS, WS_LEN) == 0)
        ps[0] += WS_LEN, pl[0] -= WS_LEN;
    char *s = sp_decode(t, ps, pl, m, sp ? t->f.add_dummy_prefix : 0, len);
    free(ps);
    free(pl);
    return s;
}

char *tokenizer_decode(const Tokenizer *t, const int *ids, int n) {
    return tokenizer_decode_len(t, ids, n, 0, NULL);
}

char *tokenizer_decode_sp(const Tokenizer *t, const int *ids, int n) {
    return tokenizer_decode_len(t, ids, n, 1, NULL);
}

/* ---- construction ------------------------------------------------------------------- */

static const char *model_type_name(int type) {
    static const char *names[] = {"?", "unigram", "BPE", "word", "char"};
    return type >= 1 && type <= 4 ? names[type] : "unknown";
}

static void map_init(PieceMap *m, int count) {
    uint32_t cap = 16;
    while (cap < 2u * (uint32_t)count) cap <<= 1;
    m->slot = hl_malloc(cap * sizeof(int32_t));
    memset(m->slot, 0xff, cap * sizeof(int32_t)); /* all -1 */
    m->mask = cap - 1;
}

Tokenizer *tokenizer_create(const char *source, int n, const uint8_t *blob, int64_t blob_bytes,
                            const int64_t *offsets, const float *scores, const int32_t *types,
                            const TokenizerFlags *flags) {
    const TokenizerFlags *f = flags;
    if (f->model_type != 2)
        hl_fail("%s: tokenizer model type %d (%s) is not supported (only BPE)", source,
                f->model_type, model_type_name(f->model_type));
    if (n <= 0) hl_fail("%s: tokenizer has no pieces", source);
    if (offsets[0] != 0 || offsets[n] != blob_bytes)
        hl_fail("%s: tokenizer piece offsets do not cover the %lld bytes of piece text", source,
                (long long)blob_bytes);
    for (int i = 0; i < n; i++) {
        if (offsets[i + 1] <= offsets[i])
            hl_fail("%s: tokenizer piece %d is empty or its offsets decrease", source, i);
        if (types[i] < TOK_NORMAL || types[i] > TOK_BYTE)
            hl_fail("%s: tokenizer piece %d has type %d (valid: 1..6)", source, i, (int)types[i]);
    }
    Tokenizer *t = hl_calloc(1, sizeof(Tokenizer));
    t->n = n;
    t->f = *f;
    t->blob = hl_malloc((size_t)blob_bytes + 1);
    memcpy(t->blob, blob, (size_t)blob_bytes);
    t->off = hl_malloc((size_t)(n + 1) * sizeof(int64_t));
    memcpy(t->off, offsets, (size_t)(n + 1) * sizeof(int64_t));
    t->score = hl_malloc((size_t)n * sizeof(float));
    memcpy(t->score, scores, (size_t)n * sizeof(float));
    t->type = hl_malloc((size_t)n * sizeof(int32_t));
    memcpy(t->type, types, (size_t)n * sizeof(int32_t));

    /* ModelInterface::InitializePieces and its checks */
    map_init(&t->normal, n);
    map_init(&t->reserved, n);
    int unk = -1;
    for (int i = 0; i < 256; i++) t->byte_id[i] = -1;
    for (int i = 0; i < n; i++) {
        int ty = t->type[i];
        int normal = ty == TOK_NORMAL || ty == TOK_USER_DEFINED || ty == TOK_UNUSED;
        if (!map_add(t, normal ? &t->normal : &t->reserved, i))
            hl_fail("%s: tokenizer piece %d '%.*s' is defined twice", source, i,
                    (int)piece_len(t, i), piece_str(t, i));
        if (ty == TOK_USER_DEFINED && (int)piece_len(t, i) > t->max_user_len)
            t->max_user_len = (int)piece_len(t, i);
        if (ty == TOK_UNKNOWN) {
            if (unk >= 0)
                hl_fail("%s: tokenizer has two unknown pieces (%d and %d)", source, unk, i);
            unk = i;
        }
        if (ty == TOK_BYTE) {
            if (!f->byte_fallback)
                hl_fail("%s: tokenizer has byte piece %d but byte_fallback is off", source, i);
            int v = byte_piece_value(piece_str(t, i), piece_len(t, i));
            if (v < 0)
                hl_fail("%s: tokenizer byte piece %d '%.*s' is not of the form <0xXX>", source, i,
                        (int)piece_len(t, i), piece_str(t, i));
            t->byte_id[v] = i;
        }
    }
    if (unk < 0) hl_fail("%s: tokenizer has no unknown piece", source);
    if (f->unk_id != unk)
        hl_fail("%s: tokenizer unk_id is %d but the unknown piece is %d", source, f->unk_id, unk);
    if (f->byte_fallback)
        for (int v = 0; v < 256; v++)
            if (t->byte_id[v] < 0)
                hl_fail("%s: tokenizer has byte_fallback but no piece <0x%02X>", source, v);
    const int special[3] = {f->bos_id, f->eos_id, f->pad_id};
    const char *special_name[3] = {"bos_id", "eos_id", "pad_id"};
    for (int k = 0; k < 3; k++)
        if (special[k] < -1 || special[k] >= n)
            hl_fail("%s: tokenizer %s %d is outside the %d pieces", source, special_name[k],
                    special[k], n);

    /* LlamaTokenizer.unk_token_length: the unk piece's text, encoded without dummy prefix */
    StrBuf norm = {0};
    TokVec tv = {0};
    sp_encode(t, piece_str(t, unk), piece_len(t, unk), 0, &norm, &tv);
    t->hf_unk_len = tv.n;
    free(norm.s);
    free(tv.v);
    return t;
}

void tokenizer_free(Tokenizer *t) {
    if (!t) return;
    free(t->blob);
    free(t->off);
    free(t->score);
    free(t->type);
    free(t->normal.slot);
    free(t->reserved.slot);
    free(t);
}

const char *tokenizer_piece(const Tokenizer *t, int id, int *len) {
    if (id < 0 || id >= t->n) return NULL;
    if (len) *len = (int)piece_len(t, id);
    return piece_str(t, id);
}

int tokenizer_type(const Tokenizer *t, int id) {
    return id >= 0 && id < t->n ? t->type[id] : 0;
}
float tokenizer_score(const Tokenizer *t, int id) {
    return id >= 0 && id < t->n ? t->score[id] : 0;
}
int tokenizer_size(const Tokenizer *t) {
    return t->n;
}
int tokenizer_bos(const Tokenizer *t) {
    return t->f.bos_id;
}
int tokenizer_eos(const Tokenizer *t) {
    return t->f.eos_id;
}
const TokenizerFlags *tokenizer_flags(const Tokenizer *t) {
    return &t->f;
}
