"""Train the tiny SentencePiece BPE tokenizer used by the test fixtures.

The settings are LLaMA's (BPE, byte fallback, digits split, dummy prefix,
identity normaliser, whitespace kept as is), only the vocabulary is tiny (400
pieces), so the fixtures exercise every rule of the real tokenizer: merges,
byte fallback for rare characters, control pieces and digit splitting.
The corpus is generated from a fixed seed and training runs on one thread,
so the output file is reproducible.

    python tests/reference/make_tokenizer.py [--out tests/fixtures/tokenizers/tiny.model]
"""
import argparse
import os
import random
import tempfile

import sentencepiece as spm

COLORS = ["red", "green", "blue", "yellow", "orange", "purple", "black", "white", "gray", "pink", "brown"]
SHAPES = ["circle", "square", "triangle", "star", "rectangle", "diamond", "hexagon", "line"]
OBJECTS = ["cat", "dog", "car", "tree", "house", "book", "table", "chair", "ball", "cup", "bird", "phone",
           "person", "bus", "train", "boat", "window", "door", "flower", "sign"]
PLACES = ["on the left", "on the right", "in the middle", "at the top", "at the bottom", "near the corner"]
QUESTIONS = [
    "What color is the {s}?",
    "Is there a {s} in the image?",
    "How many {s}s are there?",
    "Where is the {c} {s}?",
    "What is {p}?",
    "Is the {o} {c}?",
    "What shape is {p}?",
    "Describe the image in detail.",
    "What is the man holding?",
    "Which object is bigger, the {o} or the {o2}?",
]
ANSWERS = ["Yes", "No", "A", "B", "C", "D", "Red", "Blue", "Green", "Two", "Three"]
RARE = ["café", "naïve", "über", "façade", "señor", "résumé", "°C", "€5", "—", "…", "→", "日本", "Ω", "π≈3.14"]


SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. The assistant gives "
          "helpful, detailed, and polite answers to the user's questions.")
SUFFIX = "Answer the question using a single word or phrase."


def sentence(rng):
    if rng.random() < 0.005:
        # Rare characters: they fall under the character coverage and use byte fallback.
        return f"A {rng.choice(COLORS)} {rng.choice(OBJECTS)} near the {rng.choice(RARE)} sign,  with  two  spaces."
    if rng.random() < 0.3:
        # The vicuna_v1 chat template, so the test prompts tokenize into few pieces.
        q = sentence(rng)
        return f"{SYSTEM} USER: {q} {SUFFIX} ASSISTANT: {rng.choice(ANSWERS)}"
    c, s, o, o2, p = (rng.choice(COLORS), rng.choice(SHAPES), rng.choice(OBJECTS), rng.choice(OBJECTS),
                      rng.choice(PLACES))
    k = rng.randrange(9)
    if k < 3:
        return rng.choice(QUESTIONS).format(c=c, s=s, o=o, o2=o2, p=p)
    if k < 5:
        return f"There {'is' if rng.random() < 0.5 else 'are'} {rng.randint(0, 120)} {c} {s}s {p}."
    if k < 6:
        return f"The {o} is {c} and the {o2} is {rng.choice(COLORS)}. {rng.choice(ANSWERS)}."
    if k < 7:
        opts = " ".join(f"{l}. {rng.choice(COLORS)}" for l in "ABCD")
        return f"What color is the {s}?\n{opts}\nAnswer with the option's letter from the given choices directly."
    if k < 8:
        return f"Answer the question using a single word or phrase. {rng.choice(ANSWERS)}"
    return f"In {rng.randint(1900, 2024)}, {rng.randint(2, 99)} {o}s cost {rng.randint(1, 999)}.{rng.randint(0, 99)} dollars."


def corpus(n=6000, seed=1234):
    rng = random.Random(seed)
    return [sentence(rng) for _ in range(n)]


def train(out_path, seed=1234):
    lines = corpus(seed=seed)
    out_path = os.path.abspath(out_path)
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        # Relative names: the trainer records them in the model file.
        os.chdir(tmp)
        with open("corpus.txt", "w", encoding="utf-8") as f:
            for line in lines:
                f.write(line.replace("\n", " ") + "\n")
        prefix = "tiny"
        spm.SentencePieceTrainer.train(
            input="corpus.txt", model_prefix=prefix, model_type="bpe", vocab_size=400,
            byte_fallback=True, split_digits=True, add_dummy_prefix=True,
            remove_extra_whitespaces=False, normalization_rule_name="identity",
            allow_whitespace_only_pieces=True, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
            character_coverage=0.9995, num_threads=1, shuffle_input_sentence=False,
            input_sentence_size=0, seed_sentencepiece_size=100000, minloglevel=2)
        with open(prefix + ".model", "rb") as f:
            data = f.read()
        os.chdir(cwd)
    os.makedirs(os.path.dirname(out_path) or ".", exist_ok=True)
    with open(out_path, "wb") as f:
        f.write(data)
    return out_path


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(root, "tests/fixtures/tokenizers/tiny.model"))
    args = ap.parse_args()
    path = train(args.out)
    sp = spm.SentencePieceProcessor(model_file=path)
    print(f"{path}: {sp.get_piece_size()} pieces")


if __name__ == "__main__":
    main()
