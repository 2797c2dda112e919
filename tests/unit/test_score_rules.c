/* The answer-parsing rules of the official scoring scripts, case by case (expected
 * values worked out by hand from the scripts' code):
 *   POPE (eval_pope.py), MME (calculation.py parse_pred_ans), ScienceQA
 *   (eval_science_qa.py), TextVQA's question recovery (eval_textvqa.py
 *   prompt_processor), GQA (convert_gqa_for_eval.py), MMBench (VLMEvalKit can_infer). */
#include <stdlib.h>
#include <string.h>

#include "eval/score_internal.h"
#include "test.h"

static void test_pope(void) {
    static const struct {
        const char *text;
        int yes;
    } cases[] = {
        {"Yes", 1},
        {"No", 0},
        {"No, there is not.", 0},   /* commas removed: "No" is a word */
        {"Yes. No dogs though", 1}, /* only the first sentence counts */
        {"There is no cat.", 0},
        {"I do not see one", 0}, /* "not" */
        {"NO", 1},               /* only "No", "no", "not" count */
        {"Not really", 1},       /* "Not" is not in the list */
        {"Nope.", 1},
        {"no,", 0},
        {"Yes, there is no bus", 0},
        {"Yes.No", 1},
        {"No\nthere is", 1}, /* split on single spaces: "No\nthere" is one word */
        {"There's none.", 1},
        {"", 1},
        {"no.", 0},
        {". no", 1}, /* first sentence is empty */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        EXPECT(pope_answer_is_yes(cases[i].text) == cases[i].yes, "POPE [%s] -> %s", cases[i].text,
               cases[i].yes ? "yes" : "no");
}

static void test_mme(void) {
    static const char *const cases[][2] = {
        {"Yes", "yes"},
        {"NO", "no"},
        {"yes, it is", "yes"},
        {"Not at all", "no"},
        {"There are two", "other"},
        {"maybe yes", "other"},
        {"YES!", "yes"},
        {"noo", "no"},
        {"Nope", "no"},
        {"I think yes", "other"},
        {"yesno", "yes"},
        {" no", "no"},
        {"n o", "other"},
        {"", "other"},
        {"\xc3\x89yes", "yes"}, /* first 4 characters, not bytes: "Éyes" */
        {"\xc3\xa9\xc3\xa9no", "no"},
        {"\xc3\xa9\xc3\xa9\xc3\xa9no", "other"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = mme_parse_answer(cases[i][0]);
        EXPECT(!strcmp(got, cases[i][1]), "MME [%s] -> %s (got %s)", cases[i][0], cases[i][1], got);
    }
}

static void test_sqa(void) {
    static const struct {
        const char *text;
        char want; /* 0 = FAILED */
    } cases[] = {
        {"A", 'A'},
        {"E", 'E'},
        {"F", 0},          /* not an option letter, no pattern */
        {"B. koala", 'B'}, /* "X. " prefix */
        {"B.", 0},         /* too short for the prefix rule */
        {"B.koala", 0},
        {"The answer is C.", 'C'},
        {"The answer is C", 0},    /* the pattern needs a character after the letter */
        {"The answer is C!", 'C'}, /* '.' in the pattern is any character */
        {"The answer is A. The answer is B.", 0}, /* two matches */
        {"The answer is Z.", 'Z'},                /* parsed, then out of range when scored */
        {"the answer is C.", 0},
        {"The answer is C\n", 0}, /* '.' does not match a newline */
        {"The answer is C\xc3\xa9", 'C'},
        {"a", 0},
        {"AB", 0},
        {"I think The answer is D.", 'D'},
        {"FAILED", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char got = sqa_parse_answer(cases[i].text);
        EXPECT(got == cases[i].want, "SQA [%s] -> %c (got %c)", cases[i].text,
               cases[i].want ? cases[i].want : '0', got ? got : '0');
    }
}

static void expect_q(const char *prompt, const char *want) {
    char *got = textvqa_prompt_question(prompt);
    EXPECT(want ? got && !strcmp(got, want) : got == NULL, "TextVQA question of [%s]: %s", prompt,
           got ? got : "(none)");
    free(got);
}

static void test_textvqa(void) {
    expect_q(
        "What is the Brand?\nReference OCR token: A, B\nAnswer the question using a single word "
        "or phrase.",
        "what is the brand?");
    expect_q("Reference OCR token: A, B\nWhat is it?\nAnswer briefly.", "what is it?");
    expect_q("What is it?\nAnswer the question using a single word or phrase.", "what is it?");
    expect_q("OCR tokens: a b Question: What Is it? Short answer:", "what is it?");
    expect_q("OCR tokens: a b Question: no end", NULL);
    expect_q("just one line", NULL);
    expect_q("a\nb\nc\nd", NULL);
    expect_q("a\nb\nc", NULL); /* three lines without an OCR line */
}

static void test_gqa(void) {
    static const char *const cases[][2] = {{"Yes.", "yes"},
                                           {"Left..", "left"},
                                           {"U.S.A.", "u.s.a"},
                                           {"DOG", "dog"},
                                           {". ", ". "},
                                           {"...", ""},
                                           {"\xc3\x89t\xc3\xa9.", "\xc3\xa9t\xc3\xa9"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = gqa_prediction(cases[i][0]);
        EXPECT(!strcmp(got, cases[i][1]), "GQA [%s] -> [%s] (got [%s])", cases[i][0], cases[i][1],
               got);
        free(got);
    }
}

static void test_mmbench(void) {
    const char *opts[] = {"cat", "dog", "bird", "fish"};
    static const struct {
        const char *text;
        char want; /* 0 = no rule matches */
    } cases[] = {
        {"A", 'A'},
        {"The answer is C", 'C'},
        {"B. cat", 'B'},      /* the letter wins over the text */
        {"A B", 0},           /* two letters, and no option text */
        {"It is a cat", 'A'}, /* lower-case "a" is no letter; option text */
        {"Cannot determine the answer", 'Z'},
        {"Z", 'Z'},
        {"cat or dog", 0}, /* two option texts */
        {"(D)", 'D'},
        {"D: fish", 'D'},
        {"Failed to obtain answer via API", 0},
        {"A fish", 'A'}, /* the letter rule comes first */
        {"BIRD", 'C'},
        {"E", 0}, /* not an option of this question */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char got = mmbench_infer(cases[i].text, opts, 4);
        EXPECT(got == cases[i].want, "MMBench [%s] -> %c (got %c)", cases[i].text,
               cases[i].want ? cases[i].want : '0', got ? got : '0');
    }
    const char *two[] = {"yes", "no"};
    EXPECT(mmbench_infer("C", two, 2) == 0, "C is no option of a two-option question");
    EXPECT(mmbench_infer("no", two, 2) == 'B', "option text 'no'");
}

int main(void) {
    test_pope();
    test_mme();
    test_sqa();
    test_textvqa();
    test_gqa();
    test_mmbench();
    return test_done("test_score_rules");
}
