# SPDX-License-Identifier: MIT
"""Sealed anonymous rings from Python: Producer.create(anonymous=/listen=),
Consumer.connect, Producer.fd / Consumer.open_fd, ring_stats over a socket."""
import fcntl
import multiprocessing
import os

import numpy as np
import pytest

import zinc
from zinc import Mode

fork = multiprocessing.get_context("fork")


@pytest.fixture
def address(name):
    """An abstract socket address unique to this test."""
    return "@zinc-py/" + name


@pytest.fixture
def registry(tmp_path, monkeypatch):
    reg = tmp_path / "reg"
    monkeypatch.setenv("ZINC_RUNTIME_DIR", str(reg))
    return reg


def test_connect_every_frame_zero_copy(name, address, registry):
    with zinc.Producer.create(name, slot_count=4, slot_size=4096, listen=address) as p:
        assert not os.path.exists("/dev/shm/zinc_" + name)
        with zinc.Consumer.connect(address, Mode.EVERY) as c:
            assert c.generation == p.generation
            assert c.config.flags & zinc._lib.RING_ANONYMOUS
            for i in range(10):
                p.send(np.full((16,), i, np.uint16))
                with c.acquire(5) as f:
                    a = f.numpy(np.uint16)
                    assert f.seq == i + 1 and a.shape == (16,) and int(a[0]) == i
                    del a
            st = zinc.ring_stats(address)
            assert st.head == 10 and st.producer_alive == 1 and st.consumers == 1
            assert st.consumer_stats[0].acquired == 10
        assert [e for e in os.listdir(registry) if not e.startswith(".")]
    assert not [e for e in os.listdir(registry) if not e.startswith(".")]
    with pytest.raises(zinc.NotFound):
        zinc.Consumer.connect(address)


def test_connect_waits_for_the_listener(name, address):
    with pytest.raises(zinc.NotFound):
        zinc.Consumer.connect(address, timeout=0.05)


def _child_consumer(address, q):
    try:
        with zinc.Consumer.connect(address, Mode.EVERY, timeout=10) as c:
            q.put("attached")
            seqs = [f.seq for f in c]  # until the producer is gone
        q.put(seqs)
    except Exception as e:  # report, do not hang the parent
        q.put(repr(e))


def test_other_process_connects_and_drains(name, address):
    q = fork.Queue()
    kid = fork.Process(target=_child_consumer, args=(address, q))
    kid.start()  # before the ring exists: it inherits nothing
    try:
        with zinc.Producer.create(name, slot_count=4, slot_size=4096, listen=address) as p:
            assert q.get(timeout=20) == "attached"
            for i in range(50):
                p.send(np.arange(8, dtype=np.int64) + i, timeout=10)
        assert q.get(timeout=20) == list(range(1, 51))
    finally:
        kid.join(20)
        if kid.is_alive():
            kid.kill()


def test_fd_and_open_fd(name):
    with zinc.Producer.create(name, slot_count=2, slot_size=4096, anonymous=True) as p:
        fd = p.fd()
        try:
            seals = fcntl.fcntl(fd, 1034)  # F_GET_SEALS
            assert seals & 0x7 == 0x7  # F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW
            with pytest.raises(PermissionError):
                os.ftruncate(fd, 0)
            with zinc.Consumer.open_fd(fd, "lossy") as c:
                p.send(np.frombuffer(b"hello", np.uint8))
                with c.acquire(5) as f:
                    assert f.tobytes() == b"hello"
        finally:
            os.close(fd)


def test_unsealed_descriptor_refused(name):
    fd = os.memfd_create("zt-py", os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, 1 << 20)
        with pytest.raises(zinc.Corrupted):
            zinc.Consumer.open_fd(fd)
    finally:
        os.close(fd)


def test_unlisten_then_listen_again(name, address, registry):
    with zinc.Producer.create(name, slot_count=4, slot_size=4096, listen=address) as p:
        with zinc.Consumer.connect(address, Mode.EVERY) as c:
            p.unlisten()
            with pytest.raises(zinc.NotFound):
                zinc.Consumer.connect(address)
            with pytest.raises(zinc.InvalidArgument):
                p.unlisten()
            assert not [e for e in os.listdir(registry) if not e.startswith(".")]
            p.send(np.full((16,), 7, np.uint16))
            with c.acquire(0) as f:  # the attached consumer carries on
                assert f.seq == 1 and int(f.numpy(np.uint16)[0]) == 7
            p.listen(address)
            with zinc.Consumer.connect(address) as c2:
                assert c2.generation == p.generation


def test_named_ring_does_not_listen(name, address):
    with zinc.Producer.create(name, slot_count=2, slot_size=4096) as p:
        with pytest.raises(zinc.InvalidArgument):
            p.listen(address)
        with pytest.raises(zinc.InvalidArgument):
            p.fd()
    with pytest.raises(zinc.InvalidArgument):
        zinc.Consumer.connect("@")
