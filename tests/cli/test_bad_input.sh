#!/usr/bin/env bash
# Bad input gets one line naming the file and the problem, exit status 1,
# and no crash: weight files (missing, corrupt, missing tensor, wrong shape,
# wrong dtype, non-finite values, attributes out of range), images (missing, empty, truncated, corrupt) and a prompt
# longer than the model's context.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/common.sh
M=tests/fixtures/models/all/model.h5
IMG=tests/fixtures/images/shapes.jpg
expect() { # what, regex, command...
    local what=$1 re=$2; shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    [ $rc -eq 1 ] || fail "$what: exit status $rc (want 1)"
    local n=$(wc -l <"$TMP/err")
    [ "$n" -eq 1 ] || fail "$what: $n lines on stderr: $(head -n 3 "$TMP/err")"
    grep -Eq "^hyperllava: error: .*$re" "$TMP/err" || fail "$what: '$(cat "$TMP/err")' does not match '$re'"
    echo "ok: $what: $(cat "$TMP/err")"
}
gen() { $HL_BIN generate --model "$1" --image "$2" --prompt "${3-What is this?}" --max-new-tokens 2; }
variant() { # name, python statement on f (h5py File opened r+)
    cp $M "$TMP/$1.h5"
    /usr/bin/python3 -c "import h5py, numpy as np, sys; f = h5py.File(sys.argv[1], 'r+'); $2" "$TMP/$1.h5"
}
expect "missing weight file" "nope.h5: No such file" gen "$TMP/nope.h5" $IMG
printf 'not hdf5' >"$TMP/corrupt.h5"
expect "corrupt weight file" "corrupt.h5: not an HDF5 file" gen "$TMP/corrupt.h5" $IMG
head -c 20000 $M >"$TMP/cut.h5"
expect "truncated weight file" "cut.h5: .*(corrupt|HDF5|truncated|read)" gen "$TMP/cut.h5" $IMG
variant notensor "del f['llm.layers.1.mlp.up_proj.weight']"
expect "missing tensor" "notensor.h5: missing tensor 'llm.layers.1.mlp.up_proj.weight'" gen "$TMP/notensor.h5" $IMG
variant shape "w = f['llm.norm.weight'][:]; del f['llm.norm.weight']; f['llm.norm.weight'] = np.concatenate([w, w])"
expect "wrong shape" "shape.h5: tensor 'llm.norm.weight' has shape \[72\], expected \[36\]" gen "$TMP/shape.h5" $IMG
variant dtype "w = f['llm.norm.weight'][:]; del f['llm.norm.weight']; f['llm.norm.weight'] = w.astype(np.int32)"
expect "wrong dtype" "dtype.h5: tensor 'llm.norm.weight': unsupported dtype" gen "$TMP/dtype.h5" $IMG
variant noattr "del f.attrs['hidden']"
expect "missing config attribute" "noattr.h5: missing config attribute 'hidden'" gen "$TMP/noattr.h5" $IMG
# non-finite weights: refused at load, naming the tensor, the value and its index
variant nan "w = f['llm.layers.1.mlp.up_proj.weight']; a = w[:]; a[3, 17] = np.nan; a[5, 2] = np.inf; w[...] = a; f['llm.norm.weight'][4] = -np.inf"
expect "a NaN weight" "nan.h5: tensor 'llm.layers.1.mlp.up_proj.weight' holds a non-finite value \(nan\) at \[3, 17\]$" gen "$TMP/nan.h5" $IMG
expect "inspect: non-finite weights" "nan.h5: 2 tensors hold non-finite values \(first: llm.layers.1.mlp.up_proj.weight, nan at \[3, 17\]\)" $HL_BIN inspect "$TMP/nan.h5"
grep -q "^non-finite: llm.layers.1.mlp.up_proj.weight: 2 values (first: nan at \[3, 17\])$" "$TMP/out" &&
    grep -q "^non-finite: llm.norm.weight: 1 value (first: -inf at \[4\])$" "$TMP/out" ||
    fail "inspect does not list the non-finite tensors: $(grep non-finite "$TMP/out")"
$HL_BIN inspect --no-values "$TMP/nan.h5" >/dev/null 2>&1 || fail "inspect --no-values read the values"
$HL_BIN inspect $M >"$TMP/out" 2>&1 && grep -q "^values: all finite$" "$TMP/out" || fail "inspect of a sound file: $(tail -n 2 "$TMP/out")"
cp tests/fixtures/models/all-bf16/model.h5 "$TMP/inf16.h5"
/usr/bin/python3 -c "import h5py, sys; f = h5py.File(sys.argv[1], 'r+'); w = f['llm.layers.1.mlp.up_proj.weight']; a = w[:]; a[7, 1] = 0x7f80; w[...] = a" "$TMP/inf16.h5"
expect "an infinite bf16 weight" "inf16.h5: tensor 'llm.layers.1.mlp.up_proj.weight' holds a non-finite value \(inf\) at \[7, 1\]$" gen "$TMP/inf16.h5" $IMG
variant nanshard "w = f['llm.layers.0.mlp.down_proj.weight']; a = w[:]; a[2, 40] = np.nan; w[...] = a"
expect "a NaN in the second tensor-parallel shard" "nanshard.h5: tensor 'llm.layers.0.mlp.down_proj.weight' holds a non-finite value \(nan\) at \[2, 40\]$" \
    env OMPI_MCA_orte_execute_quiet=1 $MPIRUN -n 2 $HL_BIN generate --model "$TMP/nanshard.h5" --image $IMG --prompt What? --max-new-tokens 2 --layout 1x1x2
# a size or count past any model's says which attribute, its value and the limit
variant layers "f.attrs['layers'] = np.int64(2**31 - 1)"
expect "2^31-1 layers" "layers.h5: attribute 'layers' = 2147483647 is larger than any model's \(at most 2\^30 = 1073741824\)" gen "$TMP/layers.h5" $IMG
variant layers0 "f.attrs['layers'] = np.int64(0)"
expect "0 layers" "layers0.h5: attribute 'layers' = 0 must be a positive integer" gen "$TMP/layers0.h5" $IMG
variant eps "f.attrs['rms_norm_eps'] = np.float64('nan')"
expect "a NaN epsilon" "eps.h5: attribute 'rms_norm_eps' = nan is not a finite number" gen "$TMP/eps.h5" $IMG
variant std "f.attrs['image_std'] = np.array([0.27, 0.0, 0.28])"
expect "a zero standard deviation" "std.h5: attribute 'image_std'\[1\] = 0 must be positive" gen "$TMP/std.h5" $IMG
expect "missing image" "missing.png: No such file" gen $M "$TMP/missing.png"
: >"$TMP/empty.jpg"
expect "empty image" "empty.jpg: .*empty" gen $M "$TMP/empty.jpg"
head -c 600 $IMG >"$TMP/trunc.jpg"
expect "truncated image" "trunc.jpg: .*truncated" gen $M "$TMP/trunc.jpg"
printf 'GIF89a\x01\x00junk' >"$TMP/corrupt.png"
expect "corrupt image" "corrupt.png: " gen $M "$TMP/corrupt.png"
long=$(printf 'word %.0s' $(seq 1 400))
expect "prompt longer than the context" "prompt of [0-9]+ positions .*exceeds the model's context of 256" gen $M $IMG "$long"
expect "empty prompt" "prompt .*empty" gen $M $IMG ""
expect "unknown option" "unknown option '--bogus'" $HL_BIN generate --bogus
expect "inspect: missing file" "nope.h5: No such file" $HL_BIN inspect "$TMP/nope.h5"
pass_or_fail
