"""Digests of a tensor as the fixture scripts record them (both transformers
venvs import this; it needs only numpy and torch)."""
import hashlib

import numpy as np
import torch


def sha(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def digests(t):
    """shape and SHA-256 of the f32, f16 and bf16 (as int16) bytes of a tensor, as torch rounds them."""
    t = t.detach().float().contiguous()
    return {"shape": list(t.shape), "f32": sha(t.numpy().astype("<f4")), "f16": sha(t.half().numpy().astype("<f2")),
            "bf16": sha(t.bfloat16().view(torch.int16).numpy().astype("<i2")),
            "head": [float(x) for x in t.flatten()[:4]]}
