# SPDX-License-Identifier: MIT
"""Region: create/open, zero-copy views across processes, notify/wait."""
import mmap
import multiprocessing
import os

import numpy as np
import pytest

import zinc

PAGE = mmap.PAGESIZE
fork = multiprocessing.get_context("fork")


def test_create_open_views_share_memory(name):
    with zinc.Region.create(name, PAGE) as w, zinc.Region.open(name) as r:
        assert w.owner and not r.owner
        assert w.capacity == r.capacity == PAGE
        assert w.layout == 1
        a = w.numpy(np.float32)
        b = r.numpy(np.float32)
        assert a.shape == (PAGE // 4,)
        a[:] = np.linspace(0, 1, a.size, dtype=np.float32)
        assert np.array_equal(b, a)            # same physical memory, no copy
        buf = r.buffer()
        assert len(buf) == PAGE and not buf.readonly
        buf[:4] = b"\x01\x02\x03\x04"
        assert bytes(w.buffer()[:4]) == b"\x01\x02\x03\x04"
        v = r.numpy(np.uint16, count=2, offset=2)
        assert v.tolist() == [0x0403, int(w.numpy(np.uint16)[2])]
        assert np.shares_memory(w.numpy(), w.numpy(np.uint32))
        info = r.info()
        assert info.capacity == PAGE and info.version == 1 and info.owner_alive
        assert info.owner_uid == os.geteuid() and info.foreign is False
        assert info.owner_pid == os.getpid() and info.ref_count == 2
        assert zinc.inspect(name).name_hash == zinc.name_hash(name)
        del a, b, buf, v


def test_layout_2(name):
    with zinc.Region.create(name, 2 * PAGE, layout=2) as w:
        assert w.layout == 2 and w.info().data_offset == PAGE
        with zinc.Region.open(name) as r:
            assert r.layout == 2


def test_errors(name):
    with pytest.raises(zinc.NotFound) as e:
        zinc.Region.open(name)
    assert e.value.code == -2 and isinstance(e.value, FileNotFoundError)
    assert isinstance(e.value, OSError) and e.value.errno == 2
    with pytest.raises(zinc.InvalidArgument):
        zinc.Region.create("bad name", PAGE)
    with pytest.raises(zinc.InvalidArgument):
        zinc.Region.create(name, PAGE + 1)
    with zinc.Region.create(name, PAGE):
        with pytest.raises(zinc.Exists) as e:
            zinc.Region.create(name, PAGE)
        assert e.value.code == -17 and e.value.strerror == zinc.strerror(-17)


def _child_writes(name, conn):
    with zinc.Region.open(name) as r:
        a = r.numpy(np.int64)
        conn.recv()                      # parent is waiting
        a[:4] = [11, 22, 33, os.getpid()]
        r.notify()
        assert r.try_wait()              # a handle sees its own notify: consume it
        conn.send("written")
        ok = r.wait(30)                  # parent notifies back
        conn.send((ok, int(a[4])))
        del a


def test_notify_wait_and_views_across_processes(name):
    with zinc.Region.create(name, PAGE) as w:
        a = w.numpy(np.int64)
        parent, child = fork.Pipe()
        p = fork.Process(target=_child_writes, args=(name, child))
        p.start()
        assert not w.try_wait()
        assert w.wait(0) is False
        parent.send("go")
        assert w.wait(30) is True       # woken by the other process
        assert parent.recv() == "written"
        assert a[:4].tolist() == [11, 22, 33, p.pid]
        a[4] = 99
        w.notify()
        assert parent.recv() == (True, 99)
        p.join(30)
        assert p.exitcode == 0
        del a


def test_notifications_coalesce(name):
    with zinc.Region.create(name, PAGE) as w, zinc.Region.open(name) as r:
        w.notify()
        w.notify()
        assert r.try_wait() is True
        assert r.try_wait() is False
        assert r.wait(timeout_ms=0) is False


def test_close_keeps_mapping_while_views_live(name):
    r = zinc.Region.create(name, PAGE)
    a = r.numpy(np.uint8)
    a[0] = 7
    r.close()
    assert r.closed
    with pytest.raises(zinc.InvalidArgument):
        r.buffer()
    # The mapping (and the handle) stay until the last view is gone: reading
    # is safe, and the name is still there.
    assert a[0] == 7
    assert os.path.exists(f"/dev/shm/zinc_{name}")
    del a
    # Owner closed, no handle left: the name is removed.
    assert not os.path.exists(f"/dev/shm/zinc_{name}")


def test_upstream_names(name):
    with zinc.SharedRegion.create(name, PAGE) as w:
        raw = w.as_numpy()
        assert raw.dtype == np.uint8 and raw.shape == (PAGE,)
        w.as_buffer()[0] = 5
        assert raw[0] == 5
        del raw


@pytest.mark.parametrize("group_access, mode", [(False, 0o600), (True, 0o660)])
def test_group_access_sets_the_mode(name, group_access, mode):
    # Under the strictest umask: the library sets the mode, not the umask.
    old = os.umask(0o077)
    try:
        r = zinc.Region.create(name, 4096, group_access=group_access)
    finally:
        os.umask(old)
    try:
        assert os.stat(f"/dev/shm/zinc_{name}").st_mode & 0o777 == mode
        r.buffer()[:3] = b"abc"
        with zinc.Region.open(name) as o:
            assert bytes(o.buffer()[:3]) == b"abc"
    finally:
        r.close()


def test_create_group_access_flag_matches_the_header():
    import pathlib
    import re
    text = (pathlib.Path(__file__).resolve().parents[2] / "include" / "zinc" / "zinc.h").read_text()
    m = re.search(r"#define ZINC_CREATE_GROUP_ACCESS\s+(0x[0-9a-fA-F]+)u?", text)
    assert m, "ZINC_CREATE_GROUP_ACCESS not found in zinc.h"
    assert zinc._lib.CREATE_GROUP_ACCESS == int(m.group(1), 16)
