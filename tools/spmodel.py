"""Reads a SentencePiece model file (tokenizer.model) without the library.

The file is a serialized `sentencepiece.ModelProto` (sentencepiece_model.proto,
proto2). Only the fields the engine needs are decoded:

    ModelProto      1 pieces (repeated SentencePiece), 2 trainer_spec, 3 normalizer_spec
    SentencePiece   1 piece (string), 2 score (float), 3 type (enum, default 1 NORMAL)
    TrainerSpec     3 model_type (default 1 UNIGRAM), 4 vocab_size, 24 treat_whitespace_as_suffix,
                    35 byte_fallback, 40 unk_id (0), 41 bos_id (1), 42 eos_id (2), 43 pad_id (-1)
    NormalizerSpec  1 name, 2 precompiled_charsmap, 3 add_dummy_prefix (true),
                    4 remove_extra_whitespaces (true), 5 escape_whitespaces (true),
                    6 normalization_rule_tsv

Defaults in parentheses are the proto's; a field absent from the file takes
its default. Unknown fields are skipped by wire type.
"""
import struct


class SpModelError(Exception):
    """A problem with the model file; the message names the file."""


BPE = 2


def _varint(buf, i):
    v = 0
    shift = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf):
    """Yields (field number, wire type, value) of one message; value is an int
    for varints and fixed types, bytes for length-delimited fields."""
    i = 0
    n = len(buf)
    while i < n:
        key, i = _varint(buf, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 1:
            if i + 8 > n:
                raise ValueError("truncated fixed64")
            v = buf[i:i + 8]
            i += 8
        elif wt == 2:
            ln, i = _varint(buf, i)
            if i + ln > n:
                raise ValueError("truncated length-delimited field")
            v = buf[i:i + ln]
            i += ln
        elif wt == 5:
            if i + 4 > n:
                raise ValueError("truncated fixed32")
            v = buf[i:i + 4]
            i += 4
        else:
            raise ValueError(f"unsupported wire type {wt}")
        yield field, wt, v


def _int32(v):
    """A varint holding an int32 (negative values are sign-extended to 64 bits)."""
    if v >= 1 << 63:
        v -= 1 << 64
    return v


def _expect(path, what, wt, want):
    if wt != want:
        raise SpModelError(f"{path}: field {what} has wire type {wt}, expected {want}")


def parse(data, path="tokenizer.model"):
    """Bytes of a .model file -> dict with pieces (list of bytes), scores, types,
    and the trainer/normalizer settings listed in the module header."""
    pieces, scores, types = [], [], []
    trainer = {"model_type": 1, "vocab_size": 8000, "treat_whitespace_as_suffix": 0, "byte_fallback": 0,
               "unk_id": 0, "bos_id": 1, "eos_id": 2, "pad_id": -1}
    tnum = {3: "model_type", 4: "vocab_size", 24: "treat_whitespace_as_suffix", 35: "byte_fallback",
            40: "unk_id", 41: "bos_id", 42: "eos_id", 43: "pad_id"}
    norm = {"name": None, "precompiled_charsmap": b"", "add_dummy_prefix": 1, "remove_extra_whitespaces": 1,
            "escape_whitespaces": 1, "normalization_rule_tsv": ""}
    nnum = {3: "add_dummy_prefix", 4: "remove_extra_whitespaces", 5: "escape_whitespaces"}
    try:
        for f, wt, v in _fields(data):
            if f == 1:
                _expect(path, "ModelProto.pieces", wt, 2)
                piece, score, ptype = b"", 0.0, 1
                for g, gwt, w in _fields(v):
                    if g == 1:
                        _expect(path, "SentencePiece.piece", gwt, 2)
                        piece = bytes(w)
                    elif g == 2:
                        _expect(path, "SentencePiece.score", gwt, 5)
                        (score,) = struct.unpack("<f", w)
                    elif g == 3:
                        _expect(path, "SentencePiece.type", gwt, 0)
                        ptype = _int32(w)
                pieces.append(piece)
                scores.append(score)
                types.append(ptype)
            elif f == 2:
                _expect(path, "ModelProto.trainer_spec", wt, 2)
                for g, gwt, w in _fields(v):
                    if g in tnum:
                        _expect(path, f"TrainerSpec.{tnum[g]}", gwt, 0)
                        trainer[tnum[g]] = _int32(w)
            elif f == 3:
                _expect(path, "ModelProto.normalizer_spec", wt, 2)
                for g, gwt, w in _fields(v):
                    if g == 1:
                        _expect(path, "NormalizerSpec.name", gwt, 2)
                        norm["name"] = bytes(w).decode("utf-8")
                    elif g == 2:
                        _expect(path, "NormalizerSpec.precompiled_charsmap", gwt, 2)
                        norm["precompiled_charsmap"] = bytes(w)
                    elif g == 6:
                        _expect(path, "NormalizerSpec.normalization_rule_tsv", gwt, 2)
                        norm["normalization_rule_tsv"] = bytes(w).decode("utf-8")
                    elif g in nnum:
                        _expect(path, f"NormalizerSpec.{nnum[g]}", gwt, 0)
                        norm[nnum[g]] = int(w != 0)
    except (ValueError, UnicodeDecodeError) as e:
        raise SpModelError(f"{path}: not a SentencePiece model ({e})") from None
    if not pieces:
        raise SpModelError(f"{path}: not a SentencePiece model (no pieces)")
    return {"pieces": pieces, "scores": scores, "types": types, "trainer": trainer, "normalizer": norm}


def load_bpe(path):
    """Reads `path` and checks that the engine can run it: a BPE model with the
    identity normalizer and whitespace as a prefix (LLaMA's settings)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SpModelError(f"{path}: {e.strerror}") from None
    m = parse(data, path)
    t, nm = m["trainer"], m["normalizer"]
    if t["model_type"] != BPE:
        kind = {1: "unigram", 2: "bpe", 3: "word", 4: "char"}.get(t["model_type"], str(t["model_type"]))
        raise SpModelError(f"{path}: model type is {kind}; only BPE models are supported")
    if nm["name"] not in (None, "identity") or nm["precompiled_charsmap"] or nm["normalization_rule_tsv"]:
        raise SpModelError(f"{path}: normalizer is {nm['name'] or 'a custom rule set'}; only the identity "
                           "normalizer is supported")
    if t["treat_whitespace_as_suffix"]:
        raise SpModelError(f"{path}: treat_whitespace_as_suffix is set; it is not supported")
    n = len(m["pieces"])
    for key in ("unk_id", "bos_id", "eos_id", "pad_id"):
        if not -1 <= t[key] < n:
            raise SpModelError(f"{path}: {key} {t[key]} is outside the {n} pieces")
    return m
