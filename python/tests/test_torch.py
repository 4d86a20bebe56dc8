# SPDX-License-Identifier: MIT
"""frame.to_torch() and pin() with PyTorch (Debian's CPU build here): the
CPU tensor is the slot itself (zero copy); the CUDA parts run only where a
GPU is present and are skipped with a message otherwise."""
import numpy as np
import pytest

import zinc
from zinc import Mode

torch = pytest.importorskip("torch", reason="PyTorch is not installed (Debian: python3-torch)")

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA device here (CPU-only torch or no GPU): the "
                                       "GPU copy and pin() paths are not exercised")


def test_to_torch_cpu_is_zero_copy(name):
    with zinc.Producer.create(name, slot_count=4, slot_size=1 << 16) as p, \
            zinc.Consumer.open(name, Mode.LATEST) as c:
        f = p.claim()
        a = f.array((3, 32, 48), np.float32)
        a[:] = np.arange(a.size, dtype=np.float32).reshape(a.shape)
        p.publish(f)
        g = c.acquire(5)
        t = g.to_torch()
        assert t.dtype == torch.float32 and tuple(t.shape) == (3, 32, 48)
        assert tuple(t.stride()) == tuple(s // 4 for s in g.strides)
        base, length = c.mapping()
        assert base <= t.data_ptr() and t.data_ptr() + t.numel() * 4 <= base + length
        assert t.data_ptr() == g.address
        assert np.array_equal(t.numpy(), g.numpy())
        assert np.shares_memory(t.numpy(), g.numpy()), "the tensor is the slot, not a copy"
        assert torch.equal(g.to_torch(device="cpu"), t)
        del t
        g.release()
        with pytest.raises(zinc.FrameReleased):
            g.to_torch()


def test_to_torch_raw_and_uint8_image(name):
    with zinc.Producer.create(name, slot_count=2, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.EVERY) as c:
        f = p.claim()
        f.size = 100
        f.buffer()[:100] = bytes(range(100))
        p.publish(f)
        f = p.claim()
        f.set_image("RGB3", 8, 4)
        f.numpy()[:] = 9
        p.publish(f)
        with c.acquire(5) as g:
            t = g.to_torch()
            assert t.dtype == torch.uint8 and tuple(t.shape) == (100,)
            assert t.tolist() == list(range(100))
            del t
        with c.acquire(5) as g:
            t = g.to_torch()
            assert tuple(t.shape) == (4, 8, 3) and int(t.sum()) == 9 * 96
            del t


def test_to_torch_cuda_without_a_gpu_raises_clearly(name):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: covered by the GPU tests")
    with zinc.Producer.create(name, slot_count=2, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.EVERY) as c:
        with p.claim() as f:
            f.size = 8
        with c.acquire(5) as g:
            with pytest.raises(zinc.CudaUnavailable, match="CUDA device"):
                g.to_torch("cuda")
            with pytest.raises(ValueError):
                g.to_torch("meta")
        with pytest.raises(zinc.CudaUnavailable, match="CUDA device"):
            c.pin()
        with pytest.raises(zinc.CudaUnavailable, match="CUDA device"):
            p.pin()


@needs_cuda
def test_pin_is_idempotent_and_undone_at_close(name):
    from zinc import gpu
    with zinc.Producer.create(name, slot_count=4, slot_size=1 << 20) as p:
        c = zinc.Consumer.open(name, Mode.EVERY)
        c.pin()
        c.pin()
        p.pin()  # the same range (one mapping per ring in a process): counted once more
        base, length = c.mapping()
        assert gpu.pinned_ranges() == {base: length}
        c.close()
        assert gpu.pinned_ranges() == {base: length}
    assert gpu.pinned_ranges() == {}


@needs_cuda
def test_to_cuda_non_blocking_waits_before_release(name):
    with zinc.Producer.create(name, slot_count=2, slot_size=8 << 20) as p, \
            zinc.Consumer.open(name, Mode.EVERY) as c:
        c.pin()
        for i in range(8):
            with p.claim() as f:
                f.array((1080, 1920, 4), np.uint8)[:] = i
            g = c.acquire(5)
            t = g.to_torch("cuda", non_blocking=True)
            g.release()  # waits for the copy: the slot is reused at once after
            assert int(t[0, 0, 0]) == i and int(t[-1, -1, -1]) == i
