/* hyperllava tokenize: the token ids the engine feeds the model for a
 * question, to hold against LLaVA's
 * tokenizer_image_token(prompt, tokenizer, IMAGE_TOKEN_INDEX). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "run/model_file.h"
#include "text/prompt.h"
#include "util/check.h"

static const char *help =
    "usage: hyperllava tokenize --model FILE (--prompt Q | --text RAW) [--json] [--no-image]\n"
    "Prints the token ids of a prompt, as generate computes them.\n"
    "  --model FILE      HDF5 weight file (its /tokenizer group is used)\n"
    "  --prompt TEXT     a question: it goes into the vicuna_v1 template with <image>, as\n"
    "                    generate does, and is split at <image> like LLaVA's\n"
    "                    tokenizer_image_token (the image position is -200)\n"
    "  --no-image        the template without <image> (a text-only request)\n"
    "  --text TEXT       raw text, tokenized as it is (LlamaTokenizer, BOS first)\n"
    "  --json            {\"prompt\", \"ids\", \"pieces\"} instead of the bare ids\n"
    "Output: the ids on one line, separated by spaces.\n";

static json_t *piece_json(const Tokenizer *tok, int id, const char *model) {
    if (id == HL_IMAGE_TOKEN) return json_string(HL_IMAGE_TAG);
    int len = 0;
    const char *p = tokenizer_piece(tok, id, &len);
    if (!p)
        hl_fail("%s: token id %d is outside the tokenizer (%d pieces)", model, id,
                tokenizer_size(tok));
    json_t *s = json_stringn(p, (size_t)len);
    if (!s) hl_fail("%s: piece %d is not valid UTF-8", model, id);
    return s;
}

int cmd_tokenize(int argc, char **argv) {
    const char *C = "tokenize";
    const char *model = NULL, *question = NULL, *text = NULL;
    int as_json = 0, no_image = 0;
    const Opt opts[] = {
        {"--model", OPT_STR, &model, 0, NULL},        {"--prompt", OPT_STR, &question, 0, NULL},
        {"--text", OPT_STR, &text, 0, NULL},          {"--json", OPT_FLAG, &as_json, 0, NULL},
        {"--no-image", OPT_FLAG, &no_image, 0, NULL}, {0}};
    args_parse(&(ArgsCmd){.name = C, .help = help}, opts, argc, argv);
    if (!model) hl_fail("tokenize: no --model given");
    if (question && text) hl_fail("tokenize: give either --prompt or --text, not both");
    if (!question && !text) hl_fail("tokenize: no --prompt or --text given");
    if (text && no_image) hl_fail("tokenize: --no-image applies to --prompt only");
    if (question && !question[0]) hl_fail("tokenize: --prompt is empty");
    if (text && !text[0]) hl_fail("tokenize: --text is empty");

    Tokenizer *tok = model_file_load_tokenizer(model);
    char *prompt;
    int *ids, n;
    if (question) {
        prompt = prompt_vicuna_v1(question, !no_image);
        n = prompt_tokenize(tok, prompt, &ids);
    } else {
        prompt = hl_strdup(text);
        n = tokenizer_encode(tok, prompt, 1, &ids);
    }
    if (as_json) {
        json_t *ja = json_array(), *jp = json_array();
        for (int i = 0; i < n; i++) {
            json_array_append_new(ja, json_integer(ids[i]));
            json_array_append_new(jp, piece_json(tok, ids[i], model));
        }
        json_t *js = json_string(prompt);
        if (!js) hl_fail("tokenize: the prompt is not valid UTF-8");
        json_t *o = json_pack("{s:o, s:o, s:o}", "prompt", js, "ids", ja, "pieces", jp);
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        for (int i = 0; i < n; i++) printf("%s%d", i ? " " : "", ids[i]);
        printf("\n");
    }
    free(ids), free(prompt);
    tokenizer_free(tok);
    return 0;
}
