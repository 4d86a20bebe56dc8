# SPDX-License-Identifier: MIT
"""ctypes mirror of <zinc/zinc.h> and <zinc/ring.h>, and the loaded library.

Every structure here must have the size and field offsets the C compiler
gives the header's; tests/test_layout.py compares them with a C program.
"""
import ctypes
import ctypes.util
import os
import pathlib

c_int = ctypes.c_int
c_int32 = ctypes.c_int32
c_int64 = ctypes.c_int64
c_uint8 = ctypes.c_uint8
c_uint16 = ctypes.c_uint16
c_uint32 = ctypes.c_uint32
c_uint64 = ctypes.c_uint64
c_void_p = ctypes.c_void_p
c_char_p = ctypes.c_char_p
POINTER = ctypes.POINTER

# ---- constants (zinc.h) ----------------------------------------------------
OK = 0
EPERM = -1
ENOENT = -2
EINTR = -4
EAGAIN = -11
EBUSY = -16
EEXIST = -17
EINVAL = -22
ENOSPC = -28
EPIPE = -32
EBADMSG = -74
EOVERFLOW = -75
EMSGSIZE = -90
ETIMEDOUT = -110

NAME_MAX = 250
HEADER_SIZE = 64
CREATE_REPLACE_STALE = 0x1
CREATE_PREFAULT = 0x2
CREATE_GROUP_ACCESS = 0x4

# ---- constants (ring.h) ----------------------------------------------------
EVERY, LOSSY, LATEST = 0, 1, 2
PRODUCER_CREATING, PRODUCER_OPEN, PRODUCER_CLOSED = 0, 1, 2  # zinc_producer_state
RING_PREFAULT = 0x1
RING_HUGEPAGES = 0x2
RING_NO_TIMESTAMPS = 0x4
RING_ANONYMOUS = 0x8
RING_GROUP_ACCESS = 0x10
RING_MAX_SLOTS = 65536
RING_MAX_CONSUMERS = 256
RING_DEFAULT_CONSUMERS = 16
DTYPE_INT, DTYPE_UINT, DTYPE_FLOAT, DTYPE_BFLOAT = 0, 1, 2, 4
TENSOR_MAX_DIMS = 4
FRAME_KEYFRAME = 0x0001
FRAME_DISCONTINUITY = 0x0002
FRAME_END_OF_STREAM = 0x0004
FRAME_DEMOTED = 0x10000
FRAME_USER_SIZE = 64
LAT_BUCKETS = 32


def fourcc(code):
    """Pack a 4-character code the way ZINC_FOURCC does."""
    b = code.encode("ascii") if isinstance(code, str) else bytes(code)
    if len(b) != 4:
        raise ValueError("a fourcc has exactly 4 characters")
    return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)


def fourcc_str(value):
    """'RGB3' for ZINC_FOURCC_RGB24; '' for 0 (raw)."""
    if not value:
        return ""
    return bytes((value >> s) & 0xFF for s in (0, 8, 16, 24)).decode("latin-1")


FOURCC_RAW = 0
FOURCC_GREY = fourcc("GREY")
FOURCC_RGB24 = fourcc("RGB3")
FOURCC_RGBA32 = fourcc("AB24")
FOURCC_NV12 = fourcc("NV12")
FOURCC_PC32F = fourcc("PC3F")


# ---- structures ------------------------------------------------------------
class zinc_create_opts(ctypes.Structure):
    _fields_ = [
        ("layout_version", c_uint32),
        ("flags", c_uint32),
        ("reserved", c_uint64 * 6),
    ]


class zinc_region_info(ctypes.Structure):
    _fields_ = [
        ("version", c_uint16),
        ("flags", c_uint16),
        ("notify_seq", c_uint32),
        ("capacity", c_uint64),
        ("data_offset", c_uint64),
        ("file_size", c_uint64),
        ("ref_count", c_uint32),
        ("owner_pid", c_int32),
        ("owner_alive", c_int32),
        ("is_ring", c_uint32),
        ("created_at", c_uint64),
        ("name_hash", c_uint64),
        ("owner_uid", c_uint32),
        ("foreign", c_uint32),
        ("reserved", c_uint64 * 3),
    ]


class zinc_ring_config(ctypes.Structure):
    _fields_ = [
        ("slot_count", c_uint32),
        ("max_consumers", c_uint32),
        ("slot_size", c_uint64),
        ("flags", c_uint32),
        ("spin_ns", c_uint32),
        ("demote_after_ns", c_uint64),
        ("reserved", c_uint64 * 6),
    ]


class zinc_tensor(ctypes.Structure):
    _fields_ = [
        ("dtype_code", c_uint8),
        ("dtype_bits", c_uint8),
        ("dtype_lanes", c_uint16),
        ("ndim", c_uint32),
        ("offset", c_uint64),
        ("shape", c_uint64 * TENSOR_MAX_DIMS),
        ("strides", c_int64 * TENSOR_MAX_DIMS),
    ]


class zinc_frame(ctypes.Structure):
    _fields_ = [
        ("data", c_void_p),
        ("size", c_uint64),
        ("seq", c_uint64),
        ("timestamp_ns", c_uint64),
        ("publish_ns", c_uint64),
        ("dropped", c_uint64),
        ("tensor", zinc_tensor),
        ("fourcc", c_uint32),
        ("flags", c_uint32),
        ("user", c_uint8 * FRAME_USER_SIZE),
        ("reserved", c_uint64 * 4),
    ]


class zinc_consumer_stats(ctypes.Structure):
    _fields_ = [
        ("index", c_uint32),
        ("mode", c_uint32),
        ("pid", c_int32),
        ("alive", c_uint32),
        ("demoted", c_uint32),
        ("evicted", c_uint32),
        ("cursor", c_uint64),
        ("lag", c_uint64),
        ("acquired", c_uint64),
        ("released", c_uint64),
        ("dropped", c_uint64),
        ("torn", c_uint64),
        ("attached_ns", c_uint64),
        ("latency", c_uint64 * LAT_BUCKETS),
    ]


class zinc_ring_stats(ctypes.Structure):
    _fields_ = [
        ("generation", c_uint64),
        ("head", c_uint64),
        ("slot_count", c_uint32),
        ("max_consumers", c_uint32),
        ("slot_size", c_uint64),
        ("ring_bytes", c_uint64),
        ("producer_state", c_uint32),
        ("producer_alive", c_uint32),
        ("producer_pid", c_int32),
        ("consumers", c_uint32),
        ("published", c_uint64),
        ("aborted", c_uint64),
        ("blocked_ns", c_uint64),
        ("blocked_claims", c_uint64),
        ("evicted", c_uint64),
        ("demoted", c_uint64),
        ("created_ns", c_uint64),
        ("last_publish_ns", c_uint64),
        ("flags", c_uint32),
        ("stream_fourcc", c_uint32),
        ("published_bytes", c_uint64),
        ("owner_uid", c_uint32),
        ("foreign", c_uint32),
        ("reserved", c_uint64 * 4),
    ]


STRUCTS = {
    "zinc_create_opts": zinc_create_opts,
    "zinc_region_info": zinc_region_info,
    "zinc_ring_config": zinc_ring_config,
    "zinc_tensor": zinc_tensor,
    "zinc_frame": zinc_frame,
    "zinc_consumer_stats": zinc_consumer_stats,
    "zinc_ring_stats": zinc_ring_stats,
}


# ---- locating the library ----------------------------------------------------
def _installed():
    """libzinc.so.0 of the `meson install` that installed this package, if it
    did: _config.py (generated by python/meson.build, installed only) names
    the libdir and where the package went. A tree staged with DESTDIR (or
    moved whole) is found under the same root as the package."""
    try:
        from . import _config
    except ImportError:
        return None  # not installed by meson: a source tree or a copy
    here = str(pathlib.Path(__file__).resolve().parent.parent)
    pydir = os.path.normpath(_config.PYTHONDIR)
    root = here[:-len(pydir)] if here.endswith(pydir) else ""
    for libdir in (root + _config.LIBDIR, _config.LIBDIR):
        p = os.path.join(libdir, "libzinc.so.0")
        if os.path.exists(p):
            return p
    return None


def _candidates():
    env = os.environ.get("ZINC_LIB")
    if env:
        # An explicit choice is final: a wrong path must fail loudly rather
        # than silently load some other libzinc.
        return [env], True
    out = []
    inst = _installed()
    if inst:
        out.append(inst)
    repo = pathlib.Path(__file__).resolve().parent.parent.parent
    for rel in ("build/src/libzinc.so", "build/src/libzinc.so.0"):
        p = repo / rel
        if p.exists():
            out.append(str(p))
    found = ctypes.util.find_library("zinc")
    if found:
        out.append(found)
    out.append("libzinc.so.0")
    return out, False


def _load():
    names, explicit = _candidates()
    errors = []
    for n in names:
        try:
            return ctypes.CDLL(n), n
        except OSError as e:
            errors.append(f"{n}: {e}")
            if explicit:
                break
    raise ImportError(
        "zinc: cannot load libzinc.so (set ZINC_LIB to its path, build it with "
        "'meson setup build && ninja -C build', or install it): " + "; ".join(errors))


lib, path = _load()


def _library_version():
    """The version of the libzinc actually loaded (zinc_version_string),
    or None for a library too old to have it."""
    fn = getattr(lib, "zinc_version_string", None)
    if fn is None:
        return None
    fn.argtypes = []
    fn.restype = c_char_p
    v = fn()
    return v.decode() if v else None


library_version = _library_version()

_ZincHandle = c_void_p


def _missing(name):
    def fail(*args):
        raise NotImplementedError(f"{path} has no symbol {name}: it predates the frame ring")
    return fail


def _proto(name, restype, *argtypes, optional=False):
    try:
        fn = getattr(lib, name)
    except AttributeError:
        if optional:
            return _missing(name)
        raise
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


# Region (upstream ABI + extensions)
zinc_create = _proto("zinc_create", c_int32, c_char_p, ctypes.c_size_t, POINTER(_ZincHandle))
zinc_open = _proto("zinc_open", c_int32, c_char_p, POINTER(_ZincHandle))
zinc_ptr = _proto("zinc_ptr", c_void_p, _ZincHandle)
zinc_capacity = _proto("zinc_capacity", ctypes.c_size_t, _ZincHandle)
zinc_close = _proto("zinc_close", None, _ZincHandle)
zinc_notify = _proto("zinc_notify", None, _ZincHandle)
zinc_wait = _proto("zinc_wait", c_int32, _ZincHandle, c_uint32)
zinc_try_wait = _proto("zinc_try_wait", c_int32, _ZincHandle)
zinc_version = _proto("zinc_version", c_uint32)
zinc_create_ex = _proto("zinc_create_ex", c_int32, c_char_p, ctypes.c_size_t,
                        POINTER(zinc_create_opts), POINTER(_ZincHandle))
zinc_unlink = _proto("zinc_unlink", c_int32, c_char_p)
zinc_inspect = _proto("zinc_inspect", c_int32, c_char_p, POINTER(zinc_region_info))
zinc_region_info_get = _proto("zinc_region_info_get", c_int32, _ZincHandle,
                              POINTER(zinc_region_info))
zinc_layout = _proto("zinc_layout", c_uint32, _ZincHandle)
zinc_name_hash = _proto("zinc_name_hash", c_uint64, c_char_p)
zinc_name_valid = _proto("zinc_name_valid", c_int32, c_char_p)
zinc_strerror = _proto("zinc_strerror", c_char_p, c_int32)
zinc_last_error = _proto("zinc_last_error", c_char_p)

# Ring (optional: a library built before the ring has only regions)
def _ring(name, restype, *argtypes):
    return _proto(name, restype, *argtypes, optional=True)


_P = c_void_p  # zinc_producer *
_C = c_void_p  # zinc_consumer *
zinc_producer_create = _ring("zinc_producer_create", c_int, c_char_p,
                             POINTER(zinc_ring_config), POINTER(_P))
zinc_producer_claim = _ring("zinc_producer_claim", c_int, _P, POINTER(zinc_frame), c_int64)
zinc_producer_publish = _ring("zinc_producer_publish", c_int, _P, POINTER(zinc_frame))
zinc_producer_abort = _ring("zinc_producer_abort", c_int, _P, POINTER(zinc_frame))
zinc_producer_set_stream = _ring("zinc_producer_set_stream", c_int, _P, POINTER(zinc_frame))
zinc_producer_generation = _ring("zinc_producer_generation", c_uint64, _P)
zinc_producer_close = _ring("zinc_producer_close", None, _P)
zinc_consumer_open = _ring("zinc_consumer_open", c_int, c_char_p, c_int, POINTER(_C))
zinc_consumer_acquire = _ring("zinc_consumer_acquire", c_int, _C, POINTER(zinc_frame), c_int64)
zinc_consumer_release = _ring("zinc_consumer_release", c_int, _C, POINTER(zinc_frame))
zinc_consumer_stream = _ring("zinc_consumer_stream", c_int, _C, POINTER(zinc_frame))
zinc_consumer_config = _ring("zinc_consumer_config", c_int, _C, POINTER(zinc_ring_config))
zinc_consumer_generation = _ring("zinc_consumer_generation", c_uint64, _C)
zinc_consumer_mode = _ring("zinc_consumer_mode", c_int, _C)
zinc_consumer_close = _ring("zinc_consumer_close", None, _C)
zinc_frame_set_image = _ring("zinc_frame_set_image", c_int, POINTER(zinc_frame),
                             c_uint32, c_uint32, c_uint32)
zinc_frame_set_points = _ring("zinc_frame_set_points", c_int, POINTER(zinc_frame),
                              c_uint64, c_uint32)
zinc_tensor_check = _ring("zinc_tensor_check", c_int, POINTER(zinc_tensor), c_uint64)
zinc_tensor_span = _ring("zinc_tensor_span", c_uint64, POINTER(zinc_tensor))
zinc_ring_stats_read = _ring("zinc_ring_stats_read", c_int, c_char_p,
                             POINTER(zinc_ring_stats), POINTER(zinc_consumer_stats),
                             c_uint32, POINTER(c_uint32))
zinc_ring_remove_stale = _ring("zinc_ring_remove_stale", c_int, c_char_p)
zinc_ring_size = _ring("zinc_ring_size", c_uint64, POINTER(zinc_ring_config))
# Waiting in event loops (a library without them raises NotImplementedError)
zinc_consumer_fd = _ring("zinc_consumer_fd", c_int, _C)
zinc_wait_any = _ring("zinc_wait_any", c_int, POINTER(_C), c_uint32, c_int64)
zinc_consumer_mapping = _ring("zinc_consumer_mapping", c_int, _C, POINTER(c_void_p),
                              POINTER(ctypes.c_size_t))
zinc_producer_mapping = _ring("zinc_producer_mapping", c_int, _P, POINTER(c_void_p),
                              POINTER(ctypes.c_size_t))
# Sealed anonymous rings and the socket rendezvous (docs/rendezvous.md)
zinc_producer_listen = _ring("zinc_producer_listen", c_int, _P, c_char_p)
zinc_producer_unlisten = _ring("zinc_producer_unlisten", c_int, _P)
zinc_producer_fd = _ring("zinc_producer_fd", c_int, _P)
zinc_consumer_connect = _ring("zinc_consumer_connect", c_int, c_char_p, c_int, POINTER(_C))
zinc_consumer_open_fd = _ring("zinc_consumer_open_fd", c_int, c_int, c_int, POINTER(_C))
zinc_ring_connect = _ring("zinc_ring_connect", c_int, c_char_p)
zinc_ring_stats_read_fd = _ring("zinc_ring_stats_read_fd", c_int, c_int,
                                POINTER(zinc_ring_stats), POINTER(zinc_consumer_stats),
                                c_uint32, POINTER(c_uint32))
zinc_socket_registry = _ring("zinc_socket_registry", c_int, c_char_p, ctypes.c_size_t)
zinc_inspect_fd = _ring("zinc_inspect_fd", c_int32, c_int, POINTER(zinc_region_info))


def strerror(code):
    return zinc_strerror(code).decode("utf-8", "replace")


def last_error():
    return zinc_last_error().decode("utf-8", "replace")
