# SPDX-License-Identifier: MIT
"""zinc — Python adapter for the zinc shared-memory library (ctypes, no build).

Regions (upstream Zinc's model)::

    with zinc.Region.create("my-data", 4096) as r:
        a = r.numpy(np.float32)      # zero-copy view of the data area
        a[:] = 1.0
        r.notify()

Frame rings::

    with zinc.Consumer.open("cam0", zinc.Mode.LATEST) as c:
        for frame in c:              # until the producer is gone
            with frame:              # released on exit; TornFrame if overwritten
                img = frame.numpy()  # typed from the descriptor, read-only, no copy

The shared library is found through $ZINC_LIB, else the one installed with
this package (meson install), else build/src/libzinc.so in the source tree
this package sits in, else the system's libzinc.so.0. See docs/python.md.
"""
from . import _lib
from ._lib import (FOURCC_GREY, FOURCC_NV12, FOURCC_PC32F, FOURCC_RAW, FOURCC_RGB24,
                   FOURCC_RGBA32, FRAME_DEMOTED, FRAME_DISCONTINUITY, FRAME_END_OF_STREAM,
                   FRAME_KEYFRAME, fourcc, fourcc_str)
from .errors import (BadMessage, Busy, Corrupted, CudaUnavailable, Exists, FrameReleased,
                     FrameTooLarge, Interrupted, InvalidArgument, NoSpace, NotFound,
                     PermissionDenied, ProducerGone, Timeout, TornFrame, WouldBlock, ZincError)
from .region import Region, RegionInfo, SharedRegion, inspect, name_hash, unlink
from .ring import (Consumer, ConsumerStats, Frame, Mode, Producer, RingConfig, RingStats,
                   ring_remove_stale, ring_size, ring_stats, wait_any)
from .tensor import Tensor

library_path = _lib.path


class Version(tuple):
    """What version() returns: the two versions of the loaded library, named.

    ``library``: the library's own version, "MAJOR.MINOR.MICRO" (what
    ``zinc --version`` prints; None if it cannot be told from the loaded
    file). ``abi``: the upstream Zinc C ABI it implements, (major, minor).
    As a tuple it is ``abi``, which is what version() returned before.
    """

    def __new__(cls, library, abi):
        v = super().__new__(cls, abi)
        v.library = library
        v.abi = tuple(abi)
        return v

    def __repr__(self):
        return f"zinc.Version(library={self.library!r}, abi={self.abi!r})"


def version():
    """The library's version and the C ABI version it implements (Version)."""
    v = _lib.zinc_version()
    return Version(_lib.library_version, (v >> 16, v & 0xFFFF))


__version__ = _lib.library_version


def strerror(code):
    return _lib.strerror(code)


def last_error():
    return _lib.last_error()


__all__ = [
    "Region", "SharedRegion", "RegionInfo", "inspect", "unlink", "name_hash",
    "Producer", "Consumer", "Frame", "Mode", "RingConfig", "RingStats", "ConsumerStats",
    "ring_stats", "ring_remove_stale", "ring_size", "wait_any", "Tensor",
    "ZincError", "PermissionDenied", "NotFound", "Interrupted", "WouldBlock", "Busy", "Exists",
    "InvalidArgument", "NoSpace", "ProducerGone", "Corrupted", "BadMessage", "TornFrame",
    "FrameTooLarge", "Timeout", "FrameReleased", "CudaUnavailable",
    "FOURCC_RAW", "FOURCC_GREY", "FOURCC_RGB24", "FOURCC_RGBA32", "FOURCC_NV12",
    "FOURCC_PC32F", "FRAME_KEYFRAME", "FRAME_DISCONTINUITY", "FRAME_END_OF_STREAM",
    "FRAME_DEMOTED", "fourcc", "fourcc_str", "version", "Version", "strerror", "last_error",
    "library_path",
]
