# SPDX-License-Identifier: MIT
"""Python <-> C in separate processes, through zinc-py-helper (python/tests/py-helper.c)."""
import numpy as np
import pytest

import zinc
from zinc import Mode


def expected_image(seq, w, h):
    # py-helper.c fills byte k of frame seq with (seq * 7 + k) & 0xff.
    return ((seq * 7 + np.arange(w * h * 3, dtype=np.int64)) & 0xFF).astype(np.uint8) \
        .reshape(h, w, 3)


def test_c_producer_python_consumer(name, spawn):
    w, h, count = 40, 30, 25
    prod = spawn("produce", name, count, w, h)
    prod.expect("ready")
    with zinc.Consumer.open(name, Mode.EVERY) as c:
        prod.send("go")
        seqs = []
        for f in c:                               # ends when the C producer closes
            with f:
                img = f.numpy()
                assert img.shape == (h, w, 3) and img.dtype == np.uint8
                assert f.fourcc == zinc.FOURCC_RGB24 and f.timestamp_ns > 0
                assert int.from_bytes(f.user[:8], "little") == f.seq
                assert np.array_equal(img, expected_image(f.seq, w, h))
                seqs.append(f.seq)
                del img
    assert seqs == list(range(1, count + 1))
    rc, out, err = prod.finish()
    assert rc == 0, err


def test_python_producer_c_consumer(name, spawn):
    count = 12
    with zinc.Producer.create(name, slot_count=4, slot_size=1 << 16) as p:
        cons = spawn("consume", name, count, int(Mode.EVERY))
        cons.expect("attached")
        sent = []
        for i in range(count):
            f = p.claim(30)
            a = f.array((20, 10, 3), np.uint8)
            a[:] = (np.arange(600) * (i + 1) % 251).reshape(20, 10, 3)
            f.timestamp_ns = 5000 + i
            sent.append((f.seq, int(a.astype(np.int64).sum())))
            p.publish(f)
        got = []
        for _ in range(count):
            fields = cons.expect("frame")
            seq, size, ndim, s0, s1, s2, st0, st1, st2, code, bits, total, ts, chk = \
                map(int, fields[1:])
            assert (size, ndim, s0, s1, s2, st0, st1, st2, code, bits, chk) == \
                (600, 3, 20, 10, 3, 30, 3, 1, zinc._lib.DTYPE_UINT, 8, 0)
            assert ts == 5000 + seq - 1
            got.append((seq, total))
            assert cons.expect("release")[1] == "0"
        assert got == sent
    rc, out, err = cons.finish()
    assert rc == 0, err


@pytest.mark.parametrize("what", ["shape", "strides", "offset", "size", "ndim", "dtype"])
def test_hostile_c_producer(name, spawn, what):
    prod = spawn("hostile", name, what)
    prod.expect("ready")
    with zinc.Consumer.open(name, Mode.LATEST) as c:
        prod.send("go")
        prod.expect("published")
        # The descriptor in shared memory does not fit the frame: acquiring it
        # must raise, never hand out a view reaching outside the payload.
        with pytest.raises(zinc.Corrupted) as e:
            f = c.acquire(5)
            f.numpy()
        assert e.value.code == -74
    rc, out, err = prod.finish()
    assert rc == 0, err


def test_c_producer_latest_python_consumer_sees_newest(name, spawn):
    prod = spawn("produce", name, 40, 8, 8)
    prod.expect("ready")
    with zinc.Consumer.open(name, Mode.LATEST) as c:
        prod.send("go")
        last = 0
        intact = 0
        for f in c:
            assert f.seq > last                          # strictly newer each time
            same = np.array_equal(f.numpy(), expected_image(f.seq, 8, 8))
            # Lossy reads race with the producer: only a frame that release()
            # reports intact is guaranteed to be what was published.
            if f.release(raise_torn=False):
                assert same
                intact += 1
            last = f.seq
    rc, out, err = prod.finish()
    assert rc == 0, err
    assert last == 40 and intact >= 1
