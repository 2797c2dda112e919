"""Does the tokenizer.json that transformers 5.x saves for LLaMA give sentencepiece's ids?

Saves the LLaMA tokenizer (../shared/tokenizers/llama/tokenizer.model) with
transformers 5.x's AutoTokenizer, then encodes every text of the tokenizer golden
(tests/fixtures/tokenizer/llama.golden, E lines) with the saved tokenizer.json
alone (the tokenizers library, BOS put in front) and prints the texts whose ids
differ from those of transformers 4.37's slow LlamaTokenizer (the tokenizer LLaVA-1.5
uses; the golden's first id list) and from sentencepiece's (its second). The result is why tools/convert.py
refuses a checkpoint that has tokenizer.json but no tokenizer.model
(docs/decisions.md, "tokenizer.json").

    ~/.cache/hyperllava-tf5/bin/python tests/reference/check_tokenizer_json.py
"""
import json
import os
import shutil
import sys
import tempfile

from tokenizers import Tokenizer
from transformers import AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
MODEL = os.path.normpath(os.path.join(ROOT, "..", "shared", "tokenizers", "llama", "tokenizer.model"))


def unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            c = s[i + 1]
            if c in "nrt\\":
                out.append({"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}[c])
                i += 2
                continue
            if c == "x":
                out.append(chr(int(s[i + 2:i + 4], 16)))
                i += 4
                continue
        out.append(s[i])
        i += 1
    return "".join(out)


def main():
    if not os.path.isfile(MODEL):
        sys.exit(f"{MODEL}: not here")
    work = tempfile.mkdtemp()
    try:
        shutil.copy(MODEL, work)
        with open(os.path.join(work, "tokenizer_config.json"), "w") as f:
            json.dump({"tokenizer_class": "LlamaTokenizer"}, f)
        AutoTokenizer.from_pretrained(work).save_pretrained(os.path.join(work, "saved"))
        saved = os.listdir(os.path.join(work, "saved"))
        tok = Tokenizer.from_file(os.path.join(work, "saved", "tokenizer.json"))
    finally:
        shutil.rmtree(work)
    print("transformers 5.x saved:", " ".join(sorted(saved)))
    n = differ = differ_sp = 0
    for line in open(os.path.join(ROOT, "tests", "fixtures", "tokenizer", "llama.golden"), encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        if f[0] != "E":
            continue
        text, llama, sp = unescape(f[1]), [int(x) for x in f[2].split()], [int(x) for x in f[3].split()]
        got = [1] + tok.encode(text, add_special_tokens=False).ids
        n += 1
        differ_sp += got != sp
        if got != llama:
            differ += 1
            print(f"differs: {text!r}\n  LlamaTokenizer  {llama}\n  tokenizer.json  {got}")
    print(f"{differ} of {n} golden texts get other ids from tokenizer.json than from LlamaTokenizer "
          f"(LLaVA's), {differ_sp} than from sentencepiece")


if __name__ == "__main__":
    main()
