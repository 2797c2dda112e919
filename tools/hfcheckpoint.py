"""Lazy readers for Hugging Face checkpoint files, using only numpy.

Reads safetensors files (8-byte little-endian header length, a JSON header,
then raw little-endian tensor data) and PyTorch zip checkpoints (`.bin`
written by torch.save: a zip holding data.pkl plus one member per storage),
single or sharded through a `*.index.json`. Nothing is read when a file is
opened except its header: each tensor is a TensorRef that reads its bytes
when asked, a block of rows at a time, so converting a 7B model never holds
more than one block of one tensor in memory.

The pickle in a torch checkpoint is read with a restricted Unpickler that
knows only the handful of globals a state dict needs (OrderedDict, the tensor
rebuild functions, the storage classes); anything else is refused, so a
checkpoint cannot run code.

Every problem raises CheckpointError whose message names the file.
"""
import collections
import json
import os
import pickle
import struct
import zipfile

import numpy as np


class CheckpointError(Exception):
    """A problem with an input file; the message names the file."""


# dtype name -> (numpy dtype of the raw bytes, item size). Only the float
# types can be converted; the others are listed so that headers parse and
# integer buffers (position_ids, ...) can be skipped.
_RAW = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U8": np.dtype("u1"), "BOOL": np.dtype("u1"), "F8_E4M3": np.dtype("u1"), "F8_E5M2": np.dtype("u1"),
}
FLOAT_TYPES = ("F64", "F32", "F16", "BF16")

# torch storage class name -> safetensors-style dtype name
_TORCH_STORAGE = {
    "DoubleStorage": "F64", "FloatStorage": "F32", "HalfStorage": "F16", "BFloat16Storage": "BF16",
    "LongStorage": "I64", "IntStorage": "I32", "ShortStorage": "I16", "CharStorage": "I8",
    "ByteStorage": "U8", "BoolStorage": "BOOL",
}

# Rows are read and converted in blocks of about this many elements.
BLOCK_ELEMS = 1 << 22


def to_f32(raw, dtype):
    """Raw little-endian values of a float dtype -> float32 (exact)."""
    if dtype == "F32":
        return raw.astype(np.float32, copy=False)
    if dtype == "BF16":
        return (raw.astype(np.uint32) << 16).view(np.float32)
    if dtype in ("F16", "F64"):
        return raw.astype(np.float32)
    raise ValueError(dtype)


class TensorRef:
    """One tensor of a checkpoint file, read on demand.

    path, name: where it lives; dtype: "F32", "F16", "BF16", ...; shape: tuple.
    A contiguous tensor is `data_offset` bytes into `path`; a strided view of
    a torch storage (rare: tensors that share storage) has `strides` set and
    is read whole.
    """

    def __init__(self, path, name, dtype, shape, data_offset=None, reader=None, storage_offset=0,
                 strides=None):
        self.path = path
        self.name = name
        self.dtype = dtype
        self.shape = tuple(int(s) for s in shape)
        self.data_offset = data_offset  # absolute byte offset of element 0 (contiguous case)
        self.reader = reader  # callable(first_elem, count) -> raw ndarray, for zip members
        self.storage_offset = storage_offset
        self.strides = strides  # element strides when not C-contiguous

    @property
    def numel(self):
        n = 1
        for s in self.shape:
            n *= s
        return n

    def where(self):
        return f"{self.path}: tensor {self.name}"

    def _check_float(self):
        if self.dtype not in FLOAT_TYPES:
            raise CheckpointError(f"{self.where()} has dtype {self.dtype}, expected a float type")

    def _raw(self, first, count):
        """count raw elements starting at element `first` of the flat tensor."""
        raw_dt = _RAW[self.dtype]
        if self.reader is not None:
            return self.reader(self.storage_offset + first, count)
        with open(self.path, "rb") as f:
            f.seek(self.data_offset + first * raw_dt.itemsize)
            buf = np.empty(count, raw_dt)
            got = f.readinto(memoryview(buf).cast("B"))
        if got != count * raw_dt.itemsize:
            raise CheckpointError(f"{self.where()}: file is truncated")
        return buf

    def blocks(self, block_elems=BLOCK_ELEMS):
        """Yields (row0, row1, float32 array of rows row0:row1) along dim 0.

        A 0-d tensor is one block of shape ()."""
        self._check_float()
        if len(self.shape) == 0:
            yield 0, 1, to_f32(self._raw(0, 1), self.dtype).reshape(())
            return
        if self.strides is not None:
            yield 0, self.shape[0], self.read()
            return
        rows = self.shape[0]
        row_elems = self.numel // rows if rows else 0
        step = max(1, block_elems // max(1, row_elems))
        for r0 in range(0, rows, step):
            r1 = min(rows, r0 + step)
            raw = self._raw(r0 * row_elems, (r1 - r0) * row_elems)
            yield r0, r1, to_f32(raw, self.dtype).reshape((r1 - r0,) + self.shape[1:])

    def read(self):
        """The whole tensor as a C-contiguous float32 array."""
        self._check_float()
        if self.strides is None:
            if len(self.shape) == 0:
                return to_f32(self._raw(0, 1), self.dtype).reshape(())
            return to_f32(self._raw(0, self.numel), self.dtype).reshape(self.shape)
        # Strided view into a storage: read the span it covers, then gather.
        if self.numel == 0:
            return np.zeros(self.shape, np.float32)
        span = 1 + sum((n - 1) * s for n, s in zip(self.shape, self.strides))
        raw = self._raw(0, span)
        item = raw.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(raw, self.shape, tuple(s * item for s in self.strides))
        return to_f32(np.ascontiguousarray(view), self.dtype)


# ---------------------------------------------------------------- safetensors

def read_safetensors(path):
    """Header of a safetensors file -> {name: TensorRef}."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) != 8:
                raise CheckpointError(f"{path}: not a safetensors file (shorter than 8 bytes)")
            (n,) = struct.unpack("<Q", head)
            if n > size - 8 or n > (100 << 20):
                raise CheckpointError(f"{path}: not a safetensors file (header length {n} bytes)")
            header = json.loads(f.read(n).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: bad safetensors header ({e})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: bad safetensors header (not a JSON object)")
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (b, e) = info["dtype"], info["shape"], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{path}: bad safetensors header entry for {name}") from None
        if dtype not in _RAW:
            raise CheckpointError(f"{path}: tensor {name} has unknown dtype {dtype}")
        t = TensorRef(path, name, dtype, shape, data_offset=base + b)
        if e - b != t.numel * _RAW[dtype].itemsize or base + e > size or b < 0:
            raise CheckpointError(f"{path}: tensor {name}: data offsets [{b}, {e}) do not fit its "
                                  f"shape {list(t.shape)} and dtype {dtype} (file is {size} bytes)")
        out[name] = t
    return out


# ------------------------------------------------------------- torch zip .bin

class _StorageType:
    def __init__(self, name):
        self.name = name


class _Storage:
    """One storage member of a torch zip: data/<key>."""

    def __init__(self, ckpt, key, dtype):
        self.ckpt, self.key, self.dtype = ckpt, key, dtype


class _TensorStub:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    return _TensorStub(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    return data


class _RestrictedUnpickler(pickle.Unpickler):
    GLOBALS = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    }

    def __init__(self, f, ckpt):
        super().__init__(f)
        self.ckpt = ckpt

    def find_class(self, module, name):
        if (module, name) in self.GLOBALS:
            return self.GLOBALS[(module, name)]
        if module == "torch" and name in _TORCH_STORAGE:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        return _Storage(self.ckpt, str(pid[2]), _TORCH_STORAGE[pid[1].name])


class _TorchZip:
    """A torch zip checkpoint; reads storage bytes straight from the file."""

    def __init__(self, path):
        self.path = path
        self.zf = zipfile.ZipFile(path)
        pkl = [n for n in self.zf.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if not pkl:
            raise CheckpointError(f"{path}: zip file without data.pkl (not a torch checkpoint)")
        self.prefix = pkl[0][: -len("data.pkl")]
        names = set(self.zf.namelist())
        if self.prefix + "byteorder" in names:
            order = self.zf.read(self.prefix + "byteorder").decode().strip()
            if order != "little":
                raise CheckpointError(f"{path}: byte order {order} is not supported")
        self.pkl_name = pkl[0]
        self._offsets = {}

    def member_reader(self, key, dtype):
        """A reader(first, count) for storage `key` whose elements are `dtype`."""
        name = f"{self.prefix}data/{key}"
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise CheckpointError(f"{self.path}: storage {name} is missing") from None
        raw_dt = _RAW[dtype]
        total = info.file_size // raw_dt.itemsize
        path = self.path

        def read(first, count):
            if first + count > total:
                raise CheckpointError(f"{path}: storage {name} is too small for the tensor that uses it")
            if info.compress_type == zipfile.ZIP_STORED:
                off = self._data_offset(info)
                with open(path, "rb") as f:
                    f.seek(off + first * raw_dt.itemsize)
                    buf = np.empty(count, raw_dt)
                    got = f.readinto(memoryview(buf).cast("B"))
                if got != count * raw_dt.itemsize:
                    raise CheckpointError(f"{path}: file is truncated in storage {name}")
                return buf
            data = self.zf.read(name)  # compressed member: no way around reading it whole
            return np.frombuffer(data, raw_dt, count, first * raw_dt.itemsize).copy()

        return read

    def _data_offset(self, info):
        # The local file header (30 bytes + name + extra) precedes the data;
        # its extra field may differ from the central directory's.
        if info.filename not in self._offsets:
            with open(self.path, "rb") as f:
                f.seek(info.header_offset)
                hdr = f.read(30)
            if len(hdr) != 30 or hdr[:4] != b"PK\x03\x04":
                raise CheckpointError(f"{self.path}: bad zip local header for {info.filename}")
            n, m = struct.unpack("<HH", hdr[26:30])
            self._offsets[info.filename] = info.header_offset + 30 + n + m
        return self._offsets[info.filename]

    def tensors(self):
        try:
            with self.zf.open(self.pkl_name) as f:
                obj = _RestrictedUnpickler(f, self).load()
        except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError) as e:
            raise CheckpointError(f"{self.path}: cannot read data.pkl ({e})") from None
        if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
            obj = obj["state_dict"]
        if not isinstance(obj, dict):
            raise CheckpointError(f"{self.path}: data.pkl does not hold a state dict")
        out = {}
        for name, t in obj.items():
            if not isinstance(t, _TensorStub):
                continue
            st = t.storage
            shape, stride = t.size, t.stride
            contiguous = True
            expect = 1
            for n, s in reversed(list(zip(shape, stride))):
                if n != 1 and s != expect:
                    contiguous = False
                expect *= n
            out[name] = TensorRef(self.path, name, st.dtype, shape, reader=self.member_reader(st.key, st.dtype),
                                  storage_offset=t.offset, strides=None if contiguous else stride)
        return out


def read_torch(path):
    """A torch.save zip checkpoint -> {name: TensorRef}."""
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            magic = f.read(2)
        if magic[:1] == b"\x80":
            raise CheckpointError(f"{path}: legacy (pre-zip) PyTorch format is not supported; re-save it "
                                  "with a current torch.save or as safetensors")
        raise CheckpointError(f"{path}: not a PyTorch zip checkpoint")
    try:
        return _TorchZip(path).tensors()
    except zipfile.BadZipFile as e:
        raise CheckpointError(f"{path}: bad zip file ({e})") from None


def read_weights(path):
    """One weights file (.safetensors, or .bin/.pt/.pth) -> {name: TensorRef}."""
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such file")
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    return read_torch(path)


# Weight files a checkpoint folder may have, in the order they are tried.
_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
_SINGLES = ("model.safetensors", "pytorch_model.bin")


def has_weights(folder):
    """Whether a folder holds one of the weight files read_checkpoint_dir reads."""
    return any(os.path.isfile(os.path.join(folder, n)) for n in _INDEXES + _SINGLES)


def read_checkpoint_dir(folder):
    """All tensors of a checkpoint folder, single file or sharded via its index.

    Returns ({name: TensorRef}, description of the source)."""
    for idx in _INDEXES:
        ipath = os.path.join(folder, idx)
        if os.path.isfile(ipath):
            return _read_index(folder, ipath), ipath
    for single in _SINGLES:
        p = os.path.join(folder, single)
        if os.path.isfile(p):
            return read_weights(p), p
    raise CheckpointError(f"{folder}: no weights found (expected one of {', '.join(_INDEXES + _SINGLES)})")


def _read_index(folder, ipath):
    try:
        with open(ipath, encoding="utf-8") as f:
            wmap = json.load(f)["weight_map"]
        if not isinstance(wmap, dict):
            raise TypeError
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
        raise CheckpointError(f"{ipath}: not a checkpoint index (no weight_map object)") from None
    shards = {}
    for shard in sorted(set(wmap.values())):
        p = os.path.join(folder, shard)
        if not os.path.isfile(p):
            raise CheckpointError(f"{p}: missing shard (listed in {os.path.basename(ipath)})")
        shards[shard] = read_weights(p)
    out = {}
    for name, shard in wmap.items():
        if name not in shards[shard]:
            raise CheckpointError(f"{os.path.join(folder, shard)}: tensor {name} is missing "
                                  f"(listed in {os.path.basename(ipath)})")
        out[name] = shards[shard][name]
    return out
