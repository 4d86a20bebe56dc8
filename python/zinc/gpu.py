# SPDX-License-Identifier: MIT
"""PyTorch and CUDA, both optional: frames as tensors, slots pinned for DMA.

- ``frame.to_torch()``: a CPU tensor over the payload through DLPack (no
  copy; shape, dtype and strides from the descriptor), valid until the frame
  is released, like ``frame.numpy()``.
- ``frame.to_torch("cuda", non_blocking=...)``: a copy in GPU memory. With
  ``non_blocking=True`` the copy may still run when this returns (it does,
  from pinned slots); the frame then records a CUDA event, and its release
  (or the consumer's close) waits for that event before the slot goes back
  to the producer. So the slot can never be overwritten under a copy.
- ``consumer.pin()`` / ``producer.pin()``: ``cudaHostRegister`` of the
  payload range (``mapping()``) through ``torch.cuda.cudart()``, once per
  range in the process (reference counted), undone at close.

The library itself never loads CUDA: without torch, or without a CUDA
device, these raise CudaUnavailable (or ImportError for the CPU path) and
everything else works.
"""
import threading

from .errors import CudaUnavailable

_CUDA_HOST_REGISTER_PORTABLE = 1  # cudaHostRegisterPortable: every CUDA context
_CUDA_ERROR_ALREADY_REGISTERED = 712  # cudaErrorHostMemoryAlreadyRegistered

_lock = threading.Lock()
_pinned = {}  # address -> [length, references, registered by us]


def _torch(what):
    try:
        import torch
    except ImportError as e:
        raise CudaUnavailable(f"{what} needs PyTorch (Debian: python3-torch), which "
                              f"cannot be imported: {e}") from e
    return torch


def _cuda(what):
    torch = _torch(what)
    if not torch.cuda.is_available():
        raise CudaUnavailable(f"{what} needs a CUDA device: torch {torch.__version__} reports "
                              f"none (CPU build, no driver, or no GPU)")
    return torch


def to_torch(frame, device=None, non_blocking=False):
    """See Frame.to_torch."""
    try:
        import torch
    except ImportError as e:
        raise ImportError("frame.to_torch() needs PyTorch (Debian: python3-torch)") from e
    frame._need_live()
    cpu = torch.from_dlpack(frame)  # zero copy: __dlpack__ over the slot
    if device is None:
        return cpu
    dev = torch.device(device)
    if dev.type == "cpu":
        return cpu
    if dev.type != "cuda":
        raise ValueError(f"to_torch: device {device!r}: only the CPU and CUDA are supported")
    _cuda("to_torch(device='cuda')")
    out = cpu.to(dev, non_blocking=non_blocking)
    if non_blocking:
        ev = torch.cuda.Event()
        ev.record(torch.cuda.current_stream(dev))
        if frame._copies is None:
            frame._copies = []
        frame._copies.append(ev)
    return out


def wait_copies(events):
    """Block until every recorded copy from a slot has finished."""
    for ev in events:
        ev.synchronize()


def _rc(err):
    return int(getattr(err, "value", err))


def pin(handle):
    """See Consumer.pin."""
    if getattr(handle, "_pinned", None):
        return
    torch = _cuda("pin()")
    base, length = handle.mapping()
    cudart = torch.cuda.cudart()
    with _lock:
        ent = _pinned.get(base)
        if ent is None:
            rc = _rc(cudart.cudaHostRegister(base, length, _CUDA_HOST_REGISTER_PORTABLE))
            if rc not in (0, _CUDA_ERROR_ALREADY_REGISTERED):
                raise CudaUnavailable(f"pin(): cudaHostRegister({length} bytes) failed with "
                                      f"CUDA error {rc}")
            # Registered by someone else (not through zinc): never undo theirs.
            ent = _pinned[base] = [length, 0, rc == 0]
        ent[1] += 1
    handle._pinned = base


def unpin(handle):
    """Undo pin() (at close)."""
    base = getattr(handle, "_pinned", None)
    if not base:
        return
    handle._pinned = None
    with _lock:
        ent = _pinned.get(base)
        if ent is None:
            return
        ent[1] -= 1
        if ent[1] > 0:
            return
        del _pinned[base]
        if ent[2]:
            import torch
            torch.cuda.cudart().cudaHostUnregister(base)


def pinned_ranges():
    """{address: length} of the ranges pinned through zinc (for tests)."""
    with _lock:
        return {b: e[0] for b, e in _pinned.items()}
