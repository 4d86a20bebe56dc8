# SPDX-License-Identifier: MIT
"""Tensor descriptors <-> numpy: dtype mapping, bounds checks, views, DLPack."""
import collections
import ctypes

from . import _lib
from .errors import Corrupted, InvalidArgument

try:
    import numpy as np
except ImportError:  # numpy is optional for regions and raw bytes
    np = None

Tensor = collections.namedtuple("Tensor", ["dtype_code", "dtype_bits", "dtype_lanes",
                                           "ndim", "offset", "shape", "strides"])
Tensor.__doc__ = """A frame's tensor description, copied out of shared memory.
shape/strides have ndim entries; strides are in bytes; offset is the byte
offset of element [0, ...] inside the payload."""

_MAX_EXTENT = 1 << 48  # same bound as the C check on each dimension


def tensor_from_c(t):
    n = int(t.ndim)
    k = min(n, _lib.TENSOR_MAX_DIMS)
    return Tensor(int(t.dtype_code), int(t.dtype_bits), int(t.dtype_lanes), n,
                  int(t.offset), tuple(int(t.shape[i]) for i in range(k)),
                  tuple(int(t.strides[i]) for i in range(k)))


def tensor_to_c(t, out=None):
    c = out if out is not None else _lib.zinc_tensor()
    ctypes.memset(ctypes.byref(c), 0, ctypes.sizeof(c))
    c.dtype_code, c.dtype_bits, c.dtype_lanes = t.dtype_code, t.dtype_bits, t.dtype_lanes
    c.ndim, c.offset = t.ndim, t.offset
    for i in range(min(t.ndim, _lib.TENSOR_MAX_DIMS)):
        c.shape[i] = t.shape[i]
        c.strides[i] = t.strides[i]
    return c


def dtype_of(code, bits, lanes=1):
    """numpy dtype for a DLPack (code, bits); lanes are handled by the caller."""
    if np is None:
        raise ImportError("numpy is needed for typed frame views")
    kind = {_lib.DTYPE_INT: "i", _lib.DTYPE_UINT: "u", _lib.DTYPE_FLOAT: "f"}.get(code)
    if kind is None or bits % 8 or bits == 0:
        if code == _lib.DTYPE_BFLOAT:
            raise TypeError("bfloat16 frames have no numpy dtype: pass dtype=np.uint16 "
                            "to read the raw bits, or use __dlpack__ with a framework "
                            "that knows bfloat16")
        raise TypeError(f"no numpy dtype for DLPack code {code} bits {bits}")
    try:
        dt = np.dtype(f"<{kind}{bits // 8}")
    except TypeError:
        raise TypeError(f"no numpy dtype for DLPack code {code} bits {bits}") from None
    if kind == "f" and bits not in (16, 32, 64):
        raise TypeError(f"no numpy float of {bits} bits")
    return dt


def code_of(dtype):
    """(code, bits) for a numpy dtype: signed/unsigned ints and IEEE floats."""
    dt = np.dtype(dtype)
    if dt.byteorder == ">" or (dt.byteorder == "=" and not _little()):
        raise TypeError("frames are little-endian: convert with .astype('<...')")
    code = {"i": _lib.DTYPE_INT, "u": _lib.DTYPE_UINT, "f": _lib.DTYPE_FLOAT}.get(dt.kind)
    if code is None or dt.itemsize > 8 or (dt.kind == "f" and dt.itemsize not in (2, 4, 8)):
        raise TypeError(f"dtype {dt} cannot be described in a frame (ints, uints and "
                        f"float16/32/64 only; view bools as uint8)")
    return code, dt.itemsize * 8


def _little():
    import sys
    return sys.byteorder == "little"


def extent(t):
    """(lo, hi): the bytes [lo, hi) the tensor touches, in exact integers."""
    if not 0 < t.ndim <= _lib.TENSOR_MAX_DIMS:
        raise Corrupted(_lib.EBADMSG, f"tensor ndim {t.ndim} outside 1..4")
    if t.dtype_lanes < 1 or t.dtype_bits == 0 or t.dtype_bits % 8:
        raise Corrupted(_lib.EBADMSG, f"tensor dtype bits {t.dtype_bits} lanes "
                        f"{t.dtype_lanes} invalid")
    elem = t.dtype_bits // 8 * t.dtype_lanes
    lo = hi = t.offset
    for n, s in zip(t.shape, t.strides):
        if n == 0:
            return t.offset, t.offset
        if n > _MAX_EXTENT:
            raise Corrupted(_lib.EBADMSG, f"tensor dimension {n} too large")
        span = s * (n - 1)
        if span < 0:
            lo += span
        else:
            hi += span
    return lo, hi + elem


def validate(t, size):
    """Check tensor `t` against a payload of `size` bytes, twice: with the C
    library's zinc_tensor_check and with exact Python integers. Raises
    Corrupted on any element outside [0, size)."""
    if t.ndim == 0:
        return
    rc = _lib.zinc_tensor_check(ctypes.byref(tensor_to_c(t)), size)
    if rc != 0:
        raise Corrupted(_lib.EBADMSG, f"tensor does not fit the frame ({size} bytes): "
                        f"{_lib.last_error()}")
    lo, hi = extent(t)
    if lo < 0 or hi > size:
        raise Corrupted(_lib.EBADMSG, f"tensor reaches bytes [{lo}, {hi}) outside the "
                        f"frame's {size} bytes")


def ndarray(buf, t, size, dtype=None):
    """A numpy array over memoryview `buf` (exactly `size` bytes) described by
    `t` (validated here). ndim 0 gives the raw bytes as uint8 (or `dtype`).
    Lanes > 1 become a trailing dimension."""
    if np is None:
        raise ImportError("numpy is needed for frame arrays")
    if len(buf) != size:
        raise InvalidArgument(_lib.EINVAL, "buffer and size disagree")
    base = np.frombuffer(buf, dtype=np.uint8) if size else np.empty(0, np.uint8)
    if t.ndim == 0:
        if dtype is None:
            return base
        return base[: size - size % np.dtype(dtype).itemsize].view(dtype)
    validate(t, size)
    natural = None
    try:
        natural = dtype_of(t.dtype_code, t.dtype_bits)
    except TypeError:
        if dtype is None:
            raise
    dt = np.dtype(dtype) if dtype is not None else natural
    if dt.itemsize != t.dtype_bits // 8:
        raise TypeError(f"dtype {dt} has {dt.itemsize} bytes, the frame's elements "
                        f"have {t.dtype_bits // 8}")
    shape, strides = list(t.shape), list(t.strides)
    if t.dtype_lanes > 1:
        shape.append(t.dtype_lanes)
        strides.append(dt.itemsize)
    if 0 in shape:
        return np.empty(shape, dt)
    # numpy checks the extent against `base` once more (third check), and the
    # result inherits base's writeability (read-only stays read-only).
    return np.ndarray(tuple(shape), dtype=dt, buffer=base, offset=t.offset,
                      strides=tuple(strides))


def describe(shape, dtype, strides=None, offset=0):
    """Tensor for a `dtype` array of `shape` (C order unless byte `strides`)."""
    code, bits = code_of(dtype)
    shape = tuple(int(n) for n in shape)
    if not 1 <= len(shape) <= _lib.TENSOR_MAX_DIMS:
        raise InvalidArgument(_lib.EINVAL, f"a frame tensor has 1..4 dimensions, not "
                              f"{len(shape)}")
    if any(n < 0 for n in shape):
        raise InvalidArgument(_lib.EINVAL, "negative dimension")
    if strides is None:
        item = bits // 8
        acc, st = item, []
        for n in reversed(shape):
            st.append(acc)
            acc *= max(n, 1)
        strides = tuple(reversed(st))
    else:
        strides = tuple(int(s) for s in strides)
        if len(strides) != len(shape):
            raise InvalidArgument(_lib.EINVAL, "strides and shape differ in length")
    return Tensor(code, bits, 1, len(shape), int(offset), shape, strides)


# ---- DLPack export -------------------------------------------------------------
class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class DLManagedTensor(ctypes.Structure):
    pass


_DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
DLManagedTensor._fields_ = [
    ("dl_tensor", DLTensor),
    ("manager_ctx", ctypes.c_void_p),
    ("deleter", _DELETER),
]

KDLCPU = 1

# Exported tensors alive on the consumer's side, by DLManagedTensor address:
# (the struct, shape and strides arrays, the keeper of the mapping).
_exports = {}

_capsule_name = ctypes.create_string_buffer(b"dltensor")
_PyCapsule_New = ctypes.pythonapi.PyCapsule_New
_PyCapsule_New.restype = ctypes.py_object
_PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_PyCapsule_IsValid = ctypes.pythonapi.PyCapsule_IsValid
_PyCapsule_IsValid.restype = ctypes.c_int
_PyCapsule_IsValid.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_PyCapsule_GetPointer = ctypes.pythonapi.PyCapsule_GetPointer
_PyCapsule_GetPointer.restype = ctypes.c_void_p
_PyCapsule_GetPointer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]


def _deleter(addr):
    # Called by the consumer of the capsule (numpy, torch...) when it is done,
    # with the GIL taken by ctypes. Drops our references. During interpreter
    # shutdown the module may already be torn down: then there is nothing
    # left to drop.
    exports = _exports
    if exports is not None:
        exports.pop(addr, None)


_deleter_c = _DELETER(_deleter)


def _capsule_destructor(capsule):
    # The capsule died. If it is still named "dltensor", nobody consumed it
    # and the deleter is ours to call (DLPack's rule); a consumer renames it
    # to "used_dltensor" and calls the deleter itself later.
    if _PyCapsule_IsValid(capsule, _capsule_name):
        addr = _PyCapsule_GetPointer(capsule, _capsule_name)
        if addr:
            _deleter(addr)


_CAPSULE_DESTRUCTOR = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_capsule_destructor_c = _CAPSULE_DESTRUCTOR(_capsule_destructor)


def dlpack_capsule(address, t, size, keeper):
    """A "dltensor" capsule over `size` bytes at `address` described by `t`.

    Raises BufferError for what DLPack cannot express (raw bytes are exported
    as a 1-D uint8 tensor; byte strides that are not a multiple of the element
    size cannot be exported)."""
    if t.ndim == 0:
        t = Tensor(_lib.DTYPE_UINT, 8, 1, 1, 0, (size,), (1,))
    else:
        validate(t, size)
    item = t.dtype_bits // 8 * t.dtype_lanes
    if any(s % item for s in t.strides):
        raise BufferError("byte strides that are not a multiple of the element size "
                          "cannot be expressed in DLPack (element strides)")
    n = t.ndim
    shape = (ctypes.c_int64 * n)(*t.shape)
    strides = (ctypes.c_int64 * n)(*(s // item for s in t.strides))
    m = DLManagedTensor()
    m.dl_tensor.data = address
    m.dl_tensor.device = DLDevice(KDLCPU, 0)
    m.dl_tensor.ndim = n
    m.dl_tensor.dtype = DLDataType(t.dtype_code, t.dtype_bits, t.dtype_lanes)
    m.dl_tensor.shape = ctypes.cast(shape, ctypes.POINTER(ctypes.c_int64))
    m.dl_tensor.strides = ctypes.cast(strides, ctypes.POINTER(ctypes.c_int64))
    m.dl_tensor.byte_offset = t.offset
    m.manager_ctx = None
    m.deleter = _deleter_c
    addr = ctypes.addressof(m)
    _exports[addr] = (m, shape, strides, keeper)
    return _PyCapsule_New(addr, _capsule_name, ctypes.cast(_capsule_destructor_c,
                                                            ctypes.c_void_p))


def dlpack_exports():
    """Number of DLPack tensors exported and not yet deleted (for tests)."""
    return len(_exports)
