# SPDX-License-Identifier: MIT
"""Raw shared memory as Python buffers, with memory-safe lifetimes.

Every native handle (region, producer, consumer) is closed by a finalizer on
a small *keeper* object. The handle's owner holds the keeper; so does every
buffer made over the handle's mapping (through the ctypes object numpy's
arrays keep as their base). ``close()`` drops the owner's reference: the
handle is closed at once if no view is left, or when the last view dies —
never while an array still points into the mapping (which would crash the
interpreter on the next access instead of raising).
"""
import ctypes
import weakref

from . import _lib
from .errors import InvalidArgument


class Keeper:
    """Closes a native handle once its owner closed and no view is left."""

    __slots__ = ("_finalizer", "__weakref__")

    def __init__(self, close_fn, handle):
        self._finalizer = weakref.finalize(self, close_fn, handle)

    @property
    def alive(self):
        return self._finalizer.alive


class Handle:
    """What Region, Producer and Consumer share: a native handle (``_h``,
    None once closed), its name, ``with`` support and close on collection.
    Subclasses define ``close()`` and ``_what`` ("region", ...)."""

    _h = None
    _what = "handle"

    def _handle(self):
        if self._h is None:
            raise InvalidArgument(_lib.EINVAL, f"{self._what} is closed")
        return self._h

    @property
    def name(self):
        return self._name

    @property
    def closed(self):
        return self._h is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


_types = {}


def _bytes_type(n):
    t = _types.get(n)
    if t is None:
        # A subclass, so that instances accept the _zinc_keep attribute.
        t = type(f"zinc_bytes_{n}", (ctypes.c_ubyte * n,), {})
        if len(_types) > 64:
            _types.clear()
        _types[n] = t
    return t


def view(keeper, address, nbytes, readonly):
    """A memoryview of `nbytes` bytes at `address` that keeps `keeper` alive."""
    if nbytes < 0:
        raise ValueError("negative size")
    if nbytes and not address:
        raise ValueError("NULL address")
    obj = _bytes_type(nbytes).from_address(address if nbytes else _EMPTY_ADDR)
    obj._zinc_keep = keeper
    mv = memoryview(obj).cast("B")
    return mv.toreadonly() if readonly else mv


_EMPTY = ctypes.c_ubyte * 1
_empty = _EMPTY()
_EMPTY_ADDR = ctypes.addressof(_empty)
