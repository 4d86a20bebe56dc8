# SPDX-License-Identifier: MIT
"""Region: a named Zinc shared-memory region (create/open, views, notify/wait)."""
import collections
import ctypes
import math
import time

from . import _lib, _mem
from .errors import InvalidArgument, check

RegionInfo = collections.namedtuple("RegionInfo", [
    "version", "flags", "notify_seq", "capacity", "data_offset", "file_size",
    "ref_count", "owner_pid", "owner_alive", "is_ring", "created_at", "name_hash",
    "owner_uid", "foreign"])

# Longest single zinc_wait: short enough that Ctrl-C is seen promptly (the
# call runs without the GIL, signals are handled between slices).
_SLICE_MS = 250


def _name(name):
    if not isinstance(name, (str, bytes)):
        raise TypeError("region name must be str or bytes")
    b = name.encode("utf-8") if isinstance(name, str) else name
    if _lib.zinc_name_valid(b) != 0:
        raise InvalidArgument(_lib.EINVAL, f"invalid name {name!r}: use [A-Za-z0-9_-], "
                              f"1..{_lib.NAME_MAX} bytes")
    return b


def _info(ci):
    return RegionInfo(ci.version, ci.flags, ci.notify_seq, ci.capacity, ci.data_offset,
                      ci.file_size, ci.ref_count, ci.owner_pid, bool(ci.owner_alive),
                      bool(ci.is_ring), ci.created_at, ci.name_hash, ci.owner_uid,
                      bool(ci.foreign))


class Region(_mem.Handle):
    """A Zinc shared-memory region.

    ``Region.create(name, capacity)`` makes one (capacity: a non-zero multiple
    of the page size), ``Region.open(name)`` attaches to an existing one (layout
    1 or 2). ``buffer()`` and ``numpy()`` are zero-copy views of the data
    area; ``notify()``/``wait()``/``try_wait()`` signal across processes.

    ``close()`` (or leaving a ``with`` block) gives the handle back; if numpy
    arrays or memoryviews made from this region are still alive, the mapping
    stays until the last of them is gone (so they never point at unmapped
    memory), but the Region object itself is unusable from then on.
    """

    _what = "region"

    def __init__(self, handle, name, owner):
        # Use Region.create / Region.open.
        self._h = handle
        self._name = name
        self._owner = owner
        self._keeper = _mem.Keeper(_lib.zinc_close, handle)
        self._capacity = int(_lib.zinc_capacity(handle))
        self._layout = int(_lib.zinc_layout(handle))
        self._ptr = _lib.zinc_ptr(handle)

    # ---- life cycle ---------------------------------------------------------
    @classmethod
    def create(cls, name, capacity, *, layout=1, replace_stale=False, prefault=False,
               group_access=False):
        """Create region `name` with `capacity` data bytes (page multiple).

        layout=2 puts the data one page into the object (upstream's newer
        layout); replace_stale replaces a name whose owner is gone;
        group_access makes the object 0660 instead of 0600 (for readers of
        other users in the creator's group who trust this uid).
        Raises Exists, InvalidArgument, NoSpace, PermissionDenied, ...
        """
        b = _name(name)
        if not isinstance(capacity, int) or capacity <= 0:
            raise InvalidArgument(_lib.EINVAL, "capacity must be a positive int "
                                  "(a multiple of the page size)")
        out = ctypes.c_void_p()
        if layout == 1 and not replace_stale and not prefault and not group_access:
            check(_lib.zinc_create(b, capacity, ctypes.byref(out)))
        else:
            opts = _lib.zinc_create_opts()
            opts.layout_version = layout
            opts.flags = ((_lib.CREATE_REPLACE_STALE if replace_stale else 0)
                          | (_lib.CREATE_PREFAULT if prefault else 0)
                          | (_lib.CREATE_GROUP_ACCESS if group_access else 0))
            check(_lib.zinc_create_ex(b, capacity, ctypes.byref(opts), ctypes.byref(out)))
        return cls(out.value, b.decode(), True)

    @classmethod
    def open(cls, name):
        """Open existing region `name`. Raises NotFound, Corrupted, ..."""
        b = _name(name)
        out = ctypes.c_void_p()
        check(_lib.zinc_open(b, ctypes.byref(out)))
        return cls(out.value, b.decode(), False)

    def close(self):
        """Give the handle back (idempotent); see the class doc for live views."""
        if self._h is not None:
            self._h = None
            self._ptr = None
            self._keeper = None  # the finalizer runs now, or with the last view

    # ---- properties ---------------------------------------------------------
    @property
    def capacity(self):
        """Usable data bytes."""
        return self._capacity

    @property
    def layout(self):
        """1 (data at byte 64) or 2 (data at one page)."""
        return self._layout

    @property
    def owner(self):
        """True for the handle that created the region."""
        return self._owner

    @property
    def address(self):
        """Address of the first data byte in this process."""
        self._handle()
        return self._ptr

    def info(self):
        """Snapshot of the header (RegionInfo)."""
        ci = _lib.zinc_region_info()
        check(_lib.zinc_region_info_get(self._handle(), ctypes.byref(ci)))
        return _info(ci)

    # ---- views --------------------------------------------------------------
    def buffer(self):
        """Writable memoryview of the whole data area (no copy)."""
        self._handle()
        return _mem.view(self._keeper, self._ptr, self._capacity, readonly=False)

    def numpy(self, dtype=None, count=-1, offset=0):
        """numpy array over the data area (no copy): `count` items of `dtype`
        (default uint8; -1 = as many as fit) starting `offset` bytes in."""
        import numpy as np
        dt = np.dtype(np.uint8 if dtype is None else dtype)
        if offset < 0 or offset > self._capacity:
            raise InvalidArgument(_lib.EINVAL, f"offset {offset} outside the region "
                                  f"({self._capacity} bytes)")
        return np.frombuffer(self.buffer(), dtype=dt, count=count, offset=offset)

    # ---- notification -------------------------------------------------------
    def notify(self):
        """Bump the notification counter and wake every waiter, in any process."""
        _lib.zinc_notify(self._handle())

    def wait(self, timeout=None, *, timeout_ms=None):
        """Wait for a notification. True if one arrived (and is consumed),
        False on timeout. timeout in seconds: None = forever, 0 = check once.
        (timeout_ms= is accepted for upstream's signature.)"""
        h = self._handle()
        if timeout_ms is not None:
            if timeout is not None:
                raise TypeError("give timeout or timeout_ms, not both")
            timeout = timeout_ms / 1000.0
        if timeout is not None and timeout <= 0:
            rc = _lib.zinc_wait(h, 0)
            if rc == _lib.ETIMEDOUT:
                return False
            check(rc)
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if deadline is None:
                ms = _SLICE_MS
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    ms = 0
                else:
                    ms = min(_SLICE_MS, max(1, math.ceil(left * 1000)))
            rc = _lib.zinc_wait(h, ms)
            if rc == 0:
                return True
            if rc != _lib.ETIMEDOUT:
                check(rc)
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def try_wait(self):
        """True if a notification was pending (and is now consumed), else False."""
        rc = _lib.zinc_try_wait(self._handle())
        if rc == _lib.EAGAIN:
            return False
        check(rc)
        return True

    # ---- upstream Zinc adapter names ----------------------------------------
    def as_buffer(self):
        """Upstream name of buffer()."""
        return self.buffer()

    def as_numpy(self, dtype=None):
        """Upstream name of numpy(dtype)."""
        return self.numpy(dtype)

    def __repr__(self):
        state = "closed" if self._h is None else f"capacity={self._capacity} layout={self._layout}"
        return f"<zinc.Region {self._name!r} {state}>"


SharedRegion = Region


def inspect(name):
    """Header snapshot of region `name` without opening it (RegionInfo)."""
    ci = _lib.zinc_region_info()
    check(_lib.zinc_inspect(_name(name), ctypes.byref(ci)))
    return _info(ci)


def unlink(name):
    """Remove the name (mappings stay valid). Raises NotFound if missing."""
    check(_lib.zinc_unlink(_name(name)))


def name_hash(name):
    return int(_lib.zinc_name_hash(_name(name)))
