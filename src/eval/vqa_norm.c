/* VQA answer normalisation (EvalAI / vqaEval rules) and soft accuracy; see vqa_norm.h. */
#include "eval/vqa_norm.h"

#include <stdlib.h>
#include <string.h>

#include "text/pytext.h"
#include "util/check.h"

static const char *const punctuations[] = {";",  "/", "[", "]", "\"", "{", "}", "(", ")", "=", "+",
                                           "\\", "_", "-", ">", "<",  "@", "`", ",", "?", "!"};

static const char *const number_words[][2] = {
    {"none", "0"}, {"zero", "0"}, {"one", "1"},   {"two", "2"},   {"three", "3"}, {"four", "4"},
    {"five", "5"}, {"six", "6"},  {"seven", "7"}, {"eight", "8"}, {"nine", "9"},  {"ten", "10"},
};

static const char *const articles[] = {"a", "an", "the"};

/* Contraction fixes of the official table (apostrophe-less spelling -> spelling with it),
 * including its oddities: "let's" and "she's" map to themselves and "somebody'd" loses
 * its apostrophe. */
static const char *const contractions[][2] = {
    {"aint", "ain't"},
    {"arent", "aren't"},
    {"cant", "can't"},
    {"couldve", "could've"},
    {"couldnt", "couldn't"},
    {"couldn'tve", "couldn't've"},
    {"couldnt've", "couldn't've"},
    {"didnt", "didn't"},
    {"doesnt", "doesn't"},
    {"dont", "don't"},
    {"hadnt", "hadn't"},
    {"hadnt've", "hadn't've"},
    {"hadn'tve", "hadn't've"},
    {"hasnt", "hasn't"},
    {"havent", "haven't"},
    {"hed", "he'd"},
    {"hed've", "he'd've"},
    {"he'dve", "he'd've"},
    {"hes", "he's"},
    {"howd", "how'd"},
    {"howll", "how'll"},
    {"hows", "how's"},
    {"Id've", "I'd've"},
    {"I'dve", "I'd've"},
    {"Im", "I'm"},
    {"Ive", "I've"},
    {"isnt", "isn't"},
    {"itd", "it'd"},
    {"itd've", "it'd've"},
    {"it'dve", "it'd've"},
    {"itll", "it'll"},
    {"let's", "let's"},
    {"maam", "ma'am"},
    {"mightnt", "mightn't"},
    {"mightnt've", "mightn't've"},
    {"mightn'tve", "mightn't've"},
    {"mightve", "might've"},
    {"mustnt", "mustn't"},
    {"mustve", "must've"},
    {"neednt", "needn't"},
    {"notve", "not've"},
    {"oclock", "o'clock"},
    {"oughtnt", "oughtn't"},
    {"ow's'at", "'ow's'at"},
    {"'ows'at", "'ow's'at"},
    {"'ow'sat", "'ow's'at"},
    {"shant", "shan't"},
    {"shed've", "she'd've"},
    {"she'dve", "she'd've"},
    {"she's", "she's"},
    {"shouldve", "should've"},
    {"shouldnt", "shouldn't"},
    {"shouldnt've", "shouldn't've"},
    {"shouldn'tve", "shouldn't've"},
    {"somebody'd", "somebodyd"},
    {"somebodyd've", "somebody'd've"},
    {"somebody'dve", "somebody'd've"},
    {"somebodyll", "somebody'll"},
    {"somebodys", "somebody's"},
    {"someoned", "someone'd"},
    {"someoned've", "someone'd've"},
    {"someone'dve", "someone'd've"},
    {"someonell", "someone'll"},
    {"someones", "someone's"},
    {"somethingd", "something'd"},
    {"somethingd've", "something'd've"},
    {"something'dve", "something'd've"},
    {"somethingll", "something'll"},
    {"thats", "that's"},
    {"thered", "there'd"},
    {"thered've", "there'd've"},
    {"there'dve", "there'd've"},
    {"therere", "there're"},
    {"theres", "there's"},
    {"theyd", "they'd"},
    {"theyd've", "they'd've"},
    {"they'dve", "they'd've"},
    {"theyll", "they'll"},
    {"theyre", "they're"},
    {"theyve", "they've"},
    {"twas", "'twas"},
    {"wasnt", "wasn't"},
    {"wed've", "we'd've"},
    {"we'dve", "we'd've"},
    {"weve", "we've"},
    {"werent", "weren't"},
    {"whatll", "what'll"},
    {"whatre", "what're"},
    {"whats", "what's"},
    {"whatve", "what've"},
    {"whens", "when's"},
    {"whered", "where'd"},
    {"wheres", "where's"},
    {"whereve", "where've"},
    {"whod", "who'd"},
    {"whod've", "who'd've"},
    {"who'dve", "who'd've"},
    {"wholl", "who'll"},
    {"whos", "who's"},
    {"whove", "who've"},
    {"whyll", "why'll"},
    {"whyre", "why're"},
    {"whys", "why's"},
    {"wont", "won't"},
    {"wouldve", "would've"},
    {"wouldnt", "wouldn't"},
    {"wouldnt've", "wouldn't've"},
    {"wouldn'tve", "wouldn't've"},
    {"yall", "y'all"},
    {"yall'll", "y'all'll"},
    {"y'allll", "y'all'll"},
    {"yall'd've", "y'all'd've"},
    {"y'alld've", "y'all'd've"},
    {"y'all'dve", "y'all'd've"},
    {"youd", "you'd"},
    {"youd've", "you'd've"},
    {"you'dve", "you'd've"},
    {"youll", "you'll"},
    {"youre", "you're"},
    {"youve", "you've"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Code points of s (UTF-8) into a new array; *n = count. */
static uint32_t *decode_all(const char *s, size_t *n) {
    size_t m = strlen(s), i = 0, len, k = 0;
    uint32_t *cp = hl_malloc((m + 1) * sizeof *cp);
    while (i < m) cp[k++] = utf8_decode(s + i, m - i, &len), i += len;
    *n = k;
    return cp;
}

/* Does s contain digit, comma(s), digit? rule: a run of commas or exactly one. */
static int has_digit_comma_digit(const char *s, int comma_rule) {
    size_t n;
    uint32_t *c = decode_all(s, &n);
    int found = 0;
    for (size_t i = 1; i + 1 < n && !found; i++) {
        if (c[i] != ',' || !py_isdigit(c[i - 1])) continue;
        size_t j = i + 1;
        if (comma_rule == VQA_COMMA_RUN)
            while (j < n && c[j] == ',') j++;
        found = j < n && py_isdigit(c[j]);
    }
    free(c);
    return found;
}

char *vqa_process_punctuation(const char *in, int comma_rule) {
    int comma = has_digit_comma_digit(in, comma_rule);
    char *out = hl_strdup(in);
    for (size_t k = 0; k < COUNT(punctuations); k++) {
        const char *p = punctuations[k];
        char before[4], after[4];
        snprintf(after, sizeof after, "%s ", p);
        snprintf(before, sizeof before, " %s", p);
        int drop = strstr(in, after) || strstr(in, before) || comma;
        char *next = str_replace(out, p, drop ? "" : " ");
        free(out);
        out = next;
    }
    /* periods not followed by a digit go, at most 32 of them (re.UNICODE passed as count) */
    size_t n;
    uint32_t *c = decode_all(out, &n);
    StrBuf b = {0};
    int removed = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i] == '.' && removed < 32 && !(i + 1 < n && py_isdigit(c[i + 1]))) {
            removed++;
            continue;
        }
        sb_put_cp(&b, c[i]);
    }
    free(c);
    free(out);
    return sb_take(&b);
}

char *vqa_process_digit_article(const char *in) {
    char *low = py_lower(in);
    size_t n, m = 0;
    char **w = py_split_ws(low, &n);
    free(low);
    const char **kept = hl_malloc((n + 1) * sizeof *kept);
    for (size_t i = 0; i < n; i++) {
        const char *word = w[i];
        for (size_t k = 0; k < COUNT(number_words); k++)
            if (!strcmp(word, number_words[k][0])) word = number_words[k][1];
        int article = 0;
        for (size_t k = 0; k < COUNT(articles); k++) article |= !strcmp(word, articles[k]);
        if (!article) kept[m++] = word;
    }
    for (size_t i = 0; i < m; i++)
        for (size_t k = 0; k < COUNT(contractions); k++)
            if (!strcmp(kept[i], contractions[k][0])) {
                kept[i] = contractions[k][1];
                break;
            }
    char *out = str_join((char *const *)kept, m, " ");
    free(kept);
    strv_free(w, n);
    return out;
}

/* Applies replacements in order, freeing the intermediate strings. */
static char *replace_seq(char *s, const char *const pairs[][2], size_t n) {
    for (size_t i = 0; i < n; i++) {
        char *t = str_replace(s, pairs[i][0], pairs[i][1]);
        free(s);
        s = t;
    }
    return s;
}

char *vqa_evalai_normalize(const char *answer) {
    static const char *const tokenize[][2] = {{",", ""}, {"?", ""}, {"'s", " 's"}};
    static const char *const spaces[][2] = {{"\n", " "}, {"\t", " "}};
    char *s = replace_seq(py_lower(answer), tokenize, COUNT(tokenize));
    char *t = py_strip(s);
    free(s);
    t = replace_seq(t, spaces, COUNT(spaces));
    s = py_strip(t);
    free(t);
    t = vqa_process_punctuation(s, VQA_COMMA_RUN);
    free(s);
    s = vqa_process_digit_article(t);
    free(t);
    return s;
}

char *vqa_server_normalize(const char *answer) {
    static const char *const spaces[][2] = {{"\n", " "}, {"\t", " "}};
    char *s = replace_seq(hl_strdup(answer), spaces, COUNT(spaces));
    char *t = py_strip(s);
    free(s);
    s = vqa_process_punctuation(t, VQA_COMMA_SINGLE);
    free(t);
    t = vqa_process_digit_article(s);
    free(s);
    return t;
}

double vqa_leave_one_out(const char *pred, char *const *gts, size_t n) {
    if (n == 0) return 0.0;
    double sum = 0.0;
    size_t total = 0;
    for (size_t j = 0; j < n; j++) total += !strcmp(gts[j], pred);
    for (size_t i = 0; i < n; i++) {
        size_t others = total - (size_t)!strcmp(gts[i], pred);
        double acc = (double)others / 3.0;
        sum += acc < 1.0 ? acc : 1.0;
    }
    return sum / (double)n;
}
