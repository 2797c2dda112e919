/* Tokenizer parity: every case of the golden files written by
 * tests/reference/make_tokenizer_goldens.py (ids of transformers'
 * LlamaTokenizer(legacy=False) and of the sentencepiece library, and their
 * decodes), for the real LLaMA tokenizer (from ../shared, skipped when absent)
 * and the project's tiny one and its variants; the decode round trip; the
 * weight-file construction path; the one-line errors for bad model files; and
 * a speed print. */
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "text/tokenizer.h"
#include "tokenizer_golden.h"

static char buf_a[4096], buf_b[4096];

static int has_special_or_ws(const char *s) {
    return strstr(s, "<s>") || strstr(s, "</s>") || strstr(s, "<unk>") || strstr(s, "\xe2\x96\x81");
}

/* Checks one golden file against a tokenizer; returns the number of cases. */
static int check_golden(const Tokenizer *t, const char *name, const char *golden, int round_trip) {
    char **lines;
    int nl = golden_read(golden, &lines);
    EXPECT(nl > 0, "%s: cannot read %s", name, golden);
    int cases = 0, trips = 0;
    for (int li = 0; li < nl; li++) {
        char *f[8];
        int nf = golden_fields(lines[li], f, 8);
        int *got, *want, ng, nw;
        char *dec;
        size_t dl;
        if (f[0][0] == 'E' && nf == 6) {
            char *text = golden_unescape(f[1], NULL);
            /* LlamaTokenizer: ids, decode of the expected ids, decode of our ids */
            ng = tokenizer_encode(t, text, 1, &got), nw = golden_ids(f[2], &want);
            EXPECT(ids_equal(got, ng, want, nw), "%s: encode '%s': got [%s] want [%s]", name, f[1],
                   ids_text(got, ng, buf_a, sizeof buf_a), ids_text(want, nw, buf_b, sizeof buf_b));
            dec = tokenizer_decode_len(t, want, nw, 0, &dl);
            EXPECT(golden_text_equal(dec, dl, f[4]), "%s: decode of '%s': got '%s' want '%s'", name,
                   f[1], dec, f[4]);
            char *plain = tokenizer_decode(t, want, nw);
            EXPECT(strcmp(plain, dec) == 0, "%s: tokenizer_decode of '%s' differs", name, f[1]);
            free(dec), free(plain);
            dec = tokenizer_decode_len(t, got, ng, 0, &dl);
            EXPECT(golden_text_equal(dec, dl, f[4]), "%s: round trip of '%s' gave '%s'", name, f[1],
                   dec);
            if (round_trip && !has_special_or_ws(text)) {
                EXPECT(dl == strlen(text) && strcmp(dec, text) == 0,
                       "%s: round trip of '%s' gave '%s'", name, f[1], dec);
                trips++;
            }
            free(got), free(want), free(dec);
            /* sentencepiece */
            ng = tokenizer_encode_sp(t, text, 1, &got), nw = golden_ids(f[3], &want);
            EXPECT(ids_equal(got, ng, want, nw),
                   "%s: sentencepiece encode '%s': got [%s] want [%s]", name, f[1],
                   ids_text(got, ng, buf_a, sizeof buf_a), ids_text(want, nw, buf_b, sizeof buf_b));
            dec = tokenizer_decode_len(t, want, nw, 1, &dl);
            EXPECT(golden_text_equal(dec, dl, f[5]),
                   "%s: sentencepiece decode of '%s': got '%s' want '%s'", name, f[1], dec, f[5]);
            plain = tokenizer_decode_sp(t, want, nw);
            EXPECT(strcmp(plain, dec) == 0, "%s: tokenizer_decode_sp of '%s' differs", name, f[1]);
            free(plain);
            free(got), free(want), free(dec), free(text);
        } else if (f[0][0] == 'B' && nf == 3) {
            char *text = golden_unescape(f[1], NULL);
            ng = tokenizer_encode_sp(t, text, 1, &got), nw = golden_ids(f[2], &want);
            EXPECT(ids_equal(got, ng, want, nw), "%s: bytes '%s': got [%s] want [%s]", name, f[1],
                   ids_text(got, ng, buf_a, sizeof buf_a), ids_text(want, nw, buf_b, sizeof buf_b));
            free(got), free(want), free(text);
        } else if (f[0][0] == 'D' && nf == 4) {
            nw = golden_ids(f[1], &want);
            dec = tokenizer_decode_len(t, want, nw, 0, &dl);
            EXPECT(golden_text_equal(dec, dl, f[2]), "%s: decode [%s]: got '%s' want '%s'", name,
                   f[1], dec, f[2]);
            free(dec);
            dec = tokenizer_decode_len(t, want, nw, 1, &dl);
            EXPECT(golden_text_equal(dec, dl, f[3]),
                   "%s: sentencepiece decode [%s]: got '%s' want '%s'", name, f[1], dec, f[3]);
            free(want), free(dec);
        } else {
            EXPECT(0, "%s: bad golden line %d of %s", name, li + 1, golden);
            continue;
        }
        cases++;
    }
    golden_free(lines, nl);
    printf("%s: %d golden cases, %d exact round trips\n", name, cases, trips);
    return cases;
}

/* Rebuilds a tokenizer from flat arrays, as the weight-file loader does. */
static Tokenizer *rebuild(const Tokenizer *t) {
    int n = tokenizer_size(t);
    int64_t *off = hl_malloc((size_t)(n + 1) * sizeof(int64_t));
    float *score = hl_malloc((size_t)n * sizeof(float));
    int32_t *type = hl_malloc((size_t)n * sizeof(int32_t));
    off[0] = 0;
    for (int i = 0; i < n; i++) {
        int len;
        tokenizer_piece(t, i, &len);
        off[i + 1] = off[i] + len;
        type[i] = tokenizer_type(t, i);
        score[i] = tokenizer_score(t, i);
    }
    uint8_t *blob = hl_malloc((size_t)off[n] + 1);
    for (int i = 0; i < n; i++)
        memcpy(blob + off[i], tokenizer_piece(t, i, NULL), (size_t)(off[i + 1] - off[i]));
    Tokenizer *r = tokenizer_create("rebuilt:/tokenizer", n, blob, off[n], off, score, type,
                                    tokenizer_flags(t));
    free(off), free(score), free(type), free(blob);
    return r;
}

static void load_only(const char *path) {
    tokenizer_load_model(path);
}

static void expect_load_error(const char *path, const char *message) {
    char err[1024];
    int rc = test_child(load_only, path, err, sizeof err);
    int lines = 0;
    for (const char *p = err; *p; p++) lines += *p == '\n';
    EXPECT(rc == 1 && strstr(err, path) && strstr(err, message) && lines == 1,
           "loading %s: exit %d, stderr '%s' (want one line with '%s')", path, rc, err, message);
}

/* A flat-array model with one defect; the creation must fail naming the source. */
static const char *defect;
static void create_defective(const char *source) {
    /* pieces: <unk> <s> </s> a b ab */
    const char *text = !strcmp(defect, "dup") ? "<unk><s></s>abb" : "<unk><s></s>abab";
    int64_t off[7] = {0, 5, 8, 12, 13, 14, (int64_t)strlen(text)};
    float score[6] = {0, 0, 0, -2, -3, -1};
    int32_t type[6] = {TOK_UNKNOWN, TOK_CONTROL, TOK_CONTROL, TOK_NORMAL, TOK_NORMAL, TOK_NORMAL};
    TokenizerFlags f = {2, 1, 0, 1, 0, 0, 1, 2, -1};
    if (!strcmp(defect, "unigram")) f.model_type = 1;
    if (!strcmp(defect, "nounk")) type[0] = TOK_CONTROL;
    if (!strcmp(defect, "bytes")) f.byte_fallback = 1;
    if (!strcmp(defect, "bos")) f.bos_id = 6;
    Tokenizer *t = tokenizer_create(source, 6, (const uint8_t *)text, off[6], off, score, type, &f);
    int *ids;
    int n = tokenizer_encode(t, "ab ba", 1, &ids); /* "▁" is no piece: unk */
    fprintf(stderr, "ok %d:%d %d %d %d %d\n", n, ids[0], ids[1], ids[2], ids[3], ids[4]);
    free(ids);
    tokenizer_free(t);
}

static void check_errors(void) {
    /* a truncated copy of tiny.model */
    char path[64] = "/tmp/hl_tok_trunc_XXXXXX.model";
    int fd = mkstemps(path, 6);
    CHECK(fd >= 0);
    close(fd);
    FILE *in = hl_fopen("tests/fixtures/tokenizers/tiny.model", "rb"), *out = hl_fopen(path, "wb");
    char data[8192];
    size_t n = fread(data, 1, sizeof data, in);
    fwrite(data, 1, n / 2, out);
    fclose(in), fclose(out);
    expect_load_error(path, "truncated or corrupt SentencePiece model");
    out = hl_fopen(path, "wb");
    fputs("this is not a model", out);
    fclose(out);
    expect_load_error(path, "SentencePiece model");
    remove(path);
    expect_load_error("tests/fixtures/tokenizer/no_such.model", "No such file");
    expect_load_error(TOKENIZER_FIX "bad_unigram.model", "model type 1 (unigram) is not supported");
    expect_load_error(TOKENIZER_FIX "bad_nfkc.model", "normalizer 'nmt_nfkc' is not supported");

    const char *defects[] = {"unigram", "dup", "nounk", "bytes", "bos"};
    const char *messages[] = {"not supported (only BPE)", "defined twice", "no unknown piece",
                              "no piece <0x00>", "bos_id 6 is outside"};
    char err[1024];
    for (int k = 0; k < 5; k++) {
        defect = defects[k];
        int rc = test_child(create_defective, "flat.h5:/tokenizer", err, sizeof err);
        EXPECT(rc == 1 && strstr(err, "flat.h5:/tokenizer") && strstr(err, messages[k]),
               "defect %s: exit %d, stderr '%s'", defects[k], rc, err);
    }
    /* the same flat model without a defect works: "ab ba" -> <s> ab <unk> b a */
    defect = "none";
    int rc = test_child(create_defective, "flat.h5:/tokenizer", err, sizeof err);
    EXPECT(rc == 0 && strcmp(err, "ok 5:1 5 0 4 3\n") == 0, "flat model: exit %d, '%s'", rc, err);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Prints encode speed on the corpus and on one long text (no assertion on time). */
static void speed(const Tokenizer *t, const char *name) {
    char **lines;
    int nl = golden_read(TOKENIZER_FIX "tiny.golden", &lines), ntext = 0, reps = 20;
    char **texts = hl_malloc((size_t)nl * sizeof(char *));
    size_t total = 0;
    for (int i = 0; i < nl; i++) {
        char *f[8];
        if (golden_fields(lines[i], f, 8) == 6 && f[0][0] == 'E') {
            texts[ntext] = golden_unescape(f[1], NULL);
            total += strlen(texts[ntext++]);
        }
    }
    double t0 = now();
    long pieces = 0;
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < ntext; i++) {
            int *ids;
            pieces += tokenizer_encode(t, texts[i], 1, &ids);
            free(ids);
        }
    double dt = now() - t0;
    char *big = hl_malloc(total * 50 + 1), *p = big;
    for (int r = 0; r < 50; r++)
        for (int i = 0; i < ntext; i++) p += sprintf(p, "%s", texts[i]);
    int *ids;
    t0 = now();
    int nbig = tokenizer_encode(t, big, 1, &ids);
    double dbig = now() - t0;
    char *back = tokenizer_decode(t, ids, nbig);
    EXPECT(nbig > 0 && strlen(back) > 0, "%s: long text encodes", name);
    printf("%s speed: %.1f us per text (%d texts, %.0f chars avg, %.1f pieces avg); "
           "%zu-byte text: %d pieces in %.1f ms\n",
           name, 1e6 * dt / (reps * ntext), ntext, (double)total / ntext,
           (double)pieces / (reps * ntext), strlen(big), nbig, 1e3 * dbig);
    free(back), free(ids), free(big);
    for (int i = 0; i < ntext; i++) free(texts[i]);
    free(texts);
    golden_free(lines, nl);
}

int main(void) {
    struct {
        const char *name, *model, *golden;
        int round_trip; /* decode(encode(text)) == text expected for plain text */
    } models[] = {
        {"tiny", "tests/fixtures/tokenizers/tiny.model", TOKENIZER_FIX "tiny.golden", 1},
        {"tiny_userdef", TOKENIZER_FIX "tiny_userdef.model", TOKENIZER_FIX "tiny_userdef.golden",
         1},
        {"tiny_nobytes", TOKENIZER_FIX "tiny_nobytes.model", TOKENIZER_FIX "tiny_nobytes.golden",
         0},
        {"tiny_strip", TOKENIZER_FIX "tiny_strip.model", TOKENIZER_FIX "tiny_strip.golden", 0},
        {"llama", LLAMA_MODEL, TOKENIZER_FIX "llama.golden", 1},
    };
    int have_llama = access(LLAMA_MODEL, R_OK) == 0;
    for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
        if (!strcmp(models[k].name, "llama") && !have_llama) continue;
        Tokenizer *t = tokenizer_load_model(models[k].model);
        check_golden(t, models[k].name, models[k].golden, models[k].round_trip);
        if (!strcmp(models[k].name, "tiny")) {
            EXPECT(tokenizer_size(t) == 400 && tokenizer_bos(t) == 1 && tokenizer_eos(t) == 2,
                   "tiny: size %d bos %d eos %d", tokenizer_size(t), tokenizer_bos(t),
                   tokenizer_eos(t));
            Tokenizer *r = rebuild(t);
            check_golden(r, "tiny (flat arrays)", models[k].golden, 1);
            tokenizer_free(r);
            check_errors();
            /* ids past the pieces (a padded embedding) decode to nothing */
            int *ids = NULL;
            int n = tokenizer_encode(t, "Hello world, 12 apples", 0, &ids);
            int *pad = malloc((size_t)(2 * n + 1) * sizeof(int)), m = 0;
            pad[m++] = 463;
            for (int i = 0; i < n; i++) pad[m++] = ids[i], pad[m++] = 400 + i;
            for (int sp = 0; sp < 2; sp++) {
                size_t la, lb;
                char *a = tokenizer_decode_len(t, ids, n, sp, &la);
                char *b = tokenizer_decode_len(t, pad, m, sp, &lb);
                EXPECT(la == lb && !memcmp(a, b, la),
                       "padded ids change the decode (sp %d): '%s' '%s'", sp, a, b);
                free(a), free(b);
            }
            free(ids), free(pad);
        }
        if (!strcmp(models[k].name, "llama")) {
            int len;
            const char *p = tokenizer_piece(t, 29871, &len);
            EXPECT(tokenizer_size(t) == 32000 && len == 3 && !memcmp(p, "\xe2\x96\x81", 3),
                   "llama: size %d, piece 29871 '%.*s'", tokenizer_size(t), len, p);
            p = tokenizer_piece(t, 13, &len);
            EXPECT(len == 6 && !memcmp(p, "<0x0A>", 6) && tokenizer_type(t, 13) == TOK_BYTE &&
                       tokenizer_piece(t, 32000, NULL) == NULL,
                   "llama: piece 13 '%.*s'", len, p);
        }
        if (!strcmp(models[k].name, "tiny") || !strcmp(models[k].name, "llama"))
            speed(t, models[k].name);
        tokenizer_free(t);
    }
    return golden_done("test_tokenizer", have_llama);
}
