#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets, tests/fuzz/corpus/<target>/,
from the test fixtures (small files only). Run from the repository root with
a Python that has h5py (/usr/bin/python3 here); the output is committed, so
this is only needed when the fixtures or an input layout change."""
import glob, os, shutil, struct, sys

import h5py

OUT = "tests/fuzz/corpus"
MAX = 16384  # bytes: seeds stay small so the replay stays fast


def put(target, name, data):
    os.makedirs(os.path.join(OUT, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX:
        return
    with open(os.path.join(OUT, target, name), "wb") as f:
        f.write(data)


def copy(target, paths):
    for p in paths:
        with open(p, "rb") as f:
            put(target, os.path.basename(p), f.read())


def main():
    copy("yaml", glob.glob("tests/fixtures/yaml/*.yaml") + glob.glob("tests/fixtures/jobs/*.yaml")
         + glob.glob("configs/*.yaml") + glob.glob("jobs/*.yaml"))
    b = "tests/fixtures/bench/"
    copy("questions", [b + "pope/llava_pope_test.jsonl", b + "sqa/llava_test_CQM-A.json",
                       b + "mmbench/mmbench_dev_20230712.tsv", b + "mmbench_cn/mmbench_dev_cn_20231003.tsv",
                       b + "llava_bench/questions.jsonl", b + "seed/llava-seed-bench.jsonl",
                       b + "gqa/llava_gqa_testdev_balanced.jsonl"])
    copy("image", glob.glob("tests/fixtures/images/*") + glob.glob("tests/fixtures/pillow/img/*"))
    text = "USER: <image>\nWhat is in the image? Ünïcödé 漢字 \t  spaces\n ASSISTANT:".encode()
    for m in sorted(glob.glob("tests/fixtures/models/*/model.h5")):
        name = m.split("/")[-2]
        with h5py.File(m, "r") as f:
            lines = []
            for k, v in sorted(f.attrs.items()):
                if isinstance(v, (bytes, str)):
                    lines.append('%s="%s"' % (k, v.decode() if isinstance(v, bytes) else v))
                elif getattr(v, "shape", ()) != () and len(v) > 1:
                    lines.append("%s=%s" % (k, ",".join(repr(float(x)) for x in v)))
                elif "float" in str(getattr(v, "dtype", "")):
                    lines.append("%s=%r" % (k, float(v)))
                else:
                    lines.append("%s=%d" % (k, int(v)))
            put("weights", name + ".txt", "\n".join(lines) + "\n")
            g = f["tokenizer"]
            a = g.attrs
            head = struct.pack("<5b4hH", int(a["model_type"]), int(a["add_dummy_prefix"]),
                               int(a["remove_extra_whitespaces"]), int(a["escape_whitespaces"]),
                               int(a["byte_fallback"]), int(a["unk_id"]), int(a["bos_id"]),
                               int(a["eos_id"]), int(a["pad_id"]), len(g["types"]))
            blob, off = g["pieces"][:].tobytes(), g["offsets"][:]
            body = b"".join(struct.pack("<BfB", int(t), float(s), int(off[i + 1] - off[i]))
                            + blob[off[i]:off[i + 1]]
                            for i, (t, s) in enumerate(zip(g["types"][:], g["scores"][:])))
            put("tokenizer", name + ".bin", head + body + text)


if __name__ == "__main__":
    sys.exit(main())
