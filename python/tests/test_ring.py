# SPDX-License-Identifier: MIT
"""Producer/Consumer in Python: zero copy, typing, lifetimes, torn frames."""
import ctypes
import gc
import multiprocessing
import os
import pathlib
import re

import numpy as np
import pytest

import zinc
from zinc import Mode

fork = multiprocessing.get_context("fork")
REPO = pathlib.Path(__file__).resolve().parents[2]


def test_every_consumer_gets_all_frames_in_order(name):
    with zinc.Producer.create(name, slot_count=4, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.EVERY) as c:
        assert c.generation == p.generation != 0
        assert c.config.slot_count == 4 and c.config.slot_size == 4096
        got = []
        for i in range(10):
            f = p.claim()
            a = f.array((8, 4), np.int32)
            a[:] = i
            f.timestamp_ns = 1000 + i
            p.publish(f)
            with c.acquire(5) as g:
                arr = g.numpy()
                assert arr.dtype == np.int32 and arr.shape == (8, 4)
                assert g.strides == (16, 4) and g.size == 128
                got.append((g.seq, int(arr.sum()), g.timestamp_ns))
                del arr
        assert got == [(i + 1, i * 32, 1000 + i) for i in range(10)]


def _mapping_of(address, name):
    """The whole mapping of /dev/shm/zinc_<name> that holds `address`, as a
    uint8 array, and its offset in the object (from /proc/self/maps)."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            start, end = (int(x, 16) for x in parts[0].split("-"))
            if start <= address < end and parts[-1] == f"/dev/shm/zinc_{name}":
                mv = memoryview((ctypes.c_ubyte * (end - start)).from_address(start))
                return np.frombuffer(mv, np.uint8), int(parts[2], 16), start
    raise AssertionError("frame address not inside the ring's mapping")


def test_consumer_view_is_zero_copy_and_read_only(name):
    with zinc.Producer.create(name, slot_count=2, slot_size=8192) as p, \
            zinc.Consumer.open(name, Mode.LATEST) as c, zinc.Region.open(name) as region:
        f = p.claim()
        a = f.array((16, 16), np.uint16)
        a[:] = np.arange(256, dtype=np.uint16).reshape(16, 16)
        p.publish(f)
        g = c.acquire(5)
        v = g.numpy()
        assert not v.flags.owndata and not v.flags.writeable
        with pytest.raises(ValueError):
            v.flags.writeable = True
        with pytest.raises(ValueError):
            v[0, 0] = 1
        # The array lies inside the consumer's mapping of the ring object...
        mapping, pgoff, start = _mapping_of(g.address, name)
        assert np.shares_memory(v, mapping)
        assert np.shares_memory(v, np.frombuffer(g.buffer(), np.uint8))
        # ...on the very pages every other handle maps: a write through a
        # plain region view of the same object shows up in the frame's array.
        assert region.layout == 2
        at = g.address - start + pgoff - region.info().data_offset
        rv = region.numpy()[at:at + 512].view(np.uint16).reshape(16, 16)
        assert np.array_equal(rv, v)
        rv[3, 3] = 4242
        assert v[3, 3] == 4242
        g.release()                       # intact: nobody claimed the slot
        del v, a, rv, mapping


def test_producer_writes_are_visible_and_torn_frame_raises(name):
    with zinc.Producer.create(name, slot_count=2, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.LATEST) as c:
        p.send(np.full(64, 1, np.uint8))
        g = c.acquire(5)
        v = g.numpy()
        assert g.seq == 1 and v.tolist() == [1] * 64
        # Two more frames: frame 3 reuses frame 1's slot, in place.
        p.send(np.full(64, 2, np.uint8))
        p.send(np.full(64, 3, np.uint8))
        assert v.tolist() == [3] * 64          # the producer's writes, seen through our view
        with pytest.raises(zinc.TornFrame) as e:
            g.release()
        assert e.value.code == -75 and g.torn and g.released
        with pytest.raises(zinc.FrameReleased):
            g.numpy()
        with pytest.raises(zinc.FrameReleased):
            g.release()
        st = zinc.ring_stats(name)
        assert st.published == 3 and st.consumer_stats[0].torn == 1
        # LATEST then gets the newest frame.
        with c.acquire(5) as h:
            assert h.seq == 3 and h.numpy()[0] == 3
        del v


def test_torn_release_without_raising(name):
    with zinc.Producer.create(name, slot_count=2, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.LOSSY) as c:
        p.send(np.zeros(8, np.uint8))
        g = c.acquire(5)
        for _ in range(2):
            p.send(np.ones(8, np.uint8))
        assert g.release(raise_torn=False) is False and g.torn
        g2 = c.acquire(5)
        # docs/design.md: a lapped LOSSY consumer resumes at the oldest frame
        # still in the ring (head - slot_count + 1 = 2, intact), nothing lost
        assert (g2.seq, g2.dropped) == (2, 0)
        assert g2.release() is True


def test_with_frame_releases_and_raises_torn(name):
    with zinc.Producer.create(name, slot_count=2, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.LATEST) as c:
        p.send(np.zeros(8, np.uint8))
        with pytest.raises(zinc.TornFrame):
            with c.acquire(5) as g:
                p.send(np.ones(8, np.uint8))
                p.send(np.ones(8, np.uint8))
        assert g.released and g.torn


def test_producer_frame_lifetime(name):
    with zinc.Producer.create(name, slot_count=2, slot_size=4096) as p:
        f = p.claim()
        assert f.capacity == 4096 and f.size == 4096
        a = f.array((10,), np.float64)
        assert f.size == 80 and a.flags.writeable
        with pytest.raises(zinc.InvalidArgument):
            p.claim()                       # one claim at a time
        p.publish(f)
        assert not a.flags.writeable        # writes after publish are refused
        with pytest.raises(ValueError):
            a[0] = 1
        with pytest.raises(zinc.FrameReleased):
            f.numpy()
        with pytest.raises(zinc.FrameReleased):
            p.publish(f)
        # context manager: publish on success, abort on exception
        with p.claim() as f2:
            f2.from_array(np.arange(3, dtype=np.uint8))
        with pytest.raises(RuntimeError):
            with p.claim() as f3:
                raise RuntimeError("boom")
        assert f3.released
        st = zinc.ring_stats(name)
        assert st.published == 2 and st.aborted == 1


def test_frame_too_large_keeps_the_claim(name):
    with zinc.Producer.create(name, slot_count=2, slot_size=4096) as p:
        f = p.claim()
        with pytest.raises(zinc.FrameTooLarge):
            f.array((4097,), np.uint8)
        f.size = 5000
        with pytest.raises(zinc.FrameTooLarge):
            p.publish(f)
        f.size = 10
        p.publish(f)


def test_iteration_stops_when_producer_gone(name):
    p = zinc.Producer.create(name, slot_count=8, slot_size=4096)
    c = zinc.Consumer.open(name, Mode.EVERY)
    for i in range(5):
        p.send(np.full(4, i, np.uint8))
    p.close()
    seen = [(f.seq, int(f.numpy()[0])) for f in c]
    assert seen == [(i + 1, i) for i in range(5)]
    with pytest.raises(zinc.ProducerGone) as e:
        c.acquire(0)
    assert isinstance(e.value, BrokenPipeError)
    c.close()


def test_timeouts_and_polling(name):
    with zinc.Producer.create(name, slot_count=2, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.EVERY) as c:
        with pytest.raises(zinc.WouldBlock):
            c.acquire(0)
        assert c.try_acquire() is None
        with pytest.raises(zinc.Timeout) as e:
            c.acquire(0.01)
        assert isinstance(e.value, TimeoutError) and e.value.code == -110
        # An EVERY consumer that does not release blocks the producer.
        p.send(np.zeros(4, np.uint8))
        p.send(np.zeros(4, np.uint8))
        with pytest.raises(zinc.WouldBlock):
            p.claim(0)
        with pytest.raises(zinc.Timeout):
            p.claim(0.01)
        with c.acquire(0):
            pass
        p.claim(0).abort()


def test_stream_descriptor(name):
    with zinc.Producer.create(name, slot_count=2, slot_size=1 << 16) as p:
        with zinc.Consumer.open(name) as c:
            assert c.stream() is None
            p.set_stream((120, 160, 3), np.uint8, fourcc="RGB3", user=b"cam")
            s = c.stream()
            assert s.shape == (120, 160, 3) and s.dtype == np.uint8
            assert s.fourcc == zinc.FOURCC_RGB24 and s.size == 120 * 160 * 3
            assert s.user.startswith(b"cam")
            with pytest.raises(zinc.FrameReleased):
                s.numpy()


def test_images_points_and_dtypes(name):
    with zinc.Producer.create(name, slot_count=4, slot_size=1 << 16) as p, \
            zinc.Consumer.open(name, Mode.EVERY) as c:
        f = p.claim()
        f.set_image("RGB3", 32, 16)
        f.numpy()[:] = 9
        p.publish(f)
        with c.acquire(5) as g:
            assert g.shape == (16, 32, 3) and g.fourcc == zinc.FOURCC_RGB24
            assert (g.numpy() == 9).all()
        f = p.claim()
        f.set_points(100, 4)
        f.numpy()[:] = 0.5
        p.publish(f)
        with c.acquire(5) as g:
            pts = g.numpy()
            assert pts.dtype == np.float32 and pts.shape == (100, 4) and pts.sum() == 200
            del pts
        for dt in (np.int8, np.uint16, np.int32, np.uint64, np.float16, np.float64):
            src = (np.arange(24) % 100).astype(dt).reshape(2, 3, 4)
            p.send(src)
            with c.acquire(5) as g:
                got = g.numpy()
                assert got.dtype == dt and np.array_equal(got, src)
                assert np.array_equal(np.asarray(g), src)
                del got
        with pytest.raises(TypeError):
            p.claim().array((2,), np.complex64)
        p.abort()


def test_raw_frame_and_non_contiguous_descriptor(name):
    with zinc.Producer.create(name, slot_count=4, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.EVERY) as c:
        f = p.claim()
        f.buffer()[:5] = b"hello"
        f.size = 5
        p.publish(f)
        with c.acquire(5) as g:
            assert g.tensor.ndim == 0 and g.tobytes() == b"hello"
            assert g.numpy().tolist() == list(b"hello")
        # A transposed view: column-major strides and an offset.
        f = p.claim()
        f.buffer()[:100] = bytes(range(100))
        f.set_tensor((4, 3), np.uint8, strides=(1, 4), offset=10)
        p.publish(f)
        with c.acquire(5) as g:
            ref = np.arange(100, dtype=np.uint8)[10:22].reshape(3, 4).T
            assert np.array_equal(g.numpy(), ref)
        # Negative strides (a vertically flipped image) are fine if in bounds.
        f = p.claim()
        f.buffer()[:6] = bytes([1, 2, 3, 4, 5, 6])
        f.set_tensor((3, 2), np.uint8, strides=(-2, 1), offset=4)
        f.size = 6
        p.publish(f)
        with c.acquire(5) as g:
            assert g.numpy().tolist() == [[5, 6], [3, 4], [1, 2]]


def _tamper(frame, **fields):
    t = frame._f.tensor
    for k, v in fields.items():
        if k in ("shape", "strides"):
            for i, x in enumerate(v):
                getattr(t, k)[i] = x
        else:
            setattr(t, k, v)
    frame._snap()


@pytest.mark.parametrize("bad", [
    dict(shape=(64, 65)),                 # one row too many
    dict(strides=(64, 2)),                # strides reach past the end
    dict(strides=(-64, 1)),               # negative strides before the start
    dict(offset=4096),                    # offset past the end
    dict(ndim=5),                         # more than 4 dimensions
    dict(dtype_bits=12),                  # not a whole number of bytes
    dict(dtype_lanes=2),                  # lanes double each element
    dict(shape=(1 << 62, 64)),            # overflow
])
def test_hostile_descriptor_raises_never_out_of_bounds(name, monkeypatch, bad):
    with zinc.Producer.create(name, slot_count=2, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.LATEST) as c:
        f = p.claim()
        f.set_image("GREY", 64, 64)
        p.publish(f)
        g = c.acquire(5)
        assert g.numpy().shape == (64, 64)
        # What acquire copied out of shared memory is rewritten as a hostile
        # producer could have written it (between the C check and ours).
        _tamper(g, **bad)
        with pytest.raises(zinc.Corrupted):
            g.numpy()
        with pytest.raises((zinc.Corrupted, BufferError)):
            g.__dlpack__()
        # Our own bounds check works even when the C library's says yes.
        monkeypatch.setattr(zinc._lib, "zinc_tensor_check", lambda t, size: 0)
        with pytest.raises(zinc.Corrupted):
            g.numpy()
        g.release()


def test_dlpack_export(name):
    with zinc.Producer.create(name, slot_count=2, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.EVERY) as c:
        f = p.claim()
        f.buffer()[:64] = bytes(64)
        src = np.arange(12, dtype=np.float32).reshape(3, 4)
        a = f.array((3, 4), np.float32, offset=16)
        a[:] = src
        p.publish(f)
        g = c.acquire(5)
        assert g.__dlpack_device__() == (1, 0)
        x = np.from_dlpack(g)
        assert np.array_equal(x, src) and x.dtype == np.float32
        assert np.shares_memory(x, g.numpy())
        assert zinc.tensor.dlpack_exports() == 1
        del x
        gc.collect()
        assert zinc.tensor.dlpack_exports() == 0    # the importer called our deleter
        cap = g.__dlpack__()                        # never consumed: the capsule's
        assert zinc.tensor.dlpack_exports() == 1    # destructor calls the deleter
        del cap
        assert zinc.tensor.dlpack_exports() == 0
        g.release()
        with pytest.raises(zinc.FrameReleased):
            g.__dlpack__()
        del a


def _py_consumer(name, conn, count):
    with zinc.Consumer.open(name, Mode.EVERY) as c:
        conn.send("attached")
        out = []
        for f in c:
            with f:
                a = f.numpy()
                out.append((f.seq, a.shape, int(a.astype(np.int64).sum())))
                del a
        conn.send(out)


def test_python_to_python_across_processes(name):
    with zinc.Producer.create(name, slot_count=4, slot_size=1 << 16) as p:
        parent, child = fork.Pipe()
        proc = fork.Process(target=_py_consumer, args=(name, child, 20))
        proc.start()
        assert parent.recv() == "attached"
        sent = []
        for i in range(20):
            img = np.full((48, 64), i, np.uint8)
            p.send(img)
            sent.append((i + 1, (48, 64), i * 48 * 64))
    assert parent.recv() == sent
    proc.join(30)
    assert proc.exitcode == 0


def test_close_with_live_views_is_deferred(name):
    p = zinc.Producer.create(name, slot_count=2, slot_size=4096)
    c = zinc.Consumer.open(name, Mode.LATEST)
    p.send(np.full(16, 5, np.uint8))
    g = c.acquire(5)
    v = g.numpy()
    c.close()
    p.close()
    assert g.released
    assert v.tolist() == [5] * 16        # still mapped: no crash, no garbage
    with pytest.raises(zinc.InvalidArgument):
        c.acquire(0)
    del v, g
    gc.collect()
    with pytest.raises(zinc.NotFound):
        zinc.Consumer.open(name)


def test_errors_carry_code_and_message(name):
    with pytest.raises(zinc.NotFound) as e:
        zinc.Consumer.open(name)
    assert e.value.code == -2 and e.value.strerror == zinc.strerror(-2)
    with zinc.Producer.create(name, slot_count=2, slot_size=4096):
        with pytest.raises(zinc.Exists) as e:
            zinc.Producer.create(name, slot_count=2, slot_size=4096)
        assert e.value.detail
    with pytest.raises(zinc.InvalidArgument):
        zinc.Producer.create(name, slot_count=3, slot_size=4096)
    assert ctypes.sizeof(zinc._lib.zinc_frame) == 232


def test_lanes_and_bfloat16(name):
    with zinc.Producer.create(name, slot_count=4, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.EVERY) as c:
        f = p.claim()
        f.array((4, 2), np.float32)[:] = np.arange(8, dtype=np.float32).reshape(4, 2)
        t = f._f.tensor                 # describe it as 4 elements of float32x2
        t.ndim, t.dtype_lanes, t.shape[1], t.strides[1] = 1, 2, 0, 0
        p.publish(f)
        with c.acquire(5) as g:
            assert g.tensor.dtype_lanes == 2
            a = g.numpy()
            assert a.shape == (4, 2) and a.tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
            del a
        f = p.claim()
        f.array((3,), np.uint16)[:] = [0x3F80, 0x4000, 0x4040]   # bfloat16 1, 2, 3
        f._f.tensor.dtype_code = zinc._lib.DTYPE_BFLOAT
        p.publish(f)
        with c.acquire(5) as g:
            with pytest.raises(TypeError):
                g.numpy()
            bits = g.numpy(dtype=np.uint16)
            as_f32 = (bits.astype(np.uint32) << 16).view(np.float32)
            assert as_f32.tolist() == [1.0, 2.0, 3.0]
            with pytest.raises(TypeError):
                g.numpy(dtype=np.float32)         # wrong item size
            del bits


def test_iteration_reports_a_torn_frame_left_held(name):
    with zinc.Producer.create(name, slot_count=2, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.LATEST) as c:
        p.send(np.zeros(4, np.uint8))
        it = iter(c)
        f = next(it)
        assert c.held is f
        p.send(np.ones(4, np.uint8))
        p.send(np.ones(4, np.uint8))
        with pytest.raises(zinc.TornFrame):
            next(it)                              # releasing f found it overwritten
        assert f.torn and c.held is None


def test_dlpack_refuses_copy_and_other_devices(name):
    with zinc.Producer.create(name, slot_count=2, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.EVERY) as c:
        p.send(np.arange(6, dtype=np.int16))
        with c.acquire(5) as g:
            with pytest.raises(BufferError):
                g.__dlpack__(copy=True)
            with pytest.raises(BufferError):
                g.__dlpack__(dl_device=(2, 0))
            with pytest.raises(BufferError):
                g.__dlpack__(stream=1)
            assert zinc.tensor.dlpack_exports() == 0


def test_slow_every_consumer_is_demoted(name):
    with zinc.Producer.create(name, slot_count=2, slot_size=4096, demote_after=0.01) as p, \
            zinc.Consumer.open(name, Mode.EVERY) as c:
        assert c.config.demote_after_ns == 10_000_000
        for i in range(2):
            p.send(np.full(4, i, np.uint8))
        held = c.acquire(5)                 # frame 1, held: the ring is full
        # The claim of frame 3 waits for us, then demotes us and goes on.
        p.send(np.full(4, 2, np.uint8), timeout=30)
        assert c.mode == Mode.LOSSY
        held.release(raise_torn=False)
        with c.acquire(5) as g:
            assert g.demoted
        assert zinc.ring_stats(name).demoted == 1


def test_timestamps_false_leaves_publish_ns_zero(name):
    with zinc.Producer.create(name, slot_count=2, slot_size=4096, timestamps=False) as p, \
            zinc.Consumer.open(name, Mode.EVERY) as c:
        f = p.claim()
        f.array((4,), np.uint8)[:] = 7
        f.timestamp_ns = 42
        p.publish(f)
        with c.acquire(5) as g:
            assert g.publish_ns == 0
            assert g.timestamp_ns == 42
    with zinc.Producer.create(name, slot_count=2, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.EVERY) as c:
        f = p.claim()
        f.array((4,), np.uint8)[:] = 7
        p.publish(f)
        with c.acquire(5) as g:
            assert g.publish_ns > 0


def _open_in_child(name, conn):
    try:
        with zinc.Consumer.open(name, Mode.EVERY) as c:
            conn.send(("attached", c.config.flags & zinc._lib.RING_GROUP_ACCESS))
            with c.acquire(10) as f:
                conn.send(int(f.numpy(np.uint8)[0]))
    except zinc.ZincError as e:
        conn.send(repr(e))


@pytest.mark.parametrize("group_access, mode", [(False, 0o600), (True, 0o660)])
def test_group_access_sets_the_mode_and_same_uid_attaches(name, group_access, mode):
    # Under the strictest umask: the library sets the mode, not the umask.
    old = os.umask(0o077)
    try:
        p = zinc.Producer.create(name, slot_count=2, slot_size=4096, group_access=group_access)
    finally:
        os.umask(old)
    with p:
        assert os.stat("/dev/shm/zinc_" + name).st_mode & 0o777 == mode
        parent, child = fork.Pipe()
        proc = fork.Process(target=_open_in_child, args=(name, child))
        proc.start()
        assert parent.recv() == ("attached", zinc._lib.RING_GROUP_ACCESS if group_access else 0)
        p.send(np.full(8, 42, np.uint8))
        assert parent.recv() == 42
        proc.join(30)
        assert proc.exitcode == 0


def test_group_access_flag_matches_the_header():
    text = (REPO / "include" / "zinc" / "ring.h").read_text()
    m = re.search(r"#define ZINC_RING_GROUP_ACCESS\s+(0x[0-9a-fA-F]+)u?", text)
    assert m, "ZINC_RING_GROUP_ACCESS not found in ring.h"
    assert zinc._lib.RING_GROUP_ACCESS == int(m.group(1), 16)
