# SPDX-License-Identifier: MIT
"""The frame ring: Producer, Consumer, Frame, Mode."""
import collections
import ctypes
import enum
import os
import time
import weakref

from . import _lib, _mem, tensor as _t
from .errors import (FrameReleased, FrameTooLarge, InvalidArgument, ProducerGone,
                     Timeout, TornFrame, WouldBlock, ZincError, check, error_for)
from .region import _name

try:
    import numpy as np
except ImportError:
    np = None


class Mode(enum.IntEnum):
    """Delivery mode of a consumer (zinc_delivery)."""
    EVERY = _lib.EVERY    # every frame, in order; the producer waits for it
    LOSSY = _lib.LOSSY    # in order, skips ahead when lapped (frame.dropped)
    LATEST = _lib.LATEST  # always the newest frame not yet seen


RingConfig = collections.namedtuple("RingConfig", [
    "slot_count", "max_consumers", "slot_size", "flags", "spin_ns", "demote_after_ns"])

# Longest single blocking call: waits "forever" are sliced so that Ctrl-C
# (handled between calls; the C call runs without the GIL) stays prompt.
_SLICE_NS = 250_000_000


def _timeout_ns(timeout):
    """Seconds (None = forever, 0 = poll) -> the C convention (ns, -1 forever)."""
    if timeout is None:
        return -1
    if timeout < 0:
        raise ValueError("timeout must be >= 0 seconds, or None for forever")
    ns = int(timeout * 1e9)
    return 1 if ns == 0 and timeout > 0 else ns


_PyErr_CheckSignals = ctypes.pythonapi.PyErr_CheckSignals
_PyErr_CheckSignals.restype = ctypes.c_int
_PyErr_CheckSignals.argtypes = []


def _interrupted():
    """A C call returned -4: run Python's signal handlers now (pythonapi
    raises what a handler raised, e.g. KeyboardInterrupt). If none raised,
    the caller retries, as Python's own system calls do (PEP 475)."""
    _PyErr_CheckSignals()


def _blocking(call, timeout):
    """Run call(timeout_ns) in slices of at most _SLICE_NS; return its code.
    -4 runs the signal handlers and goes on waiting (see _interrupted)."""
    total = _timeout_ns(timeout)
    deadline = None if total < 0 else time.monotonic_ns() + total
    while True:
        if deadline is None:
            step = _SLICE_NS
        else:
            step = min(_SLICE_NS, max(0, deadline - time.monotonic_ns()))
        rc = call(step)
        if rc == _lib.EINTR:
            _interrupted()
        elif total == 0 or (rc != _lib.ETIMEDOUT and not (rc == _lib.EAGAIN and step == 0)):
            return rc
        if deadline is not None and time.monotonic_ns() >= deadline:
            return _lib.ETIMEDOUT


def _address(address):
    """A socket address: "@name" (abstract namespace) or a path (str, bytes
    or os.PathLike)."""
    b = os.fsencode(address)
    if not b or b == b"@":
        raise InvalidArgument(_lib.EINVAL, f"empty socket address {address!r}")
    return b


def _is_address(name):
    s = os.fsdecode(name) if isinstance(name, (bytes, os.PathLike)) else name
    return isinstance(s, str) and (s.startswith("@") or "/" in s)


def _config(c):
    return RingConfig(c.slot_count, c.max_consumers, c.slot_size, c.flags, c.spin_ns,
                      c.demote_after_ns)


class Frame:
    """One frame: a descriptor copied out of the ring and a payload that stays
    in shared memory (zero copy).

    A consumer's frame is valid from acquire to release(); a producer's from
    claim to publish()/abort(). After that, numpy()/buffer() raise
    FrameReleased, and arrays made earlier must not be used (see
    docs/python.md: consumer arrays are read-only; producer arrays are made
    read-only at publish). Use it as a context manager: a consumer's frame is
    released on exit (TornFrame raised if it was overwritten meanwhile), a
    producer's is published on a normal exit and aborted on an exception.
    """

    def __init__(self, owner, cframe, keeper, writable):
        self._owner = owner
        self._f = cframe
        self._keeper = keeper
        self._writable = writable
        self._live = True
        self.torn = False
        self._views = []  # weak references to arrays handed out (producer)
        self._copies = None  # GPU copies reading the slot (zinc.gpu), waited for at release
        self._capacity = int(cframe.size)  # producer: claim set it to the slot size
        self._snap()

    def _snap(self):
        f = self._f
        self._address = int(f.data or 0)
        self._size = int(f.size)
        self._tensor = _t.tensor_from_c(f.tensor)

    # ---- descriptor -----------------------------------------------------------
    @property
    def seq(self):
        return int(self._f.seq)

    @property
    def size(self):
        """Bytes of payload (producer: settable; claim sets the slot capacity)."""
        return self._size if not self._writable else int(self._f.size)

    @size.setter
    def size(self, value):
        self._need_writable()
        self._f.size = int(value)

    @property
    def capacity(self):
        """Producer: the slot size. Consumer: the frame's size."""
        return self._capacity if self._writable else self._size

    @property
    def timestamp_ns(self):
        """Capture time, CLOCK_MONOTONIC ns (0 = unknown); settable by the producer."""
        return int(self._f.timestamp_ns)

    @timestamp_ns.setter
    def timestamp_ns(self, value):
        self._need_writable()
        self._f.timestamp_ns = int(value)

    @property
    def publish_ns(self):
        return int(self._f.publish_ns)

    @property
    def dropped(self):
        """Consumer: frames skipped since the previous acquire."""
        return int(self._f.dropped)

    @property
    def fourcc(self):
        return int(self._f.fourcc)

    @fourcc.setter
    def fourcc(self, value):
        self._need_writable()
        self._f.fourcc = _lib.fourcc(value) if isinstance(value, (str, bytes)) else int(value)

    @property
    def flags(self):
        return int(self._f.flags)

    @flags.setter
    def flags(self, value):
        self._need_writable()
        self._f.flags = int(value)

    @property
    def user(self):
        """The 64-byte user area (bytes); the producer may assign up to 64 bytes."""
        return bytes(self._f.user)

    @user.setter
    def user(self, value):
        self._need_writable()
        b = bytes(value)
        if len(b) > _lib.FRAME_USER_SIZE:
            raise ValueError(f"the user area holds {_lib.FRAME_USER_SIZE} bytes")
        ctypes.memset(self._f.user, 0, _lib.FRAME_USER_SIZE)
        ctypes.memmove(self._f.user, b, len(b))

    @property
    def tensor(self):
        """The tensor description (zinc.Tensor), as received or as set."""
        return _t.tensor_from_c(self._f.tensor) if self._writable else self._tensor

    @property
    def shape(self):
        return self.tensor.shape

    @property
    def strides(self):
        return self.tensor.strides

    @property
    def dtype(self):
        t = self.tensor
        return _t.dtype_of(t.dtype_code, t.dtype_bits) if t.ndim else np.dtype(np.uint8)

    @property
    def demoted(self):
        return bool(self._f.flags & _lib.FRAME_DEMOTED)

    @property
    def address(self):
        """Address of the payload in this process."""
        return self._address

    @property
    def released(self):
        """True once released (consumer) or published/aborted (producer)."""
        return not self._live

    # ---- views ---------------------------------------------------------------
    def _need_live(self):
        if not self._live:
            raise FrameReleased(_lib.EINVAL, f"frame {self.seq} was released: its memory "
                                "may already hold another frame")

    def _need_writable(self):
        self._need_live()
        if not self._writable:
            raise InvalidArgument(_lib.EINVAL, "a consumer's frame is read-only")

    def buffer(self):
        """memoryview of the payload (read-only for consumers), no copy.
        Producer: the whole slot; consumer: the frame's `size` bytes."""
        self._need_live()
        n = self._capacity if self._writable else self._size
        return _mem.view(self._keeper, self._address, n, readonly=not self._writable)

    def numpy(self, dtype=None):
        """numpy array over the payload, typed from the descriptor (no copy).

        Raw frames (no tensor) give the bytes as uint8. `dtype` overrides the
        element type (same item size; e.g. np.uint16 for bfloat16). The
        descriptor is validated again here (C check + exact Python bounds +
        numpy's own); a description that does not fit raises Corrupted.
        Consumer arrays are read-only."""
        self._need_live()
        if self._writable:
            t = _t.tensor_from_c(self._f.tensor)
            size = int(self._f.size)
            if size > self._capacity:
                raise FrameTooLarge(_lib.EMSGSIZE, f"size {size} > slot {self._capacity}")
        else:
            t, size = self._tensor, self._size
        arr = _t.ndarray(_mem.view(self._keeper, self._address, size,
                                   readonly=not self._writable), t, size, dtype)
        if self._writable:
            self._views.append(weakref.ref(arr))
        return arr

    def __array__(self, dtype=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def tobytes(self):
        """A copy of the payload's `size` bytes."""
        self._need_live()
        return ctypes.string_at(self._address, self.size) if self.size else b""

    # ---- DLPack -----------------------------------------------------------------
    def __dlpack__(self, stream=None, **kwargs):
        """Export the payload as a DLPack tensor (CPU, zero copy). The importer
        must stop using it when the frame is released (same rule as numpy())."""
        if stream is not None and stream != -1:
            raise BufferError("CPU frames take no stream")
        if kwargs.get("copy") is True:
            raise BufferError("zinc exports the frame in place only; copy it yourself")
        dev = kwargs.get("dl_device")
        if dev is not None and tuple(dev) != (_t.KDLCPU, 0):
            raise BufferError("zinc frames live in CPU memory")
        self._need_live()
        if self._writable:
            t, size = _t.tensor_from_c(self._f.tensor), int(self._f.size)
        else:
            t, size = self._tensor, self._size
        return _t.dlpack_capsule(self._address, t, size, self._keeper)

    def __dlpack_device__(self):
        return (_t.KDLCPU, 0)

    # ---- producer side ---------------------------------------------------------
    def set_tensor(self, shape, dtype, strides=None, offset=0):
        """Describe the payload as a `dtype` tensor of `shape` (C order, or byte
        `strides`) starting `offset` bytes in; size becomes the bytes spanned."""
        self._need_writable()
        t = _t.describe(shape, dtype, strides, offset)
        lo, hi = _t.extent(t) if 0 not in t.shape else (t.offset, t.offset)
        if lo < 0:
            raise InvalidArgument(_lib.EINVAL, "negative strides reach before the payload")
        if hi > self._capacity:
            raise FrameTooLarge(_lib.EMSGSIZE, f"tensor needs {hi} bytes, the slot has "
                                f"{self._capacity}")
        _t.tensor_to_c(t, self._f.tensor)
        self._f.size = max(hi, int(offset))
        return t

    def array(self, shape, dtype=None, offset=0):
        """A writable C-order numpy array of `shape` and `dtype` (default uint8)
        in the slot, and the descriptor set to match: fill it, then publish."""
        dt = np.dtype(np.uint8 if dtype is None else dtype)
        self.set_tensor(shape, dt, None, offset)
        return self.numpy()

    def from_array(self, arr, offset=0):
        """Copy `arr` into the slot (C order), describe it, and return the view."""
        a = np.asarray(arr)
        view = self.array(a.shape, a.dtype, offset)
        np.copyto(view, a, casting="no")
        return view

    def set_image(self, fourcc, width, height):
        """Describe a packed GREY/RGB24/RGBA32/NV12 image (zinc_frame_set_image)."""
        self._need_writable()
        code = _lib.fourcc(fourcc) if isinstance(fourcc, (str, bytes)) else int(fourcc)
        saved = self._f.size
        self._f.size = self._capacity
        rc = _lib.zinc_frame_set_image(ctypes.byref(self._f), code, width, height)
        if rc < 0:
            self._f.size = saved
            check(rc)

    def set_points(self, n, k):
        """Describe an n x k float32 point cloud (zinc_frame_set_points)."""
        self._need_writable()
        saved = self._f.size
        self._f.size = self._capacity
        rc = _lib.zinc_frame_set_points(ctypes.byref(self._f), n, k)
        if rc < 0:
            self._f.size = saved
            check(rc)

    def publish(self):
        self._owner.publish(self)

    def abort(self):
        self._owner.abort(self)

    # ---- consumer side ---------------------------------------------------------
    def release(self, *, raise_torn=True):
        """Consumer: give the frame back. Returns True if it was intact for the
        whole hold; if it was overwritten, raises TornFrame (or returns False
        with raise_torn=False). Releasing twice raises FrameReleased."""
        return self._owner.release(self, raise_torn=raise_torn)

    # ---- PyTorch -----------------------------------------------------------------
    def to_torch(self, device=None, non_blocking=False):
        """The payload as a torch.Tensor (zinc.gpu.to_torch): on the CPU
        (device None or "cpu") a zero-copy view through DLPack, valid until
        release like numpy(); with device="cuda", a copy in GPU memory,
        asynchronous with non_blocking=True when the slots are pinned
        (Consumer.pin()); release() then waits for the copy before it gives
        the slot back."""
        from . import gpu
        return gpu.to_torch(self, device, non_blocking)

    def _end(self):
        # GPU copies still reading the slot finish before it is given back.
        copies, self._copies = self._copies, None
        if copies:
            from . import gpu
            gpu.wait_copies(copies)
        self._live = False
        # Views made earlier keep the mapping alive themselves; the frame no
        # longer needs it (so a kept Frame object does not delay close()).
        self._keeper = None
        for r in self._views:
            a = r()
            if a is not None:
                a.flags.writeable = False
        self._views = []

    def __enter__(self):
        return self

    def __exit__(self, etype, exc, tb):
        if not self._live:
            return
        if self._writable:
            if etype is None:
                self.publish()
            else:
                self.abort()
        elif etype is None:
            self.release()
        else:
            # Don't mask the body's exception; the flag still tells.
            self.release(raise_torn=False)

    def __repr__(self):
        t = self.tensor
        what = f"shape={t.shape} dtype={self.dtype}" if t.ndim else "raw"
        state = "" if self._live else (" torn" if self.torn else " released")
        return f"<zinc.Frame seq={self.seq} size={self.size} {what}{state}>"


class _RingHandle(_mem.Handle):
    """What Producer and Consumer share: the slots' mapping and pinning."""

    _mapping_fn = None  # the C call, zinc_producer_mapping or zinc_consumer_mapping

    def mapping(self):
        """(address, length): the page-aligned range holding every slot's
        payload, stable while the handle is open (zinc_*_mapping)."""
        base, n = ctypes.c_void_p(), ctypes.c_size_t()
        check(getattr(_lib, self._mapping_fn)(self._handle(), ctypes.byref(base),
                                              ctypes.byref(n)))
        return int(base.value), int(n.value)

    def pin(self):
        """Register the slots with CUDA (cudaHostRegister through torch), so
        GPU copies of them (frame.to_torch("cuda")) are direct DMA without a
        staging copy; idempotent, undone at close. CudaUnavailable without
        torch or without a CUDA device."""
        from . import gpu
        gpu.pin(self)

    def _unpin(self):
        if getattr(self, "_pinned", None):
            from . import gpu
            gpu.unpin(self)


class Producer(_RingHandle):
    """The writing end of a ring. ``Producer.create(name, slot_count=,
    slot_size=, ...)``; then ``claim()`` a frame, fill it, ``publish()`` it.
    Close (or leave the ``with`` block) to tell consumers it is over; the
    mapping stays until the last array made from it is gone."""

    _what = "producer"
    _mapping_fn = "zinc_producer_mapping"

    def __init__(self, handle, name, cfg):
        self._h = handle
        self._name = name
        self._cfg = cfg
        self._keeper = _mem.Keeper(_lib.zinc_producer_close, handle)
        self._claimed = None

    @classmethod
    def create(cls, name, slot_count=8, slot_size=1 << 20, *, max_consumers=0,
               demote_after=None, spin_ns=0, prefault=False, hugepages=False,
               timestamps=True, anonymous=False, listen=None, group_access=False):
        """Create ring `name` with `slot_count` slots (power of two) of
        `slot_size` bytes. demote_after (seconds): demote an EVERY consumer that
        blocks the producer longer than this to LOSSY (None = never).
        timestamps=False: the library reads no clock per frame (publish_ns is
        0, no latency histogram). anonymous=True (or listen=ADDRESS, which
        implies it): a sealed memfd with nothing in /dev/shm, which consumers
        reach through listen() or fd() (docs/rendezvous.md). group_access=True:
        mode 0660 instead of 0600, for users of the creator's group who list
        its uid in ZINC_TRUST_UID (ZINC_RING_GROUP_ACCESS)."""
        anonymous = anonymous or listen is not None
        b = _name(name)
        c = _lib.zinc_ring_config()
        c.slot_count = slot_count
        c.max_consumers = max_consumers
        c.slot_size = slot_size
        c.flags = ((_lib.RING_PREFAULT if prefault else 0) | (_lib.RING_HUGEPAGES if hugepages else 0)
                   | (0 if timestamps else _lib.RING_NO_TIMESTAMPS)
                   | (_lib.RING_ANONYMOUS if anonymous else 0)
                   | (_lib.RING_GROUP_ACCESS if group_access else 0))
        c.spin_ns = spin_ns
        c.demote_after_ns = 0 if demote_after is None else max(1, int(demote_after * 1e9))
        out = ctypes.c_void_p()
        check(_lib.zinc_producer_create(b, ctypes.byref(c), ctypes.byref(out)))
        p = cls(out.value, b.decode(), _config(c))
        if listen is not None:
            try:
                p.listen(listen)
            except BaseException:
                p.close()
                raise
        return p

    def listen(self, address):
        """Serve this anonymous ring on a Unix socket (a path, or "@name" in
        the abstract namespace) until close(): consumers of our uid connect
        with Consumer.connect(address). Exists if another producer listens
        there."""
        check(_lib.zinc_producer_listen(self._handle(), _address(address)))

    def unlisten(self):
        """Stop serving before close(): nobody new connects (a path socket
        is removed); attached consumers carry on, and listen() may be called
        again. ValueError if not listening."""
        check(_lib.zinc_producer_unlisten(self._handle()))

    def fd(self):
        """A new descriptor of this anonymous ring (an int; the caller closes
        it), to pass to one consumer (Consumer.open_fd in the other process)."""
        fd = _lib.zinc_producer_fd(self._handle())
        check(fd if fd < 0 else 0)
        return fd

    @property
    def config(self):
        return self._cfg

    @property
    def slot_size(self):
        return self._cfg.slot_size

    @property
    def generation(self):
        return int(_lib.zinc_producer_generation(self._handle()))

    def claim(self, timeout=None):
        """Claim the next slot: a writable Frame. Waits for EVERY consumers up
        to `timeout` seconds (None forever, 0 poll: WouldBlock); Timeout after."""
        h = self._handle()
        if self._claimed is not None and self._claimed._live:
            raise InvalidArgument(_lib.EINVAL, f"frame {self._claimed.seq} is still claimed; "
                                  "publish or abort it first")
        cf = _lib.zinc_frame()
        claim = lambda ns: _lib.zinc_producer_claim(h, ctypes.byref(cf), ns)  # noqa: E731
        if self._cfg.demote_after_ns:
            # The library measures demote_after within one claim call: a
            # sliced wait would never reach a bound longer than a slice.
            rc = claim(_timeout_ns(timeout))
            while rc == _lib.EINTR:
                _interrupted()
                rc = claim(_timeout_ns(timeout))  # (the whole timeout again)
            check(rc)
        else:
            check(_blocking(claim, timeout))
        fr = Frame(self, cf, self._keeper, True)
        self._claimed = fr
        return fr

    def _mine(self, frame):
        if frame._owner is not self or not frame._writable:
            raise InvalidArgument(_lib.EINVAL, "not a frame claimed from this producer")
        frame._need_live()

    def publish(self, frame):
        """Publish a claimed frame with its descriptor. FrameTooLarge leaves the
        claim open; InvalidArgument if the tensor does not fit `size`."""
        h = self._handle()
        self._mine(frame)
        check(_lib.zinc_producer_publish(h, ctypes.byref(frame._f)))
        frame._end()
        self._claimed = None

    def abort(self, frame=None):
        """Abandon the open claim."""
        h = self._handle()
        frame = frame if frame is not None else self._claimed
        if frame is None:
            raise InvalidArgument(_lib.EINVAL, "nothing claimed")
        self._mine(frame)
        check(_lib.zinc_producer_abort(h, ctypes.byref(frame._f)))
        frame._end()
        self._claimed = None

    def send(self, arr, *, timestamp_ns=None, fourcc=0, flags=0, user=None, timeout=None):
        """claim + copy `arr` in + publish; returns the frame's seq."""
        f = self.claim(timeout)
        try:
            f.from_array(arr)
            f.timestamp_ns = time.monotonic_ns() if timestamp_ns is None else timestamp_ns
            f.fourcc = fourcc
            f.flags = flags
            if user is not None:
                f.user = user
        except BaseException:
            self.abort(f)
            raise
        seq = f.seq
        self.publish(f)
        return seq

    def set_stream(self, shape=None, dtype=None, *, strides=None, offset=0, size=None,
                   fourcc=0, flags=0, user=b"", like=None):
        """Set the stream descriptor consumers read at attach: a tensor of
        `shape`/`dtype` (or the shape/dtype of array `like`), or raw `size` bytes."""
        h = self._handle()
        d = _lib.zinc_frame()
        if like is not None:
            a = np.asarray(like)
            shape, dtype = a.shape, a.dtype
        if shape is not None:
            t = _t.describe(shape, np.uint8 if dtype is None else dtype, strides, offset)
            _t.tensor_to_c(t, d.tensor)
            lo, hi = _t.extent(t) if 0 not in t.shape else (offset, offset)
            d.size = hi if size is None else size
        else:
            d.size = 0 if size is None else size
        d.fourcc = _lib.fourcc(fourcc) if isinstance(fourcc, (str, bytes)) else fourcc
        d.flags = flags
        ub = bytes(user)
        if len(ub) > _lib.FRAME_USER_SIZE:
            raise ValueError(f"the user area holds {_lib.FRAME_USER_SIZE} bytes")
        ctypes.memmove(d.user, ub, len(ub))
        check(_lib.zinc_producer_set_stream(h, ctypes.byref(d)))

    def close(self):
        """Mark the ring closed (consumers get ProducerGone after draining)."""
        if self._h is not None:
            if self._claimed is not None and self._claimed._live:
                self._claimed._end()  # the C close aborts it
            self._unpin()
            self._h = None
            self._keeper = None

    def __repr__(self):
        return f"<zinc.Producer {self._name!r}{' closed' if self._h is None else ''}>"


class Consumer(_RingHandle):
    """The reading end of a ring. ``Consumer.open(name, mode=Mode.LATEST)``;
    ``acquire()`` a frame, read it, ``release()`` it. Iterating yields frames
    until the producer is gone."""

    _what = "consumer"
    _mapping_fn = "zinc_consumer_mapping"

    def __init__(self, handle, name, mode):
        self._h = handle
        self._name = name
        self._mode = mode
        self._keeper = _mem.Keeper(_lib.zinc_consumer_close, handle)
        self._held = None
        c = _lib.zinc_ring_config()
        check(_lib.zinc_consumer_config(handle, ctypes.byref(c)))
        self._cfg = _config(c)

    @classmethod
    def open(cls, name, mode=Mode.LATEST, *, timeout=0):
        """Attach to ring `name`. With timeout > 0 (seconds; None = forever),
        keep retrying while the ring does not exist yet or is being created."""
        b = _name(name)
        if isinstance(mode, str):
            mode = Mode[mode.upper()]
        mode = Mode(mode)
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.001
        while True:
            out = ctypes.c_void_p()
            rc = _lib.zinc_consumer_open(b, int(mode), ctypes.byref(out))
            if rc == 0:
                return cls(out.value, b.decode(), mode)
            err = error_for(rc)
            if rc not in (_lib.ENOENT, _lib.EAGAIN) or (
                    deadline is not None and time.monotonic() >= deadline):
                raise err
            time.sleep(delay)  # polling for a name to appear; not synchronisation
            delay = min(delay * 2, 0.05)

    @classmethod
    def connect(cls, address, mode=Mode.LATEST, *, timeout=0):
        """Attach to the sealed anonymous ring whose producer listens on
        `address` (a path, or "@name"). The peer must run as our user and
        the descriptor must be sealed (PermissionDenied, Corrupted
        otherwise). With timeout > 0 (seconds; None = forever), keep
        retrying while nobody listens there yet."""
        b = _address(address)
        mode = Mode[mode.upper()] if isinstance(mode, str) else Mode(mode)
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.001
        while True:
            out = ctypes.c_void_p()
            rc = _lib.zinc_consumer_connect(b, int(mode), ctypes.byref(out))
            if rc == 0:
                return cls(out.value, os.fsdecode(b), mode)
            err = error_for(rc)
            if rc not in (_lib.ENOENT, _lib.EAGAIN) or (
                    deadline is not None and time.monotonic() >= deadline):
                raise err
            time.sleep(delay)  # polling for a listener to appear; not synchronisation
            delay = min(delay * 2, 0.05)

    @classmethod
    def open_fd(cls, fd, mode=Mode.LATEST):
        """Attach to the anonymous ring open on descriptor `fd` (an int, or
        an object with fileno()), e.g. received from the producer's process.
        The descriptor stays the caller's."""
        fd = fd.fileno() if hasattr(fd, "fileno") else int(fd)
        mode = Mode[mode.upper()] if isinstance(mode, str) else Mode(mode)
        out = ctypes.c_void_p()
        check(_lib.zinc_consumer_open_fd(fd, int(mode), ctypes.byref(out)))
        return cls(out.value, f"fd {fd}", mode)

    @property
    def config(self):
        """Ring geometry (RingConfig)."""
        return self._cfg

    @property
    def generation(self):
        return int(_lib.zinc_consumer_generation(self._handle()))

    @property
    def held(self):
        """The frame acquired and not yet released, or None."""
        h = self._held
        return h if h is not None and h._live else None

    @property
    def mode(self):
        """Mode in force (LOSSY after an EVERY consumer was demoted)."""
        return Mode(_lib.zinc_consumer_mode(self._handle()))

    def acquire(self, timeout=None):
        """The next frame for this mode. timeout in seconds: None = forever,
        0 = poll (WouldBlock if nothing). Raises Timeout, ProducerGone,
        Corrupted (a descriptor that fails the library's checks)."""
        h = self._handle()
        if self._held is not None and self._held._live:
            raise InvalidArgument(_lib.EINVAL, f"frame {self._held.seq} is still held; "
                                  "release it first")
        cf = _lib.zinc_frame()
        check(_blocking(lambda ns: _lib.zinc_consumer_acquire(h, ctypes.byref(cf), ns), timeout))
        # cf is a private copy the library checked (size within the slot,
        # tensor within size): it cannot change under us.
        fr = Frame(self, cf, self._keeper, False)
        self._held = fr
        return fr

    def try_acquire(self):
        """A frame if one is ready now, else None."""
        try:
            return self.acquire(0)
        except WouldBlock:
            return None

    def _release_raw(self, frame):
        rc = _lib.zinc_consumer_release(self._h, ctypes.byref(frame._f))
        frame._end()
        return rc

    def release(self, frame, *, raise_torn=True):
        """See Frame.release."""
        self._handle()
        if frame._owner is not self or frame._writable:
            raise InvalidArgument(_lib.EINVAL, "not a frame acquired from this consumer")
        if not frame._live:
            raise FrameReleased(_lib.EINVAL, f"frame {frame.seq} was already released")
        rc = self._release_raw(frame)
        if self._held is frame:
            self._held = None
        if rc == _lib.EOVERFLOW:
            frame.torn = True
            if raise_torn:
                raise TornFrame(rc, _lib.last_error())
            return False
        check(rc)
        return True

    def stream(self):
        """The stream descriptor (a Frame with no payload), or None if unset."""
        d = _lib.zinc_frame()
        rc = _lib.zinc_consumer_stream(self._handle(), ctypes.byref(d))
        if rc == _lib.EAGAIN:
            return None
        check(rc)
        fr = Frame(self, d, self._keeper, False)
        fr._end()
        fr._address = 0
        return fr

    def __iter__(self):
        """Yield frames until the producer is gone. Each frame is released when
        the loop asks for the next one (if the body did not release it); if
        that release finds it torn, TornFrame is raised there: release inside
        the body (``with frame:``) to handle torn frames yourself."""
        while True:
            prev = self._held
            if prev is not None and prev._live:
                self.release(prev)
            try:
                fr = self.acquire(None)
            except ProducerGone:
                return
            yield fr

    # ---- waiting in event loops ---------------------------------------------------
    def fileno(self):
        """A descriptor that select/poll/epoll (and asyncio's add_reader)
        report readable while acquire(0) would not raise WouldBlock
        (zinc_consumer_fd). Owned by the consumer: do not close or read it."""
        fd = _lib.zinc_consumer_fd(self._handle())
        return check(fd)

    async def acquire_async(self, timeout=None):
        """Await the next frame (asyncio; through loop.add_reader on
        fileno(), no thread). timeout in seconds (None = forever; Timeout
        after it). Cancelled, it leaves no reader registered and no frame
        held."""
        from . import aio
        return await aio.acquire_async(self, timeout)

    def frames(self):
        """``async for frame in consumer.frames()``: frames until the producer
        is gone, each released when the next one is asked for (as
        iteration does)."""
        from . import aio
        return aio.frames(self)

    def close(self):
        """Detach (a held frame is given back). The mapping stays until the
        last array made from it is gone."""
        if self._h is not None:
            if self._held is not None and self._held._live:
                self._held._end()
            self._held = None
            self._unpin()
            self._h = None
            self._keeper = None

    def __repr__(self):
        return (f"<zinc.Consumer {self._name!r} {self._mode.name}"
                f"{' closed' if self._h is None else ''}>")


# ---- module-level helpers ---------------------------------------------------------
ConsumerStats = collections.namedtuple("ConsumerStats", [
    f[0] for f in _lib.zinc_consumer_stats._fields_])
RingStats = collections.namedtuple("RingStats", [
    f[0] for f in _lib.zinc_ring_stats._fields_ if f[0] != "reserved"] + ["consumer_stats"])


def ring_stats(name, max_consumers=_lib.RING_MAX_CONSUMERS):
    """Counters of ring `name`, read without attaching (RingStats). A socket
    address ("@name", or a path with a '/') reads the anonymous ring served
    there."""
    rs = _lib.zinc_ring_stats()
    cs = (_lib.zinc_consumer_stats * max_consumers)()
    n = ctypes.c_uint32()
    if _is_address(name):
        fd = _lib.zinc_ring_connect(_address(name))
        check(fd if fd < 0 else 0)
        try:
            check(_lib.zinc_ring_stats_read_fd(fd, ctypes.byref(rs), cs, max_consumers,
                                               ctypes.byref(n)))
        finally:
            os.close(fd)
    else:
        check(_lib.zinc_ring_stats_read(_name(name), ctypes.byref(rs), cs, max_consumers,
                                        ctypes.byref(n)))
    cons = []
    for i in range(min(n.value, max_consumers)):
        c = cs[i]
        cons.append(ConsumerStats(*[tuple(getattr(c, f)) if f == "latency" else getattr(c, f)
                                    for f in ConsumerStats._fields]))
    vals = [getattr(rs, f) for f in RingStats._fields[:-1]]
    return RingStats(*vals, cons)


def ring_remove_stale(name):
    """Remove ring `name` if its producer is gone; Exists if it is alive."""
    check(_lib.zinc_ring_remove_stale(_name(name)))


def wait_any(consumers, timeout=None):
    """The first of `consumers` (1..128 Consumer objects, any rings) that has
    something for acquire: a frame, its producer gone, corruption, or a frame
    still held (zinc_wait_any). timeout in seconds: None = forever, 0 = poll
    (WouldBlock), else Timeout. When several are ready, the one returned
    least recently comes first, so none is starved."""
    cs = list(consumers)
    if not cs:
        raise InvalidArgument(_lib.EINVAL, "wait_any: no consumers")
    arr = (ctypes.c_void_p * len(cs))(*[c._handle() for c in cs])
    rc = check(_blocking(lambda ns: _lib.zinc_wait_any(arr, len(cs), ns), timeout))
    return cs[rc]


def ring_size(slot_count, slot_size, max_consumers=0):
    """Bytes of shared memory such a ring needs (0 if the geometry is invalid)."""
    c = _lib.zinc_ring_config()
    c.slot_count, c.slot_size, c.max_consumers = slot_count, slot_size, max_consumers
    return int(_lib.zinc_ring_size(ctypes.byref(c)))


__all__ = ["Mode", "Frame", "Producer", "Consumer", "RingConfig", "RingStats",
           "ConsumerStats", "ring_stats", "ring_remove_stale", "ring_size", "wait_any",
           "ZincError", "Timeout"]
