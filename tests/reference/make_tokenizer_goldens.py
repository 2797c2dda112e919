r"""Write the expected outputs the C tokenizer and prompt tests compare against.

For every tokenizer model (the real LLaMA one when ../shared has it, the
project's tiny one, and small variants of the tiny one that switch on the
rarer rules), this writes tests/fixtures/tokenizer/<name>.golden with

  E  text  ids(LlamaTokenizer)  ids(sentencepiece)  decode(LlamaTokenizer)  decode(sentencepiece)
     for every line of corpus.txt and for random strings (fixed seed);
  B  bytes  ids(sentencepiece)
     raw byte strings that are not valid UTF-8 (sentencepiece only: a Python
     str cannot hold them, so LlamaTokenizer never sees them);
  D  ids  decode(LlamaTokenizer)  decode(sentencepiece)
     random id sequences, specials and byte pieces included;

and tests/fixtures/tokenizer/<name>.prompts with

  Q  has_image  question  prompt  ids     the vicuna_v1 prompt and its spliced ids
  P  prompt  ids                          LLaVA's tokenizer_image_token on a raw prompt

Fields are separated by tabs, id lists by spaces (BOS included: that is what
the LLaVA tokenizer returns). Strings are escaped: \\ \n \t \r and \xHH for
the other control bytes (and, in B lines, for bytes >= 0x80); everything
else is literal UTF-8.

"LlamaTokenizer" is transformers 4.37.2's slow LlamaTokenizer(model,
legacy=False), which LLaVA-1.5 uses; "sentencepiece" is
SentencePieceProcessor(model) with the BOS id in front of encode() output.
The two agree on every text that contains no special-token string
("<s>", "</s>", "<unk>"); the script asserts it where the model keeps extra
whitespace (LLaMA's setting).

corpus.txt holds one case per line with escapes \n \t \r \s (space) \\
\xHH (ASCII) and \uXXXX, so that whitespace at either end and control
characters are visible in the file.

    tests/reference/.venv/bin/python tests/reference/make_tokenizer_goldens.py
"""
import hashlib
import os
import random
import sys

import sentencepiece as spm
from transformers import LlamaTokenizer
from transformers.convert_slow_tokenizer import import_protobuf
from transformers.utils import logging as hf_logging

hf_logging.set_verbosity_error()
# transformers' copy of sentencepiece_model.proto (LlamaTokenizer loads it too; a second copy
# from the sentencepiece package would clash in the protobuf descriptor pool).
pb = import_protobuf()

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "tests", "fixtures", "tokenizer")
LLAMA = os.path.join(ROOT, "..", "shared", "tokenizers", "llama", "tokenizer.model")
TINY = os.path.join(ROOT, "tests", "fixtures", "tokenizers", "tiny.model")

IMAGE_TOKEN_INDEX = -200
SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. The assistant gives "
          "helpful, detailed, and polite answers to the user's questions.")
SPECIALS = ("<s>", "</s>", "<unk>")


def parse_corpus_line(s):
    out, i = [], 0
    simple = {"n": "\n", "t": "\t", "r": "\r", "s": " ", "\\": "\\"}
    while i < len(s):
        c = s[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = s[i + 1]
        if e in simple:
            out.append(simple[e])
            i += 2
        elif e == "x":
            v = int(s[i + 2:i + 4], 16)
            assert v < 0x80, s
            out.append(chr(v))
            i += 4
        elif e == "u":
            out.append(chr(int(s[i + 2:i + 6], 16)))
            i += 6
        else:
            raise ValueError(f"corpus.txt: unknown escape \\{e} in {s!r}")
    return "".join(out)


def esc_bytes(b):
    out = []
    for v in b:
        if v == 0x5C:
            out.append("\\\\")
        elif v == 0x0A:
            out.append("\\n")
        elif v == 0x09:
            out.append("\\t")
        elif v == 0x0D:
            out.append("\\r")
        elif v < 0x20 or v == 0x7F:
            out.append("\\x%02X" % v)
        else:
            out.append(chr(v) if v < 0x80 else None)
    return out


def esc(s):
    """Escapes a str: the escapes above, non-ASCII left as UTF-8."""
    out = []
    for ch in s:
        if ord(ch) < 0x80:
            out.extend(esc_bytes(ch.encode()))
        else:
            out.append(ch)
    return "".join(out)


def esc_raw(b):
    """Escapes bytes that may not be UTF-8: every byte >= 0x80 as \\xHH."""
    return "".join(x if x is not None else "\\x%02X" % v for x, v in zip(esc_bytes(b), b))


def ids_str(ids):
    return " ".join(str(i) for i in ids)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# --- test model variants -----------------------------------------------------------------

def load_proto(path):
    m = pb.ModelProto()
    with open(path, "rb") as f:
        m.ParseFromString(f.read())
    return m


def write_proto(m, name):
    path = os.path.join(FIX, name)
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    return path


def make_variants():
    """Small models derived from tiny.model that switch on the rules tiny.model lacks."""
    T = pb.ModelProto.SentencePiece
    out = {}
    # User-defined pieces (matched greedily, never merged) and unused pieces (merged, then
    # split back into the two symbols they were made of).
    m = load_proto(TINY)
    unused = {"he", "▁the", "stio", "wer", "▁questio", "er"}
    for p in m.pieces:
        if p.piece in unused:
            p.type = T.UNUSED
    for s in ["<image>", "USER:", "▁xy", "xyz", "xyzw", "a b"]:
        p = m.pieces.add()
        p.piece, p.score, p.type = s, 0.0, T.USER_DEFINED
    # Normal pieces that merges could only form across a user-defined piece: they must not.
    for s in ["xyza", "▁<image>", "R:"]:
        p = m.pieces.add()
        p.piece, p.score, p.type = s, 1.0, T.NORMAL
    out["tiny_userdef"] = write_proto(m, "tiny_userdef.model")
    # No byte fallback: unknown characters give <unk>, runs of them a single <unk>.
    m = load_proto(TINY)
    keep = [p for p in m.pieces if p.type != T.BYTE]
    del m.pieces[:]
    m.pieces.extend(keep)
    m.trainer_spec.byte_fallback = False
    out["tiny_nobytes"] = write_proto(m, "tiny_nobytes.model")
    # remove_extra_whitespaces: leading, trailing and repeated spaces dropped.
    m = load_proto(TINY)
    m.normalizer_spec.remove_extra_whitespaces = True
    out["tiny_strip"] = write_proto(m, "tiny_strip.model")
    # Models the engine must refuse (no goldens: the C test checks the error).
    m = load_proto(TINY)
    m.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    write_proto(m, "bad_unigram.model")
    m = load_proto(TINY)
    m.normalizer_spec.name = "nmt_nfkc"
    m.normalizer_spec.precompiled_charsmap = b"\x04\x00\x00\x00abcdxyz"
    write_proto(m, "bad_nfkc.model")
    return out


# --- reference tokenizers ----------------------------------------------------------------

class Ref:
    def __init__(self, path):
        self.sp = spm.SentencePieceProcessor(model_file=path)
        self.hf = LlamaTokenizer(path, legacy=False)
        self.bos = self.sp.bos_id()

    def enc_hf(self, text):
        return self.hf(text).input_ids

    def enc_sp(self, text):
        return [self.bos] + self.sp.encode(text)

    def dec_hf(self, ids):
        return self.hf.decode(ids, skip_special_tokens=True)

    def dec_sp(self, ids):
        return self.sp.decode(ids)

    def image_token(self, prompt):
        """LLaVA's mm_utils.tokenizer_image_token (llava/mm_utils.py), for transformers 4.37."""
        chunks = [self.hf(c).input_ids for c in prompt.split("<image>")]
        out, offset = [], 0
        if chunks and chunks[0] and chunks[0][0] == self.hf.bos_token_id:
            offset = 1
            out.append(chunks[0][0])
        sep = [IMAGE_TOKEN_INDEX] * (offset + 1)
        seq = []
        for c in chunks:
            seq += [c, sep]
        for x in seq[:-1]:
            out.extend(x[offset:])
        return out


def random_texts(rng, n):
    pool = (list("abcdefghijklmnopqrstuvwxyz") * 4 + list("ABCDEFGHIJKLMNOPQRSTUVWXYZ") +
            list("0123456789") * 2 + list(" " * 30) + list("\t\n.,;:!?'\"()-<>/\\") +
            list("éèüßñçÅ") + list("日本語中文字") + list("Жжя") + ["▁", "😀", "€", "𝄞", "\u0301"] +
            ["<s>", "</s>", "<unk>", "the ", " the", "question", "Answer", "USER: "])
    out = []
    for _ in range(n):
        k = rng.randrange(0, 40)
        out.append("".join(rng.choice(pool) for _ in range(k)))
    return out


def random_id_seqs(rng, ref, n):
    vocab = ref.sp.get_piece_size()
    special = [i for i in range(vocab) if ref.sp.is_control(i) or ref.sp.is_unknown(i)]
    byte = [i for i in range(vocab) if ref.sp.is_byte(i)]
    ws = [i for i in range(vocab) if set(ref.sp.id_to_piece(i)) == {"▁"}]
    out = [[], special[:1], ws[:1], byte[:2] if byte else []]
    for _ in range(n):
        seq = []
        for _ in range(rng.randrange(1, 12)):
            r = rng.random()
            src = special if r < 0.15 else byte if r < 0.4 and byte else ws if r < 0.5 else None
            seq.append(rng.choice(src) if src else rng.randrange(vocab))
        out.append(seq)
    # Byte pieces that form valid, truncated and invalid UTF-8 sequences.
    if byte:
        b = {ref.sp.id_to_piece(i): i for i in byte}
        enc = lambda bs: [b["<0x%02X>" % x] for x in bs]
        for bs in ["日".encode(), "日".encode()[:2], b"\xff", b"\xc3", b"\xc3\x28", b"\xe2\x82",
                   b"\xf0\x9f\x98\x80", b"\xed\xa0\x80", b"\xc0\xaf", b"A\x80B", b"\xf4\x90\x80\x80"]:
            out.append(enc(bs))
            out.append([ws[0]] + enc(bs) + [ws[0]])
    return out


RAW_BYTES = [b"ab\xffc", b"\xff", b"\xc3\x28 x", b"caf\xc3\xa9 \xe6\x97", b"\xed\xa0\x80 surrogate",
             b"\xf0\x9f\x98 cut emoji", b"\xc0\xaf overlong", b" \x80\x80\x80 ", b"ok \xef\xbf\xbd ok"]


def prompt_questions():
    science = ("Context: The diagram shows a food web.\nWhich organism is a producer?\n"
               "A. grass\nB. rabbit\nC. fox\nAnswer with the option's letter from the given choices directly.")
    mmbench_cn = ("图中的动物是什么？\nA. 猫\nB. 狗\nC. 鸟\nD. 鱼\n请直接回答选项字母。")
    mmbench = ("Hint: Look at the picture.\nWhat is the main color of the car?\nA. red\nB. blue\nC. green\nD. white\n"
               "Answer with the option's letter from the given choices directly.")
    return [
        ("What color is the cat?\nAnswer the question using a single word or phrase.", 1),
        ("Is there a dog in the image? Please answer yes or no.", 1),
        ("Describe the image in detail.", 1),
        (science, 1),
        (science, 0),
        (mmbench, 1),
        (mmbench_cn, 1),
        ("How many people are there?  Two spaces, a tab\tand trailing space ", 1),
        ("What is 3.14 times 2024?", 0),
        ("Tell me a joke.", 0),
        ("Contains <s> and </s> strings.", 1),
        ("", 1),
        ("", 0),
    ]


RAW_PROMPTS = ["<image>", "<image><image>", "a<image>b<image>c", "<image>\nWhat is this?", "no image here",
               "", "text then <image>", " <image> ", "<image>\n<image>\n two images", "<ima ge> not a tag"]


def vicuna_v1(question, has_image):
    user = ("<image>\n" + question) if has_image else question
    return f"{SYSTEM} USER: {user} ASSISTANT:"


# --- writing -----------------------------------------------------------------------------

def write_goldens(name, path, corpus, plain_agree):
    ref = Ref(path)
    rng = random.Random(20240501)
    rel = os.path.relpath(path, ROOT)
    lines = [f"# {name}: expected tokenizer outputs for {rel} (sha256 {sha256(path)})",
             "# written by tests/reference/make_tokenizer_goldens.py; format in its docstring"]
    texts = corpus + random_texts(rng, 150)
    n_diff = n_round = 0
    for t in texts:
        hf, sp = ref.enc_hf(t), ref.enc_sp(t)
        if not any(s in t for s in SPECIALS):
            if hf != sp:
                n_diff += 1
                if plain_agree:
                    sys.exit(f"{name}: LlamaTokenizer and sentencepiece differ on {t!r}: {hf} vs {sp}")
        dhf, dsp = ref.dec_hf(hf), ref.dec_sp(sp)
        if dhf == t:
            n_round += 1
        lines.append("\t".join(["E", esc(t), ids_str(hf), ids_str(sp), esc(dhf), esc(dsp)]))
    for b in RAW_BYTES:
        lines.append("\t".join(["B", esc_raw(b), ids_str([ref.bos] + ref.sp.encode(b))]))
    for ids in random_id_seqs(rng, ref, 150):
        lines.append("\t".join(["D", ids_str(ids), esc(ref.dec_hf(ids)), esc(ref.dec_sp(ids))]))
    with open(os.path.join(FIX, name + ".golden"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")

    plines = [f"# {name}: expected vicuna_v1 prompts and spliced ids for {rel}",
              "# written by tests/reference/make_tokenizer_goldens.py; format in its docstring"]
    for q, img in prompt_questions():
        p = vicuna_v1(q, img)
        plines.append("\t".join(["Q", str(img), esc(q), esc(p), ids_str(ref.image_token(p))]))
    for p in RAW_PROMPTS:
        plines.append("\t".join(["P", esc(p), ids_str(ref.image_token(p))]))
    with open(os.path.join(FIX, name + ".prompts"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(plines) + "\n")
    print(f"{name}: {len(texts)} texts ({n_diff} plain texts where LlamaTokenizer != sentencepiece, "
          f"{n_round} decode round trips exact), {len(RAW_BYTES)} byte strings, "
          f"{len(lines) - 2 - len(texts) - len(RAW_BYTES)} decode cases, {len(plines) - 2} prompts")


def main():
    with open(os.path.join(FIX, "corpus.txt"), encoding="utf-8") as f:
        corpus = [parse_corpus_line(l.rstrip("\n")) for l in f]
    models = {}
    if os.path.exists(LLAMA):
        models["llama"] = (LLAMA, True)
    else:
        print(f"note: {LLAMA} absent, llama goldens kept as they are")
    models["tiny"] = (TINY, True)
    variants = make_variants()
    models["tiny_userdef"] = (variants["tiny_userdef"], True)
    models["tiny_nobytes"] = (variants["tiny_nobytes"], True)
    models["tiny_strip"] = (variants["tiny_strip"], False)
    for name, (path, agree) in models.items():
        write_goldens(name, path, corpus, agree)


if __name__ == "__main__":
    main()
