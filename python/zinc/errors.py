# SPDX-License-Identifier: MIT
"""Exceptions: one class per zinc return code, all subclasses of ZincError.

ZincError is an OSError (as upstream Zinc's Python adapter raises OSError),
with ``errno`` = -code. Each subclass also derives from the closest builtin
(TimeoutError, FileNotFoundError, ...) so ordinary ``except`` clauses work.
"""
from . import _lib


class ZincError(OSError):
    """A zinc call failed.

    Attributes: ``code`` (the negative zinc code, e.g. -110), ``errno``
    (its positive value), ``strerror`` (zinc_strerror: what happened and
    what to do), ``detail`` (zinc_last_error of the failing call, may be '').
    """

    default_code = None

    def __init__(self, code=None, detail="", message=None):
        if code is None:
            code = self.default_code
        self.code = code
        self.detail = detail or ""
        super().__init__(-code, message if message is not None else _lib.strerror(code))

    def __str__(self):
        s = f"zinc error {self.code}: {self.strerror}"
        if self.detail:
            s += f" [{self.detail}]"
        return s

    def __reduce__(self):
        return (error_for, (self.code, self.detail))


class PermissionDenied(ZincError, PermissionError):
    default_code = _lib.EPERM


class NotFound(ZincError, FileNotFoundError):
    default_code = _lib.ENOENT


class Interrupted(ZincError, InterruptedError):
    """A blocking call was interrupted by a signal handler (-4). The Python
    adapter itself runs the handlers and retries (PEP 475), so you see this
    only from a handler-less path; KeyboardInterrupt and other exceptions
    raised by handlers propagate as usual."""
    default_code = _lib.EINTR


class WouldBlock(ZincError, BlockingIOError):
    """Nothing now (a zero timeout), or the ring is still being created."""
    default_code = _lib.EAGAIN


class Busy(ZincError):
    """Consumer table full."""
    default_code = _lib.EBUSY


class Exists(ZincError, FileExistsError):
    default_code = _lib.EEXIST


class InvalidArgument(ZincError, ValueError):
    default_code = _lib.EINVAL


class NoSpace(ZincError):
    default_code = _lib.ENOSPC


class ProducerGone(ZincError, BrokenPipeError):
    """The producer closed, died or was replaced, and nothing is left to read."""
    default_code = _lib.EPIPE


class Corrupted(ZincError):
    """Shared bytes that fail validation (bad region/ring, hostile descriptor)."""
    default_code = _lib.EBADMSG


class TornFrame(ZincError):
    """The frame was overwritten while held: discard what you computed from it."""
    default_code = _lib.EOVERFLOW


class FrameTooLarge(ZincError):
    default_code = _lib.EMSGSIZE


class Timeout(ZincError, TimeoutError):
    default_code = _lib.ETIMEDOUT


class FrameReleased(InvalidArgument):
    """The frame was released (or published/aborted): its memory is no longer yours."""

    def __str__(self):
        return f"zinc error {self.code}: {self.detail or 'frame already released'}"


BadMessage = Corrupted

_BY_CODE = {cls.default_code: cls for cls in (
    PermissionDenied, NotFound, Interrupted, WouldBlock, Busy, Exists, InvalidArgument,
    NoSpace, ProducerGone, Corrupted, TornFrame, FrameTooLarge, Timeout)}


class CudaUnavailable(RuntimeError):
    """pin() or to_torch(device="cuda") without PyTorch, or without a CUDA
    device (the library itself never needs CUDA)."""



def error_for(code, detail=None):
    """The exception for a negative zinc code (detail: zinc_last_error() by default)."""
    if detail is None:
        detail = _lib.last_error()
    cls = _BY_CODE.get(code, ZincError)
    return cls(code, detail)


def check(code):
    """Raise the matching ZincError for a negative code; return it otherwise."""
    if code < 0:
        raise error_for(code)
    return code
