/* Python str semantics (pytext), Python-identical JSON output (jsonio) and the VQA
 * answer normalisation (vqa_norm). Expected strings were checked against Python 3.11
 * and against LLaVA's m4c_evaluator.EvalAIAnswerProcessor (make_bench_fixtures.py
 * --official runs the same cases through it). */
#include <stdlib.h>
#include <string.h>

#include "eval/jsonio.h"
#include "text/pytext.h"
#include "eval/vqa_norm.h"
#include "test.h"

static void expect_str(const char *what, char *got, const char *want) {
    EXPECT(!strcmp(got, want), "%s: got [%s] want [%s]", what, got, want);
    free(got);
}

static void test_pytext(void) {
    expect_str("lower ascii", py_lower("Hello WORLD 42"), "hello world 42");
    expect_str("lower latin",
               py_lower("\xc3\x89"
                        "COLE \xc3\x85"
                        "SA"),
               "\xc3\xa9"
               "cole \xc3\xa5"
               "sa");
    expect_str("lower greek", py_lower("\xce\x91\xce\x92\xce\x93"), "\xce\xb1\xce\xb2\xce\xb3");
    expect_str("lower cyrillic", py_lower("\xd0\x9c\xd0\x98\xd0\xa0"), "\xd0\xbc\xd0\xb8\xd1\x80");
    /* U+0130 lowers to two characters: i + combining dot above */
    expect_str("lower dotted I", py_lower("\xc4\xb0x"), "i\xcc\x87x");
    /* fullwidth A, Latin Extended-A alternation (U+0100 -> U+0101, U+0101 stays) */
    expect_str("lower fullwidth", py_lower("\xef\xbc\xa1\xc4\x80\xc4\x81"),
               "\xef\xbd\x81\xc4\x81\xc4\x81");
    expect_str("strip unicode spaces", py_strip("\xe3\x80\x80 \t\n x y \xc2\xa0\x1f"), "x y");
    expect_str("strip keeps inner", py_strip("  a  b  "), "a  b");
    expect_str("strip empty", py_strip(" \n "), "");
    expect_str("rstrip dots", py_strip_chars("Yes...", ".", 0, 1), "Yes");
    expect_str("rstrip keeps left", py_strip_chars("..a.", ".", 0, 1), "..a");
    expect_str("slice code points", py_slice("\xc3\xa9t\xc3\xa9 yes", 0, 4), "\xc3\xa9t\xc3\xa9 ");
    expect_str("slice past end", py_slice("ab", 1, 9), "b");
    expect_str("replace", str_replace("a,b,,c", ",", ""), "abc");
    expect_str("replace grow", str_replace("it's", "'s", " 's"), "it 's");
    size_t n;
    char **w = py_split_ws("  one\ttwo\xe2\x80\x83three\n\n", &n);
    EXPECT(n == 3 && !strcmp(w[0], "one") && !strcmp(w[1], "two") && !strcmp(w[2], "three"),
           "split() on unicode whitespace: %zu parts", n);
    strv_free(w, n);
    w = py_split_ws(" \t ", &n);
    EXPECT(n == 0, "split() of blanks gives no parts (%zu)", n);
    strv_free(w, n);
    w = str_split("a  b", " ", &n);
    EXPECT(n == 3 && !strcmp(w[1], ""), "split(' ') keeps empty parts (%zu)", n);
    strv_free(w, n);
    w = str_split("", "\n", &n);
    EXPECT(n == 1 && !strcmp(w[0], ""), "''.split('\\n') == [''] (%zu)", n);
    strv_free(w, n);
    EXPECT(py_len("\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80") == 3, "len in code points");
    EXPECT(py_isdigit('7') && py_isdigit(0x0663) && py_isdigit(0xFF11) && !py_isdigit(0x00B2) &&
               !py_isdigit('x'),
           "re \\d: ASCII, Arabic-Indic, fullwidth digits; not superscript two");
    /* ill-formed UTF-8: one U+FFFD per maximal ill-formed part, as Python's
     * decode(errors="replace"): b"a\xe4\xb8b\xffc\xed\xa0\x80".decode(errors="replace") */
    expect_str("sanitize",
               utf8_sanitize("a\xe4\xb8"
                             "b\xff"
                             "c\xed\xa0\x80"),
               "a\xef\xbf\xbd"
               "b\xef\xbf\xbd"
               "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    expect_str("sanitize keeps valid", utf8_sanitize("\xef\xbf\xbd\xc3\xa9"),
               "\xef\xbf\xbd\xc3\xa9");
    EXPECT(py_isspace(0x1C) && py_isspace(0x85) && py_isspace(0x3000) && !py_isspace(0x200B),
           "str.isspace code points");
}

static void expect_dump(const char *what, json_t *v, int indent, const char *want) {
    char *got = pyjson_dumps(v, indent);
    EXPECT(!strcmp(got, want), "%s: got [%s] want [%s]", what, got, want);
    free(got);
    json_decref(v);
}

static void test_pyjson(void) {
    /* json.dumps({"q": 1, "t": "caf\u00e9 \"x\"\n\t\u0001\u007f\U0001F600/"}) */
    json_t *o = json_object();
    json_object_set_new(o, "q", json_integer(1));
    json_object_set_new(o, "t", json_string("caf\xc3\xa9 \"x\"\n\t\x01\x7f\xf0\x9f\x98\x80/\\"));
    expect_dump(
        "escapes", o, -1,
        "{\"q\": 1, \"t\": \"caf\\u00e9 \\\"x\\\"\\n\\t\\u0001\\u007f\\ud83d\\ude00/\\\\\"}");
    json_t *l = json_pack("[i,s,[],{},b,n]", 3, "a", 1);
    expect_dump("list", l, -1, "[3, \"a\", [], {}, true, null]");
    json_t *nested = json_pack("{s:[i,i],s:{s:s}}", "a", 1, 2, "b", "c", "d");
    expect_dump("indent 2", nested, 2,
                "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {\n    \"c\": \"d\"\n  }\n}");
    /* repr of floats */
    const struct {
        double x;
        const char *want;
    } floats[] = {{74.39283187927376, "74.39283187927376"},
                  {0.1, "0.1"},
                  {100.0, "100.0"},
                  {1e16, "1e+16"},
                  {1e15, "1000000000000000.0"},
                  {1e-05, "1e-05"},
                  {0.0001, "0.0001"},
                  {-2.5, "-2.5"},
                  {1.0 / 3, "0.3333333333333333"},
                  {123456789.125, "123456789.125"},
                  {-0.0, "-0.0"},
                  {2.5e-300, "2.5e-300"}};
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
        StrBuf b = {0};
        py_float_repr(&b, floats[i].x);
        EXPECT(!strcmp(b.s, floats[i].want), "repr(%.17g): got %s want %s", floats[i].x, b.s,
               floats[i].want);
        sb_free(&b);
    }
    /* question id keys follow Python equality */
    json_t *i1 = json_integer(1), *r1 = json_real(1.0), *s1 = json_string("1");
    char *k1 = json_id_key(i1), *k2 = json_id_key(r1), *k3 = json_id_key(s1);
    EXPECT(!strcmp(k1, k2) && strcmp(k1, k3), "1 == 1.0 != '1' as dict keys: %s %s %s", k1, k2, k3);
    char *s = json_id_str(i1);
    EXPECT(!strcmp(s, "1"), "str(1)");
    free(k1), free(k2), free(k3), free(s);
    json_decref(i1), json_decref(r1), json_decref(s1);
}

static void test_evalai(void) {
    /* input, EvalAIAnswerProcessor()(input) */
    static const char *const cases[][2] = {
        {"Dakota Digital.", "dakota digital"},
        {"Two dogs.", "2 dogs"},
        {"The red one", "red 1"},
        {"3.5", "3.5"},
        {"blue, green", "blue green"},
        {"1,000", "1000"},
        {"Don't stop!", "don't stop"},
        {"dont", "don't"},
        {"It's the man's hat", "it 's man 's hat"},
        {"a/b testing", "b testing"}, /* "a" and "b" become words: the article goes */
        {"(left)", "left"},
        {"x - y", "x y"},   /* " -" present: every '-' is removed */
        {"no-one", "no 1"}, /* no " -" nor "- ": '-' becomes a space */
        {"e.g. this", "eg this"},
        {"A. B. C.", "b c"},
        {"1.5.2", "1.5.2"}, /* periods before digits stay */
        {"twenty-two", "twenty 2"},
        {"Yes!!", "yes"},
        {"none", "0"},
        {"ten", "10"},
        {"What's that?", "what 's that"},
        {"  padded\tanswer\n", "padded answer"},
        {"n't", "n't"},
        {"Im here", "im here"}, /* lower-cased before the contraction table: "Im" never matches */
        {"\xc3\x89"
         "COLE",
         "\xc3\xa9"
         "cole"},
        {"\xc4\xb0stanbul", "i\xcc\x87stanbul"},
        {"\xef\xbc\x91.\xef\xbc\x92",
         "\xef\xbc\x91.\xef\xbc\x92"}, /* fullwidth digits count as \d */
        {"3.", "3"},
        {"........................................x", "........x"}, /* at most 32 periods go */
        {"somebody'd", "somebodyd"},
        {"let's go", "let 's go"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = vqa_evalai_normalize(cases[i][0]);
        EXPECT(!strcmp(got, cases[i][1]), "evalai(%s): got [%s] want [%s]", cases[i][0], got,
               cases[i][1]);
        free(got);
    }
    /* the comma rules: a digit,digit anywhere removes every punctuation mark */
    expect_str("comma run rule", vqa_process_punctuation("1,,2 a-b", VQA_COMMA_RUN), "12 ab");
    expect_str("single comma rule", vqa_process_punctuation("1,,2 a-b", VQA_COMMA_SINGLE),
               "1  2 a b");
    expect_str("server normalisation", vqa_server_normalize(" The Two\tcats. "), "2 cats");
    /* leave-one-out accuracy over 10 answers */
    char *gts[10] = {"a", "a", "a", "b", "b", "c", "c", "c", "c", "d"};
    EXPECT(test_close(vqa_leave_one_out("a", gts, 10), (3 * (2.0 / 3) + 7 * 1.0) / 10, 1e-15, 0),
           "3 matches: the 7 subsets without an 'a' removed see 3 (score 1), the 3 others 2 (2/3): "
           "got %.17g",
           vqa_leave_one_out("a", gts, 10));
    EXPECT(vqa_leave_one_out("c", gts, 10) == 1.0, "4 matches: always >= 3");
    EXPECT(
        test_close(vqa_leave_one_out("b", gts, 10), (8 * (2.0 / 3) + 2 * (1.0 / 3)) / 10, 1e-15, 0),
        "2 matches");
    EXPECT(vqa_leave_one_out("z", gts, 10) == 0.0, "no match");
}

int main(void) {
    test_pytext();
    test_pyjson();
    test_evalai();
    return test_done("test_eval_text");
}
