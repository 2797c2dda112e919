#!/usr/bin/env bash
# The introspection commands against the PyTorch reference's goldens, on every
# fixture model and every case of its golden.h5:
#   tokenize --prompt     equals the golden prompt ids (and its --json: the
#                         golden prompt text, the tokenizer's own pieces);
#   tokenize --text       of each chunk around <image> gives the golden ids of
#                         that chunk (LLaVA's tokenizer_image_token rule);
#   preprocess            prints the SHA-256 of the golden pixel bytes, the
#                         image's size and mode read from its file header, and
#                         its .npy is numpy.save's file of the golden array;
#   generate --trace      first-step top-k = the golden prompt logits at the
#                         last prompt position, max|c-g| <= 1e-4 * max|g|.
# Then bad input: one error line, exit 1, the same message as generate.
# Needs /usr/bin/python3 with numpy and h5py (Debian's python3-numpy,
# python3-h5py from tools/setup-deps.sh).
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
PY=/usr/bin/python3
if ! $PY -c 'import h5py, numpy' 2>/dev/null; then
    echo "skip: $PY has no h5py/numpy (tools/setup-deps.sh installs python3-h5py and python3-numpy)"
    exit 77
fi

# ---- every fixture, every golden case --------------------------------------------------
$PY - "$HL_BIN" "$TMP" <<'PY' || fail "golden comparisons (see above)"
import glob, hashlib, io, json, os, struct, subprocess, sys
import h5py
import numpy as np

BIN, TMP = sys.argv[1], sys.argv[2]
TOPK = 8
fails, counts = [], {"cases": 0, "logits": 0, "skipped": 0}


def fail(msg):
    print("FAIL: " + msg)
    fails.append(msg)


def run(args):
    p = subprocess.run([BIN] + args, capture_output=True)
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(args[:1]), p.returncode,
                                                 p.stderr.decode(errors="replace").strip()))
    return p.stdout.decode()


def ids_of(line):
    return [int(x) for x in line.split()]


def header_size_mode(path):
    """(width, height, Pillow mode) from the file header: PNG IHDR or JPEG SOFn."""
    data = open(path, "rb").read()
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        w, h, depth, ctype = struct.unpack(">IIBB", data[16:26])
        if ctype == 0:
            mode = {1: "1", 16: "I;16"}.get(depth, "L")
        else:
            mode = {2: "RGB", 3: "P", 4: "LA", 6: "RGBA"}[ctype]
        return w, h, mode
    assert data[:2] == b"\xff\xd8", path + ": neither PNG nor JPEG"
    i = 2
    while i < len(data):
        marker = data[i + 1]
        seglen = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            h, w, comps = struct.unpack(">HHB", data[i + 5:i + 10])
            return w, h, {1: "L", 3: "RGB", 4: "CMYK"}[comps]
        i += 2 + seglen
    raise ValueError(path + ": no SOF marker")


def tokenizer_pieces(model):
    with h5py.File(model, "r") as f:
        blob = f["tokenizer/pieces"][()].tobytes()
        off = f["tokenizer/offsets"][()]
        bos = int(f["tokenizer"].attrs["bos_id"])
    return [blob[off[i]:off[i + 1]].decode("utf-8") for i in range(len(off) - 1)], bos


def check_case(name, model, attrs, pieces, bos, g, k):
    tag = "%s case %d" % (name, k)
    image, question, prompt = (g.attrs[a] for a in ("image", "question", "prompt"))
    gids = [int(x) for x in g["ids"][()]]
    # tokenize --prompt: the ids, then the JSON form
    ids = ids_of(run(["tokenize", "--model", model, "--prompt", question]))
    if ids != gids:
        fail("%s: tokenize ids %s differ from golden %s" % (tag, ids, gids))
    js = json.loads(run(["tokenize", "--model", model, "--prompt", question, "--json"]))
    if js["prompt"] != prompt:
        fail("%s: --json prompt %r differs from golden %r" % (tag, js["prompt"], prompt))
    if js["ids"] != gids:
        fail("%s: --json ids differ from golden" % tag)
    want = ["<image>" if i == -200 else pieces[i] for i in gids]
    if js["pieces"] != want:
        fail("%s: --json pieces %s, tokenizer's %s" % (tag, js["pieces"], want))
    # tokenize --text on each chunk around <image>: the chunk's ids with BOS
    if gids.count(-200) != 1 or prompt.count("<image>") != 1:
        fail("%s: expected one <image> in the golden prompt" % tag)
        return
    cut = gids.index(-200)
    before, after = prompt.split("<image>")
    got = ids_of(run(["tokenize", "--model", model, "--text", before]))
    if got != gids[:cut]:
        fail("%s: --text of the part before <image>: %s vs golden %s" % (tag, got, gids[:cut]))
    got = ids_of(run(["tokenize", "--model", model, "--text", after]))
    if got != [bos] + gids[cut + 1:]:
        fail("%s: --text of the part after <image>: %s vs golden %s" % (tag, got, gids[cut + 1:]))
    # --no-image: the template without the image line, tokenized like --text
    js = json.loads(run(["tokenize", "--model", model, "--prompt", question, "--json", "--no-image"]))
    if js["prompt"] != prompt.replace("<image>\n", "") or -200 in js["ids"]:
        fail("%s: --no-image prompt %r / ids with -200" % (tag, js["prompt"]))
    elif js["ids"] != ids_of(run(["tokenize", "--model", model, "--text", js["prompt"]])):
        fail("%s: --no-image ids differ from --text of the same prompt" % tag)

    # preprocess: image line, tensor line, SHA-256, .npy
    S = int(attrs["vision_image_size"])
    gpix = g["pixels"][()]
    npy = os.path.join(TMP, "%s.%d.npy" % (name, k))
    out = run(["preprocess", "--model", model, "--image", image, "--out", npy]).splitlines()
    info = dict(l.split(": ", 1) for l in out)
    w, h, mode = header_size_mode(image)
    if info.get("image") != "%dx%d %s" % (w, h, mode):
        fail("%s: preprocess says image %r, the file header %dx%d %s" % (tag, info.get("image"), w, h, mode))
    if info.get("tensor") != "float32 [3, %d, %d]" % (S, S):
        fail("%s: preprocess tensor line %r" % (tag, info.get("tensor")))
    want_sha = hashlib.sha256(gpix.astype("<f4").tobytes()).hexdigest()
    if info.get("sha256") != want_sha:
        fail("%s: sha256 %s, golden pixels %s" % (tag, info.get("sha256"), want_sha))
    with open(npy, "rb") as f:
        if np.lib.format.read_magic(f) != (1, 0):
            fail("%s: .npy is not format 1.0" % tag)
    a = np.load(npy)
    if a.dtype != np.dtype("<f4") or a.shape != (3, S, S) or not a.flags.c_contiguous:
        fail("%s: .npy holds %s %s" % (tag, a.dtype, a.shape))
    elif a.tobytes() != gpix.astype("<f4").tobytes():
        fail("%s: .npy differs from the golden pixels (max diff %g)" % (tag, np.abs(a - gpix).max()))
    buf = io.BytesIO()
    np.save(buf, gpix.astype("<f4"))
    if open(npy, "rb").read() != buf.getvalue():
        fail("%s: .npy bytes differ from numpy.save's file of the golden array" % tag)

    # generate --trace: the first step's top-k against the golden logits
    trace = os.path.join(TMP, "%s.%d.trace" % (name, k))
    run(["generate", "--model", model, "--image", image, "--prompt", question,
         "--max-new-tokens", "1", "--trace", trace, "--trace-top-k", str(TOPK)])
    lines = [json.loads(l) for l in open(trace)]
    head, step = lines[0], lines[1]
    if head["prompt_ids"] != gids:
        fail("%s: trace prompt ids differ from golden" % tag)
    n_patches = (S // int(attrs["vision_patch_size"])) ** 2
    T = len(gids) - 1 + n_patches
    if head["prompt_len"] != T:
        fail("%s: trace prompt_len %d, expected %d" % (tag, head["prompt_len"], T))
    l0, rows = int(g.attrs["logits_start"]), g["logits"].shape[0]
    if not l0 <= T - 1 < l0 + rows:
        print("skip: %s: golden logits hold rows %d..%d, not the last prompt position %d"
              % (tag, l0, l0 + rows - 1, T - 1))
        counts["skipped"] += 1
        return
    gl = g["logits"][T - 1 - l0].astype(np.float64)
    tol = 1e-4 * np.abs(gl).max()
    top_ids, top = step["top_ids"], np.array(step["top_logits"], dtype=np.float64)
    err = np.abs(top - gl[top_ids]).max()
    if len(top_ids) != TOPK or len(set(top_ids)) != TOPK:
        fail("%s: trace top ids %s" % (tag, top_ids))
    elif err > tol:
        fail("%s: first-step top-%d logits differ from golden by %.3g > %.3g" % (tag, TOPK, err, tol))
    # the ids are the golden top-k (order may differ only between values within tol)
    kth = np.sort(gl)[::-1][TOPK - 1]
    if any(gl[i] < kth - tol for i in top_ids):
        fail("%s: trace top ids %s are not the golden top-%d" % (tag, top_ids, TOPK))
    if step["id"] != int(np.argmax(gl)) or step["id"] != int(g["tokens"][0]):
        fail("%s: first token %d, golden argmax %d" % (tag, step["id"], int(np.argmax(gl))))
    counts["logits"] += 1
    print("%s: ids %d, sha256 %s.., top-%d max|c-g| %.2e (tol %.2e)" % (tag, len(gids), want_sha[:12], TOPK, err, tol))


for d in sorted(glob.glob("tests/fixtures/models/*/")):
    name = os.path.basename(d.rstrip("/"))
    model = os.path.join(d, "model.h5")
    with h5py.File(model, "r") as f:
        attrs = dict(f.attrs)
    pieces, bos = tokenizer_pieces(model)
    with h5py.File(os.path.join(d, "golden.h5"), "r") as gf:
        for k in range(int(gf.attrs["n_cases"])):
            try:
                check_case(name, model, attrs, pieces, bos, gf["case%d" % k], k)
            except Exception as e:  # a command that failed is a failure of this case
                fail("%s case %d: %s" % (name, k, e))
            counts["cases"] += 1
print("%(cases)d golden cases, %(logits)d with first-step logits compared, %(skipped)d skipped" % counts)
if counts["cases"] < 8 or counts["logits"] == 0:
    fail("too few cases compared")
sys.exit(1 if fails else 0)
PY

# ---- bad input ------------------------------------------------------------------------
M=tests/fixtures/models/llava/model.h5
IMG=tests/fixtures/images/shapes.jpg
# expect_error NAME PATTERN CMD...: exit 1, nothing on stdout, one stderr line with PATTERN
expect_error() {
    local name=$1 pat=$2
    shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    [ $rc -eq 1 ] || { fail "$name: exit $rc, expected 1 ($(head -c 200 "$TMP/err"))"; return; }
    [ ! -s "$TMP/out" ] || fail "$name: wrote to stdout: $(head -c 200 "$TMP/out")"
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "$name: $(wc -l <"$TMP/err") lines on stderr"
    grep -q "^hyperllava: error: .*$pat" "$TMP/err" || fail "$name: '$(cat "$TMP/err")' lacks '$pat'"
}
# same_as_generate NAME GENERATE-ARGS... -- COMMAND-ARGS...: both fail with the same line
same_as_generate() {
    local name=$1
    shift
    local gen=() cmd=()
    while [ "$1" != "--" ]; do gen+=("$1"); shift; done
    shift
    cmd=("$@")
    $HL_BIN generate "${gen[@]}" >/dev/null 2>"$TMP/gen.err"
    local grc=$?
    expect_error "$name" "" $HL_BIN "${cmd[@]}"
    [ $grc -eq 1 ] || fail "$name: generate exited $grc"
    cmp -s "$TMP/gen.err" "$TMP/err" || fail "$name: '$(cat "$TMP/err")' vs generate's '$(cat "$TMP/gen.err")'"
}
printf 'not an hdf5 file\n' >"$TMP/junk.h5"
head -c 300 "$IMG" >"$TMP/truncated.jpg"
printf 'GIF89a' >"$TMP/gif.png"
for mdl in "$TMP/missing.h5" "$TMP/junk.h5" "$TMP"; do
    same_as_generate "tokenize --model $mdl" --model "$mdl" --prompt hi -- tokenize --model "$mdl" --prompt hi
    same_as_generate "preprocess --model $mdl" --model "$mdl" --image "$IMG" --prompt hi -- \
        preprocess --model "$mdl" --image "$IMG"
done
for im in "$TMP/missing.jpg" "$TMP/truncated.jpg" "$TMP/gif.png"; do
    same_as_generate "preprocess --image $im" --model $M --image "$im" --prompt hi -- \
        preprocess --model $M --image "$im" --out "$TMP/bad.npy"
    [ ! -e "$TMP/bad.npy" ] || fail "preprocess --image $im: wrote $TMP/bad.npy"
done
expect_error "tokenize empty --prompt" "tokenize: --prompt is empty" $HL_BIN tokenize --model $M --prompt ""
$HL_BIN generate --model $M --prompt "" >/dev/null 2>"$TMP/gen.err"
grep -q "^hyperllava: error: generate: --prompt 1 is empty$" "$TMP/gen.err" || fail "generate's empty prompt error changed: $(cat "$TMP/gen.err")"
expect_error "tokenize empty --text" "tokenize: --text is empty" $HL_BIN tokenize --model $M --text ""
expect_error "tokenize no model" "tokenize: no --model given" $HL_BIN tokenize --prompt hi
expect_error "tokenize no prompt" "tokenize: no --prompt or --text given" $HL_BIN tokenize --model $M
expect_error "tokenize both" "not both" $HL_BIN tokenize --model $M --prompt hi --text hi
expect_error "tokenize --no-image --text" "--no-image applies to --prompt only" $HL_BIN tokenize --model $M --text hi --no-image
expect_error "tokenize unknown option" "unknown option '--bogus'" $HL_BIN tokenize --model $M --prompt hi --bogus
expect_error "tokenize --prompt without value" "--prompt needs a value" $HL_BIN tokenize --model $M --prompt
expect_error "preprocess no model" "preprocess: no --model given" $HL_BIN preprocess --image "$IMG"
expect_error "preprocess no image" "preprocess: no --image given" $HL_BIN preprocess --model $M
expect_error "preprocess unknown option" "unknown option 'extra'" $HL_BIN preprocess --model $M --image "$IMG" extra
expect_error "preprocess unwritable --out" "$TMP/no/such/dir/p.npy: No such file or directory" \
    $HL_BIN preprocess --model $M --image "$IMG" --out "$TMP/no/such/dir/p.npy"
for c in tokenize preprocess; do
    $HL_BIN $c --help >"$TMP/help" 2>&1 || fail "$c --help exited non-zero"
    head -n 1 "$TMP/help" | grep -q "^usage: hyperllava $c --model FILE" || fail "$c --help: $(head -n 1 "$TMP/help")"
    $HL_BIN --help | grep -q "^  $c " || fail "$c is not in hyperllava --help"
done
# the default output is one line of ids; without --out nothing is written
n=$($HL_BIN tokenize --model $M --prompt "What is it?" | wc -l)
[ "$n" -eq 1 ] || fail "tokenize printed $n lines"
case $HL_BIN in /*) bin=$HL_BIN ;; *) bin=$PWD/$HL_BIN ;; esac
mkdir "$TMP/empty"
(cd "$TMP/empty" && "$bin" preprocess --model "$OLDPWD/$M" --image "$OLDPWD/$IMG" >/dev/null) || fail "preprocess without --out failed"
[ -z "$(ls -A "$TMP/empty")" ] || fail "preprocess without --out wrote $(ls -A "$TMP/empty")"
pass_or_fail
