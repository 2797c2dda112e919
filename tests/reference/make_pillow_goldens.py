#!/usr/bin/env python3
"""Writes the image fixtures and the Pillow/transformers goldens that
tests/unit/test_image.c checks bit for bit.

Run with the reference venv (Pillow, numpy, transformers 4.37.2):

    tests/reference/.venv/bin/python tests/reference/make_pillow_goldens.py

Outputs, all under tests/fixtures/pillow/:
  img/*        input files: JPEG and PNG in every mode the decoder handles,
               odd sizes, and broken files (empty, truncated, corrupt, text)
  raw/*        full expected outputs of a few cases (to locate a mismatch)
  goldens.txt  one expectation per line (format in the header it writes)
  goldens_unconverted.txt  the same for LLaVA's ScienceQA/MMBench sequence
               (expand2square on the image as opened, before convert("RGB"))
               and for the pixels Pillow holds before converting

The inputs are made deterministically (numpy RandomState with fixed seeds,
a small PNG writer here for the bit depths and interlacing Pillow cannot
write). The expected values always come from Pillow itself:
Image.open(f).convert("RGB"), LLaVA-1.5's expand2square and transformers'
CLIPImageProcessor, and Image.resize for the pure resampling cases.
"""
import hashlib
import io
import os
import struct
import sys
import zlib

import numpy as np
import PIL
from PIL import Image, features

import transformers
from transformers import CLIPImageProcessor
from transformers.image_transforms import center_crop, get_resize_output_image_size
from transformers.image_utils import ChannelDimension

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "pillow"))
IMG = os.path.join(OUT, "img")
RAW = os.path.join(OUT, "raw")

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SIZES = (30, 336)


def sha(b):
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------- content


def scene(w, h, seed):
    """A photo-like RGB uint8 picture: gradients, a few hard-edged shapes,
    fine texture and noise (so JPEG, resampling and clipping all work)."""
    rs = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    u, v = x / max(w - 1, 1), y / max(h - 1, 1)
    img = np.empty((h, w, 3))
    ph = rs.rand(3) * 6.28
    for c in range(3):
        img[..., c] = 128 + 90 * np.sin(2.5 * u * (c + 1) + 1.7 * v + ph[c]) * np.cos(1.3 * v - u)
    for _ in range(4):  # rectangles and discs in saturated colours
        cx, cy, r = rs.rand() * w, rs.rand() * h, (0.08 + 0.2 * rs.rand()) * max(w, h)
        col = rs.randint(0, 256, 3)
        if rs.rand() < 0.5:
            m = (np.abs(x - cx) < r) & (np.abs(y - cy) < r * 0.6)
        else:
            m = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        img[m] = col
    img += (25 * np.sin(x * 1.9) * np.sin(y * 2.3))[..., None]  # texture near Nyquist
    img += rs.randn(h, w, 3) * 6
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def smooth(w, h, seed):
    """A smooth picture that compresses well (for the large files)."""
    rs = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    u, v = x / (w - 1), y / (h - 1)
    img = np.empty((h, w, 3))
    for c in range(3):
        a, b = rs.rand(2) * 4
        img[..., c] = 128 + 100 * np.sin(a * u + b * v + c)
    m = (np.abs(u - 0.4) < 0.1) & (np.abs(v - 0.6) < 0.2)
    img[m] = (250, 20, 30)
    m = (u - 0.7) ** 2 + (v - 0.3) ** 2 < 0.01
    img[m] = (10, 10, 240)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def lcg_bytes(seed, n):
    """The byte stream test_image.c regenerates: x = x*1664525 + 1013904223
    (mod 2^32), one byte = the top 8 bits of each new state."""
    out = bytearray(n)
    s = seed & 0xFFFFFFFF
    for i in range(n):
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = s >> 24
    return bytes(out)


# ------------------------------------------------------------- PNG writer
# Pillow writes neither interlaced PNGs nor 2/4-bit grey nor 16-bit colour,
# so those files come from this small writer.

ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(tag, data, crc=None):
    c = zlib.crc32(tag + data) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", c)


def pack_row(samples, depth):
    """samples: 1-D int array of one row (channels interleaved)."""
    if depth == 16:
        return samples.astype(">u2").tobytes()
    if depth == 8:
        return samples.astype(np.uint8).tobytes()
    per = 8 // depth
    n = len(samples)
    padded = np.zeros(((n + per - 1) // per) * per, dtype=np.uint32)
    padded[:n] = samples
    padded = padded.reshape(-1, per)
    out = np.zeros(len(padded), dtype=np.uint32)
    for i in range(per):
        out |= padded[:, i] << (8 - depth * (i + 1))
    return out.astype(np.uint8).tobytes()


def filter_rows(rows, bpp):
    """PNG filtering with the filter type cycling 0..4 over the rows."""
    out, prev = [], None
    for i, r in enumerate(rows):
        r = np.frombuffer(r, dtype=np.uint8).astype(np.int32)
        p = np.zeros_like(r) if prev is None else prev
        ft = i % 5
        a = np.concatenate([np.zeros(bpp, np.int32), r])[: len(r)]  # left
        c = np.concatenate([np.zeros(bpp, np.int32), p])[: len(p)]  # upper left
        if ft == 0:
            f = r
        elif ft == 1:
            f = r - a
        elif ft == 2:
            f = r - p
        elif ft == 3:
            f = r - (a + p) // 2
        else:
            pa, pb, pc = np.abs(p - c), np.abs(a - c), np.abs(a + p - 2 * c)
            pred = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, p, c))
            f = r - pred
        out.append(bytes([ft]) + (f & 255).astype(np.uint8).tobytes())
        prev = r
    return b"".join(out)


def png_bytes(px, depth, ctype, plte=None, trns=None, interlace=False, extra_pre=(), idat_split=0):
    """px: (h, w, channels) int array of raw samples."""
    h, w = px.shape[:2]
    ch = CHANNELS[ctype]
    bpp = max(1, ch * depth // 8)
    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = px[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            raw += filter_rows([pack_row(r.reshape(-1), depth) for r in sub], bpp)
    else:
        raw = filter_rows([pack_row(r.reshape(-1), depth) for r in px], bpp)
    data = zlib.compress(raw, 9)
    s = b"\x89PNG\r\n\x1a\n"
    s += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 1 if interlace else 0))
    for c in extra_pre:
        s += c
    if plte is not None:
        s += chunk(b"PLTE", bytes(np.asarray(plte, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        s += chunk(b"tRNS", trns)
    if idat_split:
        for i in range(0, len(data), idat_split):
            s += chunk(b"IDAT", data[i : i + idat_split])
    else:
        s += chunk(b"IDAT", data)
    s += chunk(b"IEND", b"")
    return s


# ---------------------------------------------------------------- helpers


def save_pil(name, im, **kw):
    im.save(os.path.join(IMG, name), **kw)


def write(name, data):
    with open(os.path.join(IMG, name), "wb") as f:
        f.write(data)


def jpeg_bytes(im, **kw):
    b = io.BytesIO()
    im.save(b, "JPEG", **kw)
    return b.getvalue()


def segments(jpg):
    """Offsets of the marker segments before the first SOS: (marker, start, end)."""
    out, i = [], 2
    while i < len(jpg):
        assert jpg[i] == 0xFF
        m = jpg[i + 1]
        n = struct.unpack(">H", jpg[i + 2 : i + 4])[0]
        out.append((m, i, i + 2 + n))
        if m == 0xDA:
            break
        i += 2 + n
    return out


def expand2square(pil_img, background_color):
    """LLaVA-1.5 llava/mm_utils.py expand2square (the rule, restated)."""
    width, height = pil_img.size
    if width == height:
        return pil_img
    if width > height:
        result = Image.new(pil_img.mode, (width, width), background_color)
        result.paste(pil_img, (0, (width - height) // 2))
        return result
    result = Image.new(pil_img.mode, (height, height), background_color)
    result.paste(pil_img, ((height - width) // 2, 0))
    return result


def processor(s, mean=CLIP_MEAN, std=CLIP_STD):
    return CLIPImageProcessor(
        size={"shortest_edge": s},
        crop_size={"height": s, "width": s},
        resample=Image.BICUBIC,
        image_mean=list(mean),
        image_std=list(std),
    )


def pillow_native(im):
    """The pixels as Pillow holds them, in numpy.asarray order ('1' as 0/255
    bytes, 'I;16' little-endian) and the palette ('P'), as raw bytes."""
    a = np.asarray(im)
    if im.mode == "1":
        a = a.astype(np.uint8) * 255
    elif im.mode == "I;16":
        a = a.astype("<u2")
    pal = bytes(im.getpalette()) if im.mode == "P" else b""
    return np.ascontiguousarray(a).tobytes(), pal


NORMS = {"clip": (CLIP_MEAN, CLIP_STD), "half": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))}
# a second normalisation (another pad colour) for a few files
HALF_NORM = {"png_p_90x64.png", "png_p_fillpal_31x20.png", "jpg_cmyk_tall_50x90.jpg", "png_rgba_wide_120x70.png"}


def unconverted_goldens(decoded):
    """LLaVA's model_vqa_science.py / model_vqa_mmbench.py sequence:
    process_images([Image.open(f)]) with image_aspect_ratio 'pad', i.e.
    expand2square on the image as opened (no convert), then
    CLIPImageProcessor (which converts to RGB). decoded: [(file, sizes)]
    of the files Pillow decodes."""
    lines = [
        "# Goldens for tests/unit/test_image_raw.c, written by tests/reference/make_pillow_goldens.py",
        f"# Pillow {PIL.__version__}, transformers {transformers.__version__}, numpy {np.__version__}",
        "# native FILE MODE W H SHA256 NPAL PALSHA  pixels as Pillow holds them (numpy.asarray(im); '1' as 0/255,",
        "#                                        'I;16' little-endian) and the palette of 'P' (NPAL entries, else 0 -)",
        "# rawsq FILE NORM SHA256                 expand2square(Image.open(FILE), int(mean*255)).convert('RGB') bytes",
        "# raw FILE S NORM SHA256                 CLIPImageProcessor(S, NORM)(expand2square(Image.open(FILE))) float32",
        "# rawfail FILE NORM ERROR                expand2square raises ERROR (type: message) on the image as opened",
        "# NORM: clip = OpenAI CLIP mean/std (pad colour 122 116 104); half = 0.5/0.5 (127 127 127)",
    ]
    for name, sizes in decoded:
        path = os.path.join(IMG, name)
        with Image.open(path) as im:
            im.load()
            px, pal = pillow_native(im)
            lines.append(f"native {name} {im.mode} {im.width} {im.height} {sha(px)} {len(pal) // 3} "
                         f"{sha(pal) if pal else '-'}")
        for norm in ("clip", "half") if name in HALF_NORM else ("clip",):
            mean, std = NORMS[norm]
            fill = tuple(int(x * 255) for x in mean)
            with Image.open(path) as im:  # as LLaVA opens it: lazily, no convert
                try:
                    sq = expand2square(im, fill)
                except Exception as e:  # noqa: BLE001 - the failure is the golden
                    assert im.width != im.height
                    lines.append(f"rawfail {name} {norm} {type(e).__name__}: {e}")
                    continue
                lines.append(f"rawsq {name} {norm} {sha(sq.convert('RGB').tobytes())}")
                for s in sizes:
                    t = processor(s, mean, std).preprocess(sq, return_tensors="np")["pixel_values"][0]
                    assert t.dtype == np.float32 and t.shape == (3, s, s)
                    tb = t.astype("<f4").tobytes()
                    lines.append(f"raw {name} {s} {norm} {sha(tb)}")
                    # the premise of the C side: RGB, RGBA and square images
                    # give what the converted path gives
                    if im.mode in ("RGB", "RGBA") or im.width == im.height:
                        c = expand2square(im.convert("RGB"), fill)
                        tc = processor(s, mean, std).preprocess(c, return_tensors="np")["pixel_values"][0]
                        assert tc.astype("<f4").tobytes() == tb, name
    return lines


# ---------------------------------------------------------------- fixtures


def make_inputs():
    """Writes img/*; returns [(file, sizes, expectation)] where expectation is
    'pillow' (compare with Pillow, success or failure) or 'unsupported'."""
    cases = []

    def add(name, sizes=SIZES, kind="pillow"):
        cases.append((name, sizes, kind))

    # JPEG: subsampling, progressive, grey, CMYK/YCCK, RGB (no transform), odd sizes
    a = scene(200, 150, 1)
    save_pil("jpg_420_200x150.jpg", Image.fromarray(a), quality=90)
    add("jpg_420_200x150.jpg")
    save_pil("jpg_444_97x61.jpg", Image.fromarray(scene(97, 61, 2)), quality=92, subsampling=0)
    add("jpg_444_97x61.jpg")
    save_pil("jpg_422_64x80.jpg", Image.fromarray(scene(64, 80, 3)), quality=85, subsampling=1)
    add("jpg_422_64x80.jpg")
    save_pil("jpg_progressive_320x240.jpg", Image.fromarray(scene(320, 240, 4)), quality=80, progressive=True)
    add("jpg_progressive_320x240.jpg")
    save_pil("jpg_progressive_444_45x70.jpg", Image.fromarray(scene(45, 70, 41)), quality=95,
             progressive=True, subsampling=0)
    add("jpg_progressive_444_45x70.jpg")
    g = Image.fromarray(scene(120, 90, 5)).convert("L")
    save_pil("jpg_gray_120x90.jpg", g, quality=88)
    add("jpg_gray_120x90.jpg")
    save_pil("jpg_gray_progressive_33x57.jpg", Image.fromarray(scene(33, 57, 6)).convert("L"), progressive=True)
    add("jpg_gray_progressive_33x57.jpg")
    cmyk = Image.fromarray(scene(80, 60, 7)).convert("CMYK")
    c = np.asarray(cmyk).copy()
    c[..., 3] = np.asarray(Image.fromarray(scene(80, 60, 8)).convert("L")) // 2  # a real K channel
    cj = jpeg_bytes(Image.fromarray(c, "CMYK"), quality=90)
    write("jpg_cmyk_adobe_80x60.jpg", cj)  # Adobe APP14, transform 0: plain CMYK
    add("jpg_cmyk_adobe_80x60.jpg")
    app14 = [s for s in segments(cj) if s[0] == 0xEE][0]
    write("jpg_cmyk_noadobe_80x60.jpg", cj[: app14[1]] + cj[app14[2] :])
    add("jpg_cmyk_noadobe_80x60.jpg")
    y = bytearray(cj)
    y[app14[1] + 4 + 11] = 2  # transform 2: the same data read as YCCK
    write("jpg_ycck_80x60.jpg", bytes(y))
    add("jpg_ycck_80x60.jpg")
    save_pil("jpg_rgb_keep_50x40.jpg", Image.fromarray(scene(50, 40, 9)), quality=90, keep_rgb=True)
    add("jpg_rgb_keep_50x40.jpg")
    save_pil("jpg_37x23.jpg", Image.fromarray(scene(37, 23, 10)), quality=90)
    add("jpg_37x23.jpg")
    save_pil("jpg_1x50.jpg", Image.fromarray(scene(1, 50, 11)), quality=90)
    add("jpg_1x50.jpg")
    save_pil("jpg_50x1.jpg", Image.fromarray(scene(50, 1, 12)), quality=90)
    add("jpg_50x1.jpg")
    save_pil("jpg_square_100x100.jpg", Image.fromarray(scene(100, 100, 13)), quality=90)
    add("jpg_square_100x100.jpg")
    save_pil("jpg_640x480.jpg", Image.fromarray(scene(640, 480, 14)), quality=75)
    add("jpg_640x480.jpg")
    save_pil("jpg_large_2400x1800.jpg", Image.fromarray(smooth(2400, 1800, 15)), quality=30)
    add("jpg_large_2400x1800.jpg", (336,))  # 7.1x downscale
    save_pil("jpg_tall_210x700.jpg", Image.fromarray(smooth(210, 700, 16)), quality=60)
    add("jpg_tall_210x700.jpg")  # 23x down at S=30
    save_pil("jpg_restart_90x70.jpg", Image.fromarray(scene(90, 70, 17)), quality=90, restart_marker_blocks=3)
    add("jpg_restart_90x70.jpg")
    ex = Image.Exif()
    ex[0x0112] = 6  # orientation: rotate 90; Pillow ignores it in open/convert
    save_pil("jpg_exif_rot_60x40.jpg", Image.fromarray(scene(60, 40, 18)), quality=90, exif=ex)
    add("jpg_exif_rot_60x40.jpg")
    base = jpeg_bytes(Image.fromarray(scene(64, 48, 19)), quality=90)
    write("jpg_trailing_garbage.jpg", base + b"trailing bytes after EOI\n" * 4)
    add("jpg_trailing_garbage.jpg")
    write("jpg_no_eoi.jpg", base[:-2])
    add("jpg_no_eoi.jpg")
    sos = segments(base)[-1][2]
    bad = bytearray(base)
    rs = np.random.RandomState(20)
    for i in rs.randint(sos + 40, len(base) - 60, 6):
        bad[i] = rs.randint(0, 0x80)  # corrupt entropy data, no new markers
    write("jpg_corrupt_scan.jpg", bytes(bad))
    add("jpg_corrupt_scan.jpg")

    # PNG written by Pillow
    save_pil("png_rgb_336x336.png", Image.fromarray(scene(336, 336, 21)))
    add("png_rgb_336x336.png")
    save_pil("png_rgb_30x30.png", Image.fromarray(scene(30, 30, 22)))
    add("png_rgb_30x30.png")
    rgba = np.dstack([scene(150, 200, 23), (np.arange(150)[None, :] * 255 // 149 * np.ones((200, 1))).astype(np.uint8)])
    rgba[:20, :, 3] = 0  # fully transparent rows keep their colour
    save_pil("png_rgba_150x200.png", Image.fromarray(rgba, "RGBA"))
    add("png_rgba_150x200.png")
    la = np.dstack([np.asarray(Image.fromarray(scene(70, 50, 24)).convert("L")),
                    np.random.RandomState(25).randint(0, 256, (50, 70)).astype(np.uint8)])
    save_pil("png_la_70x50.png", Image.fromarray(la, "LA"))
    add("png_la_70x50.png")
    save_pil("png_l_81x40.png", Image.fromarray(scene(81, 40, 26)).convert("L"))
    add("png_l_81x40.png")
    p = Image.fromarray(scene(90, 64, 27)).quantize(200)
    save_pil("png_p_90x64.png", p)
    add("png_p_90x64.png")
    pt = p.copy()
    pt.info["transparency"] = bytes(range(0, 250, 5))[:50]  # per-entry alpha
    save_pil("png_p_trns_90x64.png", pt, transparency=pt.info["transparency"])
    add("png_p_trns_90x64.png")
    save_pil("png_p_trns1_90x64.png", p, transparency=7)  # one transparent entry
    add("png_p_trns1_90x64.png")
    save_pil("png_p4_55x31.png", Image.fromarray(scene(55, 31, 28)).quantize(16), bits=4)
    add("png_p4_55x31.png")
    save_pil("png_p1_43x20.png", Image.fromarray(scene(43, 20, 29)).quantize(2), bits=1)
    add("png_p1_43x20.png")
    save_pil("png_1bit_45x27.png", Image.fromarray(scene(45, 27, 30)).convert("1"))
    add("png_1bit_45x27.png")
    i16 = (np.random.RandomState(31).rand(30, 40) ** 3 * 65535).astype(np.uint16)
    i16[:10] = np.arange(40)[None, :] * 6  # rows of values <= 255
    save_pil("png_i16_40x30.png", Image.fromarray(i16))
    add("png_i16_40x30.png")
    save_pil("png_wide_700x100.png", Image.fromarray(smooth(700, 100, 32)).quantize(64))
    add("png_wide_700x100.png")

    # Every mode once more tall, wide and square, for LLaVA's unconverted
    # path (expand2square before convert("RGB"), goldens_unconverted.txt)
    def quant(w, h, seed, n):
        return Image.fromarray(scene(w, h, seed)).quantize(n)

    save_pil("png_p_tall_44x75.png", quant(44, 75, 70, 100))
    add("png_p_tall_44x75.png")
    tr = bytes(range(255, 0, -9))
    save_pil("png_p_trns_tall_36x61.png", quant(36, 61, 71, 60), transparency=tr)
    add("png_p_trns_tall_36x61.png")
    save_pil("png_p_trns_square_48x48.png", quant(48, 48, 72, 40), transparency=tr)
    add("png_p_trns_square_48x48.png")
    # the pad colour sits at index 3 of the file's palette, index 0 is red
    idx = (np.arange(31 * 20).reshape(20, 31) * 7 // 11 % 6).astype(np.uint8)
    fp = Image.fromarray(idx, "P")
    fp.putpalette(bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 122, 116, 104, 127, 127, 127, 9, 9, 9]))
    save_pil("png_p_fillpal_31x20.png", fp)
    add("png_p_fillpal_31x20.png")
    save_pil("png_l_tall_30x52.png", Image.fromarray(scene(30, 52, 73)).convert("L"))
    add("png_l_tall_30x52.png")
    save_pil("png_l_square_40x40.png", Image.fromarray(scene(40, 40, 74)).convert("L"))
    add("png_l_square_40x40.png")
    for name, (w, h), seed in (("png_la_tall_28x45.png", (28, 45), 75), ("png_la_square_32x32.png", (32, 32), 76)):
        g = np.asarray(Image.fromarray(scene(w, h, seed)).convert("L"))
        save_pil(name, Image.fromarray(np.dstack([g, 255 - g]), "LA"))
        add(name)
    save_pil("png_1bit_tall_20x37.png", Image.fromarray(scene(20, 37, 77)).convert("1"))
    add("png_1bit_tall_20x37.png")
    save_pil("png_1bit_square_24x24.png", Image.fromarray(scene(24, 24, 78)).convert("1"))
    add("png_1bit_square_24x24.png")
    for name, (w, h), seed in (("png_i16_tall_18x33.png", (18, 33), 79), ("png_i16_square_20x20.png", (20, 20), 80)):
        v = (np.random.RandomState(seed).rand(h, w) ** 4 * 2000).astype(np.uint16)  # most <= 255
        save_pil(name, Image.fromarray(v))
        add(name)
    rgba = np.dstack([scene(120, 70, 81), np.random.RandomState(82).randint(0, 256, (70, 120)).astype(np.uint8)])
    save_pil("png_rgba_wide_120x70.png", Image.fromarray(rgba, "RGBA"))
    add("png_rgba_wide_120x70.png")
    for name, (w, h), seed in (("jpg_cmyk_tall_50x90.jpg", (50, 90), 83), ("jpg_cmyk_square_64x64.jpg", (64, 64), 84)):
        c = np.asarray(Image.fromarray(scene(w, h, seed)).convert("CMYK")).copy()
        c[..., 3] = np.asarray(Image.fromarray(scene(w, h, seed + 100)).convert("L")) // 3
        write(name, jpeg_bytes(Image.fromarray(c, "CMYK"), quality=90))
        add(name)
    save_pil("jpg_gray_square_48x48.jpg", Image.fromarray(scene(48, 48, 85)).convert("L"), quality=90)
    add("jpg_gray_square_48x48.jpg")

    # PNG written here: bit depths, 16-bit colour, interlacing, odd chunks
    rs = np.random.RandomState(40)
    write("png_l2_33x17.png", png_bytes(rs.randint(0, 4, (17, 33, 1)), 2, 0))
    add("png_l2_33x17.png")
    write("png_l4_interlaced_29x31.png", png_bytes(rs.randint(0, 16, (31, 29, 1)), 4, 0, interlace=True))
    add("png_l4_interlaced_29x31.png")
    write("png_1bit_interlaced_19x11.png", png_bytes(rs.randint(0, 2, (11, 19, 1)), 1, 0, interlace=True))
    add("png_1bit_interlaced_19x11.png")
    write("png_rgb16_45x35.png", png_bytes(rs.randint(0, 65536, (35, 45, 3)), 16, 2))
    add("png_rgb16_45x35.png")
    write("png_rgba16_26x38.png", png_bytes(rs.randint(0, 65536, (38, 26, 4)), 16, 6))
    add("png_rgba16_26x38.png")
    write("png_la16_31x22.png", png_bytes(rs.randint(0, 65536, (22, 31, 2)), 16, 4))
    add("png_la16_31x22.png")
    g16 = rs.randint(0, 65536, (25, 20, 1))
    g16[::2] = rs.randint(0, 256, (13, 20, 1))
    write("png_i16_interlaced_20x25.png", png_bytes(g16, 16, 0, interlace=True))
    add("png_i16_interlaced_20x25.png")
    write("png_rgb_interlaced_61x47.png", png_bytes(scene(61, 47, 41).astype(np.int64), 8, 2, interlace=True))
    add("png_rgb_interlaced_61x47.png")
    write("png_rgba_interlaced_9x5.png", png_bytes(rs.randint(0, 256, (5, 9, 4)), 8, 6, interlace=True))
    add("png_rgba_interlaced_9x5.png")
    pal = rs.randint(0, 256, (16, 3))
    write("png_p4_interlaced_23x13.png", png_bytes(rs.randint(0, 16, (13, 23, 1)), 4, 3, plte=pal, interlace=True))
    add("png_p4_interlaced_23x13.png")
    write("png_p2_21x9.png", png_bytes(rs.randint(0, 4, (9, 21, 1)), 2, 3, plte=pal[:4]))
    add("png_p2_21x9.png")
    # indices past the end of a short PLTE (Pillow shows them black)
    write("png_p_short_plte_24x16.png", png_bytes(rs.randint(0, 20, (16, 24, 1)), 8, 3, plte=pal[:10]))
    add("png_p_short_plte_24x16.png")
    write("png_l_trns_16x12.png", png_bytes(rs.randint(0, 256, (12, 16, 1)), 8, 0, trns=struct.pack(">H", 17)))
    add("png_l_trns_16x12.png")
    write("png_rgb_trns_16x12.png", png_bytes(rs.randint(0, 256, (12, 16, 3)), 8, 2, trns=struct.pack(">HHH", 1, 2, 3)))
    add("png_rgb_trns_16x12.png")
    gama = (chunk(b"gAMA", struct.pack(">I", 100000)), chunk(b"sBIT", bytes([5, 6, 5])))
    write("png_gamma_sbit_40x30.png", png_bytes(scene(40, 30, 42).astype(np.int64), 8, 2, extra_pre=gama))
    add("png_gamma_sbit_40x30.png")
    write("png_idat_split_50x20.png", png_bytes(scene(50, 20, 43).astype(np.int64), 8, 2, idat_split=97))
    add("png_idat_split_50x20.png")
    ramp = np.zeros((16, 16, 3), dtype=np.int64)
    v = np.arange(256).reshape(16, 16)
    ramp[..., 0], ramp[..., 1], ramp[..., 2] = v, 255 - v, (v * 7) % 256
    write("png_ramp_16x16.png", png_bytes(ramp, 8, 2))
    add("png_ramp_16x16.png", (16, 30))  # every value through the normalisation

    # Broken or unsupported files (what Pillow does with each is recorded)
    good_png = png_bytes(scene(50, 40, 44).astype(np.int64), 8, 2)
    good_jpg = jpeg_bytes(Image.fromarray(scene(64, 48, 45)), quality=90)
    write("bad_empty.jpg", b"")
    write("bad_empty.png", b"")
    write("bad_truncated.jpg", good_jpg[: len(good_jpg) * 6 // 10])
    write("bad_truncated_header.jpg", good_jpg[:120])
    prog = jpeg_bytes(Image.fromarray(scene(64, 48, 46)), quality=90, progressive=True)
    write("bad_truncated_progressive.jpg", prog[: len(prog) * 7 // 10])
    write("bad_truncated.png", good_png[: len(good_png) * 6 // 10])
    write("bad_truncated_sig.png", good_png[:5])
    ihdr = bytearray(good_png)
    ihdr[16:20] = struct.pack(">I", 0)  # width 0, CRC left stale
    write("bad_ihdr.png", bytes(ihdr))
    crc = bytearray(good_png)
    crc[29] ^= 0x55  # IHDR CRC
    write("bad_ihdr_crc.png", bytes(crc))
    write("bad_corrupt.jpg", b"\xff\xd8\xff\xe0" + bytes(np.random.RandomState(47).randint(0, 256, 300).astype(np.uint8)))
    z = bytearray(good_png)
    idat = good_png.find(b"IDAT")
    for i in range(idat + 10, idat + 40):
        z[i] = 0xAB  # garbage in the zlib stream
    write("bad_zlib.png", bytes(z))
    write("bad_text.jpg", b"this is not an image, just some text\n")
    for n in ("bad_empty.jpg", "bad_empty.png", "bad_truncated.jpg", "bad_truncated_header.jpg",
              "bad_truncated_progressive.jpg", "bad_truncated.png", "bad_truncated_sig.png", "bad_ihdr.png",
              "bad_ihdr_crc.png", "bad_corrupt.jpg", "bad_zlib.png", "bad_text.jpg"):
        add(n)
    # Pillow reads these, the engine refuses them with a clear message
    b = io.BytesIO()
    Image.fromarray(scene(20, 10, 48)).save(b, "GIF")
    write("unsupported.gif", b.getvalue())
    add("unsupported.gif", kind="unsupported")
    b = io.BytesIO()
    Image.fromarray(scene(20, 10, 49)).save(b, "BMP")
    write("unsupported_bmp.jpg", b.getvalue())  # wrong extension on purpose
    add("unsupported_bmp.jpg", kind="unsupported")
    # PNG oddities Pillow tolerates
    nocrc = bytearray(good_png)
    idat_len = struct.unpack(">I", good_png[idat - 4 : idat])[0]
    nocrc[idat + 4 + idat_len] ^= 0xFF  # IDAT CRC (Pillow does not check it)
    write("png_bad_idat_crc_50x40.png", bytes(nocrc))
    add("png_bad_idat_crc_50x40.png")
    write("png_no_iend_50x40.png", good_png[:-12])
    add("png_no_iend_50x40.png")
    # cut inside the zlib checksum: every row is there, so Pillow accepts it
    write("png_cut_adler_50x40.png", good_png[: -(12 + 4 + 2)])
    add("png_cut_adler_50x40.png")
    adler = bytearray(good_png)
    adler[-(12 + 4 + 1)] ^= 0x5A  # a wrong zlib checksum: Pillow fails
    write("bad_adler.png", bytes(adler))
    add("bad_adler.png")
    write("bad_truncated_end.jpg", good_jpg[:-30])  # the last rows missing
    add("bad_truncated_end.jpg")
    il = png_bytes(scene(40, 30, 50).astype(np.int64), 8, 2, interlace=True)
    write("bad_truncated_interlaced.png", il[: len(il) - 200])  # last Adam7 pass cut
    add("bad_truncated_interlaced.png")
    return cases


RESAMPLE_CASES = [
    # (seed, channels, w, h, out_w, out_h, filter)
    (1, 3, 17, 13, 336, 336, "bicubic"),
    (2, 3, 64, 48, 30, 30, "bicubic"),
    (3, 3, 64, 48, 336, 252, "bicubic"),
    (4, 3, 300, 200, 43, 29, "bicubic"),
    (5, 3, 300, 200, 300, 57, "bicubic"),  # vertical pass only
    (6, 3, 300, 200, 41, 200, "bicubic"),  # horizontal pass only
    (7, 3, 1, 7, 5, 3, "bicubic"),
    (8, 3, 700, 20, 10, 20, "bicubic"),  # 70x reduction
    (9, 3, 23, 19, 1, 1, "bicubic"),
    (10, 3, 40, 40, 40, 40, "bicubic"),  # unchanged: a copy
    (11, 1, 50, 37, 120, 19, "bicubic"),
    (12, 3, 99, 101, 336, 336, "bicubic"),
    (13, 3, 64, 48, 30, 71, "bilinear"),
    (14, 3, 300, 200, 43, 290, "bilinear"),
    (15, 1, 31, 17, 7, 5, "bilinear"),
    (16, 3, 64, 48, 30, 71, "nearest"),
    (17, 3, 300, 200, 43, 290, "nearest"),
    (18, 1, 7, 3, 17, 13, "nearest"),
    (19, 3, 333, 1, 336, 1, "nearest"),
    # Pillow 13 runs the vertical pass first when the height loses more than
    # twice as many pixels as the width; the last two sit on that boundary
    (20, 3, 300, 200, 290, 43, "bicubic"),
    (21, 3, 300, 200, 290, 43, "bilinear"),
    (22, 1, 90, 400, 120, 30, "bicubic"),
    (23, 3, 60, 60, 50, 40, "bicubic"),
    (24, 3, 60, 60, 51, 40, "bicubic"),
]
_rs = np.random.RandomState(60)
for _i in range(24):  # random shapes, both filters
    _w, _h, _ow, _oh = (int(v) for v in _rs.randint(1, 90, 4))
    RESAMPLE_CASES.append((100 + _i, 3 if _i % 3 else 1, _w, _h, _ow, _oh, ("bicubic", "bilinear", "nearest")[_i % 3]))
CROP_CASES = [
    # (seed, w, h, crop_w, crop_h): HF center_crop, with its zero padding
    (30, 10, 7, 4, 4),
    (31, 7, 10, 4, 5),
    (32, 5, 5, 8, 8),
    (33, 6, 9, 3, 12),
    (34, 9, 4, 13, 2),
    (35, 11, 8, 11, 8),
    (36, 2, 3, 7, 6),
]
FILTERS = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


def main():
    os.makedirs(IMG, exist_ok=True)
    os.makedirs(RAW, exist_ok=True)
    for d in (IMG, RAW):
        for f in os.listdir(d):
            os.remove(os.path.join(d, f))
    cases = make_inputs()
    lines = [
        "# Goldens for tests/unit/test_image.c, written by tests/reference/make_pillow_goldens.py",
        f"# Pillow {PIL.__version__} (libjpeg-turbo {features.version('libjpeg_turbo')}, zlib "
        f"{features.version('zlib')}), transformers {transformers.__version__}, numpy {np.__version__}",
        "# decode FILE MODE W H SHA256     Image.open(FILE).convert('RGB') bytes; MODE = Image.open(FILE).mode",
        "# fail FILE ERROR                 Pillow raises ERROR: the decoder must fail too",
        "# unsupported FILE FORMAT         Pillow reads FORMAT; the engine refuses it by design",
        "# clip FILE S SHA256              expand2square(mean*255) + CLIPImageProcessor(S): float32 CHW bytes",
        "# clipcrop FILE S SHA256          CLIPImageProcessor(S) alone (no padding)",
        "# resample SEED C W H OW OH FILTER SHA256   Image.resize of LCG bytes (C=1: 'L', C=3: 'RGB')",
        "# crop SEED W H CW CH OW OH SHA256  transformers center_crop of LCG bytes (HWC RGB), output OWxOH",
        "# rsize W H S OW OH               transformers get_resize_output_image_size(shortest edge S)",
        "# raw KIND FILE S PATH            full expected bytes of one case (KIND rgb|clip) for debugging",
    ]
    raw_rgb = {"jpg_420_200x150.jpg", "jpg_cmyk_adobe_80x60.jpg", "png_rgba16_26x38.png"}
    raw_clip = {("jpg_420_200x150.jpg", 30), ("jpg_37x23.jpg", 30), ("png_ramp_16x16.png", 16)}
    ok, decoded = 0, []
    for name, sizes, kind in cases:
        path = os.path.join(IMG, name)
        try:
            with Image.open(path) as im:
                mode, fmt = im.mode, im.format
                rgb = im.convert("RGB")
        except Exception as e:  # noqa: BLE001 - any failure is the expectation
            assert kind == "pillow", name
            lines.append(f"fail {name} {type(e).__name__}")
            continue
        if kind == "unsupported":
            lines.append(f"unsupported {name} {fmt}")
            continue
        assert not name.startswith("bad_"), f"{name}: Pillow decoded it"
        data = rgb.tobytes()
        decoded.append((name, sizes))
        lines.append(f"decode {name} {mode} {rgb.width} {rgb.height} {sha(data)}")
        if name in raw_rgb:
            rp = f"raw/{os.path.splitext(name)[0]}.rgb"
            open(os.path.join(OUT, rp), "wb").write(data)
            lines.append(f"raw rgb {name} 0 {rp}")
        ok += 1
        for s in sizes:
            sq = expand2square(rgb, tuple(int(x * 255) for x in CLIP_MEAN))
            t = processor(s).preprocess(sq, return_tensors="np")["pixel_values"][0]
            assert t.dtype == np.float32 and t.shape == (3, s, s)
            tb = t.astype("<f4").tobytes()
            lines.append(f"clip {name} {s} {sha(tb)}")
            if (name, s) in raw_clip:
                rp = f"raw/{os.path.splitext(name)[0]}_{s}.f32"
                open(os.path.join(OUT, rp), "wb").write(tb)
                lines.append(f"raw clip {name} {s} {rp}")
            if rgb.width != rgb.height and min(rgb.size) >= 4:
                t = processor(s).preprocess(rgb, return_tensors="np")["pixel_values"][0]
                lines.append(f"clipcrop {name} {s} {sha(t.astype('<f4').tobytes())}")
    for seed, c, w, h, ow, oh, filt in RESAMPLE_CASES:
        arr = np.frombuffer(lcg_bytes(seed, w * h * c), dtype=np.uint8)
        im = Image.fromarray(arr.reshape(h, w, c) if c == 3 else arr.reshape(h, w), "RGB" if c == 3 else "L")
        out = im.resize((ow, oh), resample=FILTERS[filt], reducing_gap=None)
        lines.append(f"resample {seed} {c} {w} {h} {ow} {oh} {filt} {sha(out.tobytes())}")
    for seed, w, h, cw, ch in CROP_CASES:
        arr = np.frombuffer(lcg_bytes(seed, w * h * 3), dtype=np.uint8).reshape(h, w, 3)
        out = center_crop(arr, (ch, cw), input_data_format=ChannelDimension.LAST)
        assert out.dtype == np.uint8  # out may be smaller than the crop (HF pads by floor)
        lines.append(f"crop {seed} {w} {h} {cw} {ch} {out.shape[1]} {out.shape[0]} "
                     f"{sha(np.ascontiguousarray(out).tobytes())}")
    rs = np.random.RandomState(50)
    dims = [(333, 500, 336), (500, 333, 336), (640, 480, 336), (1, 50, 30), (50, 1, 30), (7, 3, 5),
            (336, 337, 336), (1000, 999, 224), (3, 1000, 336), (224, 224, 336)]
    dims += [(int(a), int(b), int(c)) for a, b, c in zip(rs.randint(1, 5000, 40), rs.randint(1, 5000, 40),
                                                        rs.randint(1, 1000, 40))]
    for w, h, s in dims:
        oh, ow = get_resize_output_image_size(np.zeros((h, w, 3), np.uint8), s, default_to_square=False,
                                              input_data_format=ChannelDimension.LAST)
        lines.append(f"rsize {w} {h} {s} {ow} {oh}")
    with open(os.path.join(OUT, "goldens.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    ulines = unconverted_goldens(decoded)
    with open(os.path.join(OUT, "goldens_unconverted.txt"), "w") as f:
        f.write("\n".join(ulines) + "\n")
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(OUT) for fn in fns)
    print(f"{len(cases)} files ({ok} decodable), {len(lines)} + {len(ulines)} golden lines, "
          f"{total / 1e6:.2f} MB in {OUT}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
