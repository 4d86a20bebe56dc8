# SPDX-License-Identifier: MIT
"""Waiting like an application: Consumer.fileno() with select/poll,
acquire_async and frames() under asyncio, zinc.wait_any, and signals
(a handler that raises ends a wait at once; one that does not lets it go
on, as PEP 475 does for Python's own calls)."""
import asyncio
import multiprocessing
import os
import select
import signal
import sys
import time

import numpy as np
import pytest

import zinc
from zinc import Mode

pytest_asyncio = pytest.importorskip(
    "pytest_asyncio", reason="pytest-asyncio is not installed (Debian: python3-pytest-asyncio)")

fork = multiprocessing.get_context("fork")


def _send(p, value):
    with p.claim() as f:
        f.array((4,), np.int64)[:] = value


def _unlink(n):
    try:
        zinc.unlink(n)
    except zinc.NotFound:
        pass  # closing the last handle removed it already


def _readable(fd, timeout=0.0):
    r, _, _ = select.select([fd], [], [], timeout)
    return bool(r)


def test_fileno_is_readable_until_acquire_says_nothing(name):
    with zinc.Producer.create(name, slot_count=4, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.EVERY) as c:
        fd = c.fileno()
        assert fd == c.fileno() and fd >= 0
        assert not _readable(fd)
        _send(p, 1)
        _send(p, 2)
        assert _readable(fd, 5)
        with c.acquire(0) as f:
            assert f.numpy(np.int64)[0] == 1
        assert _readable(fd), "a frame is still pending"
        with c.acquire(0):
            pass
        assert c.try_acquire() is None
        assert not _readable(fd)


def _produce_later(name, n, start_evt):
    p = zinc.Producer.create(name, slot_count=4, slot_size=4096)
    start_evt.set()
    time.sleep(0.05)  # let the consumer reach its await: the point of the test
    for i in range(n):
        _send(p, i + 1)
        time.sleep(0.001)
    p.close()


@pytest.mark.asyncio
async def test_acquire_async_from_another_process(name):
    evt = fork.Event()
    proc = fork.Process(target=_produce_later, args=(name, 20, evt))
    proc.start()
    try:
        assert evt.wait(20)
        c = zinc.Consumer.open(name, Mode.EVERY, timeout=10)
        got = []
        async for f in c.frames():
            got.append(int(f.numpy(np.int64)[0]))
        assert got == list(range(1, 21))
        c.close()
    finally:
        proc.join(20)
    assert proc.exitcode == 0


@pytest.mark.asyncio
async def test_gather_over_three_rings(name):
    names = [f"{name}-{i}" for i in range(3)]
    ps = [zinc.Producer.create(n, slot_count=4, slot_size=4096) for n in names]
    cs = [zinc.Consumer.open(n, Mode.EVERY) for n in names]
    try:
        async def take(c, k):
            out = []
            for _ in range(k):
                f = await c.acquire_async(10)
                out.append(int(f.numpy(np.int64)[0]))
                f.release()
            return out

        async def feed():
            for i in range(5):
                for j, p in enumerate(ps):
                    _send(p, 10 * j + i)
                await asyncio.sleep(0.002)

        results = await asyncio.gather(take(cs[0], 5), take(cs[1], 5), take(cs[2], 5), feed())
        assert results[:3] == [[10 * j + i for i in range(5)] for j in range(3)]
    finally:
        for c in cs:
            c.close()
        for p in ps:
            p.close()
        for n in names:
            _unlink(n)


@pytest.mark.asyncio
async def test_cancellation_leaves_no_reader_and_no_frame(name):
    with zinc.Producer.create(name, slot_count=4, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.LATEST) as c:
        loop = asyncio.get_running_loop()
        fd = c.fileno()
        task = asyncio.ensure_future(c.acquire_async())
        for _ in range(100):
            await asyncio.sleep(0)  # let it reach its await
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not loop.remove_reader(fd), "a reader was left registered"
        assert c.held is None
        # The consumer works on: a frame published now is taken.
        _send(p, 7)
        f = await c.acquire_async(5)
        assert int(f.numpy(np.int64)[0]) == 7
        f.release()
        # Cancelled by a timeout around it: the same.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(c.acquire_async(), 0.05)
        assert not loop.remove_reader(fd)
        assert c.held is None


@pytest.mark.asyncio
async def test_acquire_async_timeout_and_producer_gone(name):
    p = zinc.Producer.create(name, slot_count=4, slot_size=4096)
    c = zinc.Consumer.open(name, Mode.EVERY)
    t0 = time.monotonic()
    with pytest.raises(zinc.Timeout):
        await c.acquire_async(0.05)
    assert time.monotonic() - t0 >= 0.05
    with pytest.raises(zinc.WouldBlock):
        await c.acquire_async(0)
    p.close()
    with pytest.raises(zinc.ProducerGone):
        await c.acquire_async(5)
    c.close()


def test_wait_any_returns_the_ready_consumer(name):
    names = [f"{name}-{i}" for i in range(3)]
    ps = [zinc.Producer.create(n, slot_count=4, slot_size=4096) for n in names]
    cs = [zinc.Consumer.open(n, Mode.EVERY) for n in names]
    try:
        with pytest.raises(zinc.WouldBlock):
            zinc.wait_any(cs, 0)
        t0 = time.monotonic()
        with pytest.raises(zinc.Timeout):
            zinc.wait_any(cs, 0.02)
        assert time.monotonic() - t0 >= 0.02
        _send(ps[1], 5)
        assert zinc.wait_any(cs, 5) is cs[1]
        # All ready, nothing taken: each in turn (none starved).
        _send(ps[0], 1)
        _send(ps[2], 1)
        assert {id(zinc.wait_any(cs, 0)) for _ in range(3)} == {id(c) for c in cs}
        with pytest.raises(zinc.InvalidArgument):
            zinc.wait_any([], 0)
    finally:
        for c in cs:
            c.close()
        for p in ps:
            p.close()
        for n in names:
            _unlink(n)


class Stop(Exception):
    pass


@pytest.fixture
def alarm():
    """SIGALRM after `delay` seconds, with a handler; restored afterwards."""
    old = signal.getsignal(signal.SIGALRM)

    def arm(delay, handler):
        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, delay)

    yield arm
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


def test_signal_handler_that_raises_ends_the_wait(name, alarm):
    with zinc.Producer.create(name, slot_count=4, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.EVERY) as c:
        def stop(signum, frame):
            raise Stop()
        for wait in (lambda: c.acquire(None), lambda: zinc.wait_any([c], None),
                     lambda: c.acquire(30)):
            alarm(0.1, stop)
            t0 = time.monotonic()
            with pytest.raises(Stop):
                wait()
            # Promptly: the C call returned -4 at the signal, not at the end
            # of a slice of its wait.
            assert time.monotonic() - t0 < 5
            assert c.held is None
        # KeyboardInterrupt, as Ctrl-C raises it.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        alarm(0.1, lambda s, f: os.kill(os.getpid(), signal.SIGINT))
        with pytest.raises(KeyboardInterrupt):
            c.acquire(None)
        assert p.generation


def test_signal_handler_that_returns_lets_the_wait_go_on(name, alarm):
    with zinc.Producer.create(name, slot_count=4, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.EVERY) as c:
        ran = []

        def publish(signum, frame):
            ran.append(signum)
            _send(p, 42)

        alarm(0.1, publish)
        with c.acquire(30) as f:
            assert int(f.numpy(np.int64)[0]) == 42
        assert ran == [signal.SIGALRM]


def test_interrupted_is_an_interrupted_error():
    e = zinc.errors.error_for(-4, "x")
    assert isinstance(e, zinc.Interrupted) and isinstance(e, InterruptedError)
    assert e.code == -4 and "signal" in e.strerror


def test_pin_without_torch_or_cuda_raises_clearly(name, monkeypatch):
    with zinc.Producer.create(name, slot_count=2, slot_size=4096) as p, \
            zinc.Consumer.open(name, Mode.LATEST) as c:
        monkeypatch.setitem(sys.modules, "torch", None)  # as if not installed
        for h in (c, p):
            with pytest.raises(zinc.CudaUnavailable, match="PyTorch"):
                h.pin()
        base, length = c.mapping()
        assert (base, length) == p.mapping()
        assert base % os.sysconf("SC_PAGE_SIZE") == 0 and length == 2 * 4096
