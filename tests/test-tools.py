# SPDX-License-Identifier: MIT
"""Run the `zinc` tool and the example programs as a user would: spawn them,
parse their --json output, check the files they write (Y4M, PNG, PPM, PLY),
and check that gc/rm respect live owners.

Paths come from the environment (set by tools/meson.build):
  ZINC_TOOL      the built `zinc` binary
  ZINC_EXAMPLES  the directory of the built examples ('' if not built)
  ZINC_LIB       the built libzinc.so (for helper processes via ctypes)

Synchronisation is on pipes only: a helper prints a line when it is ready
and waits for its stdin to close; nothing sleeps to wait for anything.
"""
import ctypes
import json
import os
import signal
import struct
import subprocess
import sys
import zlib

import pytest

TOOL = os.environ.get("ZINC_TOOL", "")
EXAMPLES = os.environ.get("ZINC_EXAMPLES", "")
LIB = os.environ.get("ZINC_LIB", "")
TIMEOUT = 30  # seconds for any single command; generous for a loaded machine

if not TOOL or not os.path.exists(TOOL):
    pytest.skip("ZINC_TOOL not set: run through meson test", allow_module_level=True)
if not os.path.isdir("/dev/shm") or not os.access("/dev/shm", os.W_OK):
    pytest.skip("no writable /dev/shm", allow_module_level=True)

ZINC_ENOENT = -2


def example(name):
    path = os.path.join(EXAMPLES, name) if EXAMPLES else ""
    if not path or not os.path.exists(path):
        pytest.skip("examples not built (-Dexamples=false)")
    return path


def uname(request, tag=""):
    """A name unique to this process and test."""
    base = request.node.name.replace("_", "-")[:40]
    return f"tt{os.getpid()}-{base}{tag}"


def shm_exists(name):
    return os.path.exists("/dev/shm/zinc_" + name)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, **kw)


def zinc(*args):
    return run([TOOL, *args])


def zinc_json(*args):
    r = zinc(*args)
    assert r.returncode == 0, (args, r.returncode, r.stderr)
    return json.loads(r.stdout)


def wait_line(proc, needle):
    """Read proc's stderr until a line containing needle (a pipe: blocks
    until the program says it); returns the lines read."""
    lines = []
    while True:
        line = proc.stderr.readline()
        if not line:
            raise AssertionError(f"process ended before '{needle}': {lines}")
        lines.append(line)
        if needle in line:
            return lines


@pytest.fixture
def cleanup():
    names = []
    procs = []
    yield names, procs
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=TIMEOUT)
    for n in names:
        try:
            os.unlink("/dev/shm/zinc_" + n)
        except FileNotFoundError:
            pass


REGION_HOLDER = r"""
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
h = ctypes.c_void_p()
rc = lib.zinc_create(sys.argv[2].encode(), ctypes.c_size_t(4096), ctypes.byref(h))
print("ready" if rc == 0 else f"error {rc}", flush=True)
sys.stdin.read()  # hold the region until our stdin closes (or we are killed)
"""


def hold_region(name, procs, **kw):
    """A child process that creates plain region `name` and keeps it."""
    if not LIB or not os.path.exists(LIB):
        pytest.skip("ZINC_LIB not set")
    p = subprocess.Popen([sys.executable, "-c", REGION_HOLDER, LIB, name],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, **kw)
    procs.append(p)
    assert p.stdout.readline().strip() == "ready"
    return p


# --- help and usage ---------------------------------------------------------

SUBCOMMANDS = ["ls", "stat", "top", "rm", "gc", "doctor"]
EXAMPLES_ALL = ["camera", "infer", "record", "lidar", "cloud-stats"]


def test_every_help_exits_zero():
    for args in (["--help"], ["help"], *[[c, "--help"] for c in SUBCOMMANDS]):
        r = zinc(*args)
        assert r.returncode == 0, (args, r.stderr)
        assert "usage: zinc" in r.stdout, args
    for ex in EXAMPLES_ALL:
        r = run([example(ex), "--help"])
        assert r.returncode == 0, (ex, r.stderr)
        assert r.stdout.startswith(f"usage: {ex}"), ex


def test_usage_errors_and_exit_codes(request):
    assert zinc().returncode == 2
    assert zinc("frobnicate").returncode == 2
    assert zinc("stat").returncode == 2
    assert zinc("stat", "bad name").returncode == 2
    assert zinc("top", "x", "--interval", "abc").returncode == 2
    assert zinc("stat", uname(request, "-missing")).returncode == 3
    assert zinc("rm", uname(request, "-missing")).returncode == 3
    assert zinc("top", uname(request, "-missing"), "--count", "1").returncode == 3
    for ex in EXAMPLES_ALL:
        assert run([example(ex), "--no-such-option"]).returncode == 2, ex
    r = zinc("version")
    assert r.returncode == 0 and r.stdout.startswith("zinc ")


def test_missing_name_is_named():
    for cmd in ("stat", "top", "rm"):
        r = zinc(cmd)
        assert r.returncode == 2, cmd
        assert f"zinc {cmd}: missing NAME" in r.stderr, (cmd, r.stderr)
        assert "usage: zinc " + cmd in r.stderr, cmd
    r = zinc("stat", "a", "b")
    assert r.returncode == 2 and "too many operands (from 'b' on)" in r.stderr, r.stderr


def test_not_found_message_names_the_object_once(request):
    name = uname(request, "-missing")
    for args, what in ((("stat", name), "cannot inspect"), (("rm", name), "cannot remove")):
        r = zinc(*args)
        assert r.returncode == 3, args
        first = r.stderr.splitlines()[0]
        assert first.startswith(f"zinc: {what} '{name}': "), first
        assert first.count(name) == 1, first  # not "inspect 'x': inspect 'x': ..."
        assert first.endswith("(-2)"), first


def test_ls_pattern_without_match_says_so(request, cleanup):
    names, procs = cleanup
    live = uname(request)
    names.append(live)
    hold_region(live, procs)  # something exists, just not what was asked for
    r = zinc("ls", live + "-nomatch*")
    assert r.returncode == 0, r.stderr
    assert "no Zinc regions in /dev/shm" not in r.stdout
    assert f"no Zinc region in /dev/shm matches '{live}-nomatch*'" in r.stdout
    r = zinc("ls", live)
    assert r.returncode == 0 and r.stdout.splitlines()[1].startswith(live), r.stdout


def test_ls_keeps_its_table_for_an_invalid_object(request, cleanup):
    names, _ = cleanup
    bad, live = uname(request, "-bad"), uname(request, "-live")
    names += [bad, live]
    with open("/dev/shm/zinc_" + bad, "wb") as f:
        f.write(b"junk")  # 4 bytes: no header
    _, procs = cleanup
    hold_region(live, procs)
    r = zinc("ls", uname(request, "-*"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "SIZE", "OWNER", "STATE", "REFS", "CONSUMERS"]
    rows = {line.split()[0]: line for line in lines[1:3]}
    assert set(rows) == {bad, live}, r.stdout
    # Same columns as a valid row (sizes print as "4 B", "4.1 KiB": two words).
    assert rows[bad].split() == [bad, "invalid", "4", "B", "-", "-", "-", "-"], rows[bad]
    assert rows[live].split()[1] == "region" and len(rows[live].split()) == 8, rows[live]
    assert lines[3].startswith("1 invalid"), r.stdout
    (entry,) = zinc_json("ls", bad, "--json")["regions"]
    assert entry["kind"] == "invalid" and entry["error"] == -74


def test_rm_json_reports_the_real_code(request, cleanup):
    names, procs = cleanup
    live, bad = uname(request), uname(request, "-bad")
    names += [live, bad]
    hold_region(live, procs)
    with open("/dev/shm/zinc_" + bad, "wb") as f:
        f.write(b"junk")
    r = zinc("rm", "--json", live, bad, "not a name", uname(request, "-missing"))
    assert r.returncode == 4, r.stderr  # the worst: refused
    res = {e["name"]: e for e in json.loads(r.stdout)["results"]}
    assert res[live]["result"] == "refused: live owner" and res[live]["code"] == -17
    assert res[bad]["result"] == "refused: unreadable" and res[bad]["code"] == -74
    assert res["not a name"]["code"] == -22
    assert res[uname(request, "-missing")]["code"] == ZINC_ENOENT
    assert shm_exists(live) and shm_exists(bad)
    r = zinc("rm", "--json", "--force", bad)
    assert r.returncode == 0 and json.loads(r.stdout)["results"][0]["code"] == 0
    assert not shm_exists(bad)


# --- foreign names: another user's, or not a regular file (issue 13) -------

def test_foreign_and_fifo_names_are_flagged_kept_and_never_waited_on(request, cleanup):
    names, procs = cleanup
    fifo, other = uname(request, "-fifo"), uname(request, "-other")
    names += [fifo, other]
    # Any user can plant a FIFO at a zinc name; before the fix every
    # read-only command blocked opening it (the TIMEOUT would fire).
    os.mkfifo("/dev/shm/zinc_" + fifo, 0o600)
    expect = {fifo}
    if os.geteuid() == 0:
        # A well-formed region of another user (uid 65534) at a zinc name.
        hold_region(other, procs, user=65534, group=65534)
        expect.add(other)
    pattern = uname(request, "-*")
    r = zinc("ls", pattern)
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()[1:]
            if line.startswith("tt")}
    assert set(rows) == expect, r.stdout
    for n in expect:
        assert "foreign" in rows[n], rows[n]
    assert f"{len(expect)} foreign" in r.stdout, r.stdout
    by = {e["name"]: e for e in zinc_json("ls", pattern, "--json")["regions"]}
    assert by[fifo]["foreign"] is True and by[fifo]["file_type"] == "fifo"
    if other in expect:
        assert by[other]["foreign"] is True and by[other]["kind"] == "region"
        assert by[other]["owner_uid"] == 65534
        st = zinc_json("stat", other, "--json")
        assert st["foreign"] is True and st["owner_uid"] == 65534
        assert "FOREIGN" in zinc("stat", other).stdout
    r = zinc("stat", fifo)
    assert r.returncode != 0 and "FIFO" in r.stderr, r.stderr
    # gc never touches them, rm wants --force.
    gc = zinc_json("gc", pattern, "--json")
    assert {n["name"]: n["action"] for n in gc["names"]} == {n: "kept (foreign)" for n in expect}
    r = zinc("rm", fifo)
    assert r.returncode == 4 and "foreign" in r.stderr, r.stderr
    assert os.path.exists("/dev/shm/zinc_" + fifo)
    doc = zinc_json("doctor", "--json")
    f = [x for x in doc["findings"] if x["check"] == "foreign"]
    assert f and f[0]["level"] == "warn", doc["findings"]
    assert zinc("rm", "--force", fifo).returncode == 0
    assert not os.path.exists("/dev/shm/zinc_" + fifo)


# --- doctor -----------------------------------------------------------------

def test_doctor_reports_and_fails_on_impossible_size():
    r = zinc("doctor", "--json")
    assert r.returncode in (0, 5), r.stderr
    d = json.loads(r.stdout)
    checks = {f["check"]: f for f in d["findings"]}
    for c in ("shm-fs", "shm-space", "create", "nofile"):
        assert c in checks, c
    assert d["ok"] == (r.returncode == 0)
    assert d["ok"] == all(f["level"] != "fail" for f in d["findings"])
    # No /dev/shm holds a petabyte: the space check must fail, exit 5.
    r = zinc("doctor", "--size", "1024T", "--json")
    assert r.returncode == 5
    d = json.loads(r.stdout)
    assert d["size"] == 1024 ** 5
    space = [f for f in d["findings"] if f["check"] == "shm-space"][0]
    assert space["level"] == "fail" and "needs" in space["message"]
    r = zinc("doctor")
    assert "shm-space" in r.stdout
    assert zinc("doctor", "--size", "lots").returncode == 2


# --- plain regions: ls, rm, gc ----------------------------------------------

def test_gc_removes_dead_owner_and_keeps_live_one(request, cleanup):
    names, procs = cleanup
    live, dead = uname(request, "-live"), uname(request, "-dead")
    names += [live, dead]
    hold_region(live, procs)
    victim = hold_region(dead, procs)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=TIMEOUT)
    assert shm_exists(dead)  # a SIGKILLed owner leaves its name behind

    pattern = f"tt{os.getpid()}-*"
    ls = zinc_json("ls", pattern, "--json")
    by = {r["name"]: r for r in ls["regions"]}
    assert by[live]["kind"] == "region" and by[live]["owner_alive"] is True
    assert by[dead]["owner_alive"] is False
    assert by[live]["owner_pid"] == procs[0].pid
    assert by[live]["capacity"] == 4096

    dry = zinc_json("gc", pattern, "--dry-run", "--json")
    assert [n["name"] for n in dry["names"] if n["action"] == "would remove"] == [dead]
    assert shm_exists(dead)

    gc = zinc_json("gc", pattern, "--json")
    acts = {n["name"]: n["action"] for n in gc["names"]}
    assert acts[dead] == "removed" and acts[live] == "kept (live)"
    assert not shm_exists(dead)
    assert shm_exists(live)


def test_rm_refuses_live_owner_unless_forced(request, cleanup):
    names, procs = cleanup
    live = uname(request)
    names.append(live)
    holder = hold_region(live, procs)
    r = zinc("rm", live)
    assert r.returncode == 4, r.stderr
    assert "live owner" in r.stderr
    assert shm_exists(live)
    r = zinc("rm", "--force", live)
    assert r.returncode == 0, r.stderr
    assert not shm_exists(live)
    # After its owner closed, a region is removable without --force.
    other = uname(request, "-2")
    names.append(other)
    h2 = hold_region(other, procs)
    h2.stdin.close()
    h2.wait(timeout=TIMEOUT)
    holder.stdin.close()
    if shm_exists(other):  # close removed it already unless refs remained
        assert zinc("rm", other).returncode == 0
    assert not shm_exists(other)


# --- rings: camera, record, infer, stat, top --------------------------------

FRAMES = 20


def start_camera(name, procs, *extra):
    p = subprocess.Popen([example("camera"), "--name", name, *extra],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    procs.append(p)
    wait_line(p, "ready")
    return p


def read_png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        ctype, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert zlib.crc32(ctype + body) == crc, ctype
        chunks.append((ctype, body))
        pos += 12 + n
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    w, h, depth, ctype = struct.unpack(">IIBB", chunks[0][1][:10])
    raw = zlib.decompress(b"".join(b for t, b in chunks if t == b"IDAT"))
    ch = {0: 1, 2: 3}[ctype]
    assert depth == 8 and len(raw) == h * (1 + w * ch)
    rows = [raw[y * (1 + w * ch) + 1:(y + 1) * (1 + w * ch)] for y in range(h)]
    assert all(raw[y * (1 + w * ch)] == 0 for y in range(h))  # filter None
    return w, h, ch, b"".join(rows)


def read_ppm(path):
    data = open(path, "rb").read()
    magic, w, h, maxval, rest = data.split(maxsplit=4)
    assert magic == b"P6" and maxval == b"255"
    w, h = int(w), int(h)
    assert len(rest) == w * h * 3
    return w, h, 3, rest


def read_y4m(path):
    data = open(path, "rb").read()
    header, _, body = data.partition(b"\n")
    fields = header.split()
    assert fields[0] == b"YUV4MPEG2"
    tags = {f[:1]: f[1:] for f in fields[1:]}
    w, h = int(tags[b"W"]), int(tags[b"H"])
    cs = tags[b"C"]
    if cs.startswith(b"420"):
        frame = w * h + 2 * ((w + 1) // 2) * ((h + 1) // 2)
    else:
        assert cs == b"444"
        frame = 3 * w * h
    assert len(body) % (6 + frame) == 0, "truncated frame"
    n = len(body) // (6 + frame)
    frames = []
    for i in range(n):
        chunk = body[i * (6 + frame):(i + 1) * (6 + frame)]
        assert chunk[:6] == b"FRAME\n"
        frames.append(chunk[6:])
    return w, h, cs, tags[b"F"], frames


def check_pattern(w, h, ch, px):
    """The camera's test pattern: white first bar, blue seventh, and a grey
    ramp across the bottom row."""
    def at(x, y):
        o = (y * w + x) * ch
        return tuple(px[o:o + ch])
    y = h * 2 // 3 - 2  # bars end at 2/3; the box bounces above them
    bottom = h - 1
    assert at(w * 13 // 16, y)[:3] == (0, 0, 255)  # blue bar
    assert at(w * 15 // 16, y)[:3] == (0, 0, 0)  # black bar
    for x in (0, w // 3, w - 1):
        v = x * 255 // (w - 1)
        assert at(x, bottom)[:3] == (v, v, v)


def test_pipeline_camera_record_infer_stat(request, cleanup, tmp_path):
    names, procs = cleanup
    name = uname(request)
    names.append(name)
    y4m, png = tmp_path / "rec.y4m", tmp_path / "snap.png"
    cam = start_camera(name, procs, "--size", "160x120", "--fps", "0",
                       "--frames", str(FRAMES), "--wait-consumers", "2",
                       "--gop", "5", "--hold", "--json")
    rec = subprocess.Popen([example("record"), "--name", name, "--out", str(y4m),
                            "--snapshot", str(png), "--snapshot-frame", "7", "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    inf = subprocess.Popen([example("infer"), "--name", name, "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs += [rec, inf]
    wait_line(cam, "done, holding")

    # The producer is done and holds the ring: its counters are final.
    st = zinc_json("stat", name, "--json")
    assert st["kind"] == "ring"
    assert st["ring"]["head"] == FRAMES
    assert st["producer"]["published"] == FRAMES
    assert st["producer"]["pid"] == cam.pid and st["producer"]["alive"] is True
    assert st["ring"]["stream_fourcc"] == "RGBA32"
    assert st["ring"]["slot_size"] == 160 * 120 * 4
    ls = zinc_json("ls", name, "--json")["regions"]
    assert len(ls) == 1 and ls[0]["kind"] == "ring" and ls[0]["owner_alive"] is True
    # A live producer is never removed.
    assert zinc("rm", name).returncode == 4
    gc = zinc_json("gc", name, "--json")
    assert gc["names"][0]["action"] == "kept (live)" and shm_exists(name)

    r_out, r_err = rec.communicate(timeout=TIMEOUT)
    i_out, i_err = inf.communicate(timeout=TIMEOUT)
    assert rec.returncode == 0, r_err
    assert inf.returncode == 0, i_err
    c_out, c_err = cam.communicate(input="", timeout=TIMEOUT)  # closes stdin
    assert cam.returncode == 0, c_err
    camj, recj, infj = json.loads(c_out), json.loads(r_out), json.loads(i_out)
    assert camj["frames"] == FRAMES and camj["keyframes"] == FRAMES // 5

    # record is an EVERY consumer: every frame, in order, then END_OF_STREAM.
    assert recj["frames"] == FRAMES and recj["dropped"] == 0 and recj["torn"] == 0
    assert recj["end"] == "end of stream"
    w, h, cs, rate, frames = read_y4m(y4m)
    assert (w, h, cs, rate) == (160, 120, b"420jpeg", b"30:1")
    assert len(frames) == FRAMES

    # The snapshot is frame 7, a valid PNG of the right size with the pattern.
    sw, sh, ch, px = read_png(png)
    assert (sw, sh, ch) == (160, 120, 3)
    check_pattern(sw, sh, ch, px)
    # ...and the recorded frame 7's luma is the snapshot's luma.
    luma = frames[6][:w * h]
    for x, y in ((5, 5), (100, 30), (150, 110), (80, 119)):
        r, g, b = px[(y * w + x) * 3:(y * w + x) * 3 + 3]
        assert abs(luma[y * w + x] - (0.299 * r + 0.587 * g + 0.114 * b)) <= 1.0

    # infer: LATEST, so it may skip frames, but never more than were sent.
    assert 1 <= infj["frames"] <= FRAMES
    assert infj["frames"] + infj["dropped"] + infj["torn"] <= FRAMES
    assert infj["end"] == "end of stream"
    lat = infj["latency_ns"]
    assert 0 < lat["p50"] <= lat["p99"] <= lat["max"]
    assert infj["edge_mean"] > 0  # colour bars have edges
    assert not shm_exists(name)  # the producer closed last: name removed


def test_stat_counts_a_consumer_exactly(request, cleanup):
    """A ctypes EVERY consumer takes 15 of 20 frames; stat must say so."""
    names, procs = cleanup
    if not LIB:
        pytest.skip("ZINC_LIB not set")
    name = uname(request)
    names.append(name)
    lib = ctypes.CDLL(LIB)
    cam = start_camera(name, procs, "--size", "64x48", "--fps", "0",
                       "--frames", str(FRAMES), "--wait-consumers", "1", "--hold")
    cons = ctypes.c_void_p()
    assert lib.zinc_consumer_open(name.encode(), 0, ctypes.byref(cons)) == 0
    frame = ctypes.create_string_buffer(1024)  # >= sizeof(zinc_frame)
    try:
        for i in range(15):
            rc = lib.zinc_consumer_acquire(cons, frame, ctypes.c_int64(10 ** 10))
            assert rc == 0, rc
            (seq,) = struct.unpack_from("<Q", frame.raw, 16)
            assert seq == i + 1
            assert lib.zinc_consumer_release(cons, frame) == 0
        wait_line(cam, "done, holding")
        st = zinc_json("stat", name, "--json")
        assert st["producer"]["published"] == FRAMES
        (c,) = st["consumers"]
        assert c["pid"] == os.getpid() and c["alive"] is True
        assert c["mode"] == "every"
        assert c["acquired"] == 15 and c["released"] == 15
        assert c["cursor"] == 15 and c["lag"] == FRAMES - 15
        assert c["dropped"] == 0 and c["torn"] == 0
        assert c["latency_samples"] == 15 == sum(c["histogram"])
        p = c["latency_ns"]
        assert p["p50"] is not None and p["p50"] <= p["p90"] <= p["p99"]
        text = zinc("stat", name)
        assert text.returncode == 0 and "every" in text.stdout and "published 20" in text.stdout
        top = zinc("top", name, "--json", "--interval", "0.05", "--count", "2")
        assert top.returncode == 0, top.stderr
        snaps = [json.loads(line) for line in top.stdout.splitlines()]
        assert len(snaps) == 2
        assert snaps[-1]["published"] == FRAMES and snaps[-1]["consumers"][0]["lag"] == 5
        screen = zinc("top", name, "--interval", "0.05", "--count", "1")
        assert screen.returncode == 0 and "frames/s" in screen.stdout
        assert str(os.getpid()) in screen.stdout
        line = zinc("top", name, "--line", "--interval", "0.05", "--count", "1")
        assert line.returncode == 0 and line.stdout.startswith(name + ":")
    finally:
        lib.zinc_consumer_close(cons)
    cam.communicate(input="", timeout=TIMEOUT)  # closes stdin: the camera exits
    assert cam.returncode == 0


def test_gc_removes_ring_of_killed_producer(request, cleanup):
    names, procs = cleanup
    name = uname(request)
    names.append(name)
    cam = start_camera(name, procs, "--size", "64x48", "--fps", "0", "--frames", "3",
                       "--hold")
    wait_line(cam, "done, holding")
    assert zinc("rm", name).returncode == 4
    cam.send_signal(signal.SIGKILL)
    cam.wait(timeout=TIMEOUT)
    assert shm_exists(name)
    (entry,) = zinc_json("ls", name, "--json")["regions"]
    assert entry["kind"] == "ring" and entry["owner_alive"] is False
    gc = zinc_json("gc", name, "--json")
    assert gc["names"][0]["action"] == "removed" and gc["removed"] == 1
    assert not shm_exists(name)


def test_record_rgb24_444_and_ppm(request, cleanup, tmp_path):
    names, procs = cleanup
    name = uname(request)
    names.append(name)
    y4m, ppm = tmp_path / "r.y4m", tmp_path / "s.ppm"
    cam = start_camera(name, procs, "--size", "98x66", "--format", "rgb24", "--fps", "0",
                       "--frames", "6", "--wait-consumers", "1", "--quiet")
    r = run([example("record"), "--name", name, "--out", str(y4m), "--chroma", "444",
             "--fps", "25", "--scale", "2", "--snapshot", str(ppm), "--snapshot-frame", "6",
             "--json"])
    assert r.returncode == 0, r.stderr
    cam.communicate(timeout=TIMEOUT)
    assert cam.returncode == 0
    recj = json.loads(r.stdout)
    assert (recj["frames"], recj["width"], recj["height"], recj["scale"]) == (6, 49, 33, 2)
    w, h, cs, rate, frames = read_y4m(y4m)
    assert (w, h, cs, rate, len(frames)) == (49, 33, b"444", b"25:1", 6)
    # Bottom-right 2x2 block of the grey ramp, averaged: Y = grey, Cb = Cr = 128.
    grey = (96 * 255 // 97 + 97 * 255 // 97 + 1) // 2
    assert abs(frames[5][32 * 49 + 48] - grey) <= 1
    assert abs(frames[5][49 * 33 + 32 * 49 + 48] - 128) <= 1
    pw, ph, ch, px = read_ppm(ppm)
    assert (pw, ph) == (98, 66)
    check_pattern(pw, ph, ch, px)


def test_lidar_cloud_stats_ply(request, cleanup, tmp_path):
    names, procs = cleanup
    name = uname(request)
    names.append(name)
    ply = tmp_path / "sweep.ply"
    lid = subprocess.Popen([example("lidar"), "--name", name, "--points", "4096",
                            "--beams", "16", "--rate", "0", "--sweeps", "5",
                            "--wait-consumers", "1", "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs.append(lid)
    wait_line(lid, "ready")
    r = run([example("cloud-stats"), "--name", name, "--ply", str(ply), "--ply-frame", "2",
             "--json"])
    assert r.returncode == 0, r.stderr
    out, err = lid.communicate(timeout=TIMEOUT)
    assert lid.returncode == 0, err
    lj, cj = json.loads(out), json.loads(r.stdout)
    assert lj["sweeps"] == 5 and cj["sweeps"] == 5
    assert cj["points"] == lj["points"] and cj["dropped"] == 0
    assert cj["end"] == "end of stream"
    last = cj["last"]
    assert 0 < last["points"] <= 4096 and 0 < last["voxels"] <= last["points"]
    assert all(-81 <= v <= 81 for v in last["min"] + last["max"])
    assert last["min"][2] >= -1.9  # nothing below the ground plane (+ noise)
    data = ply.read_bytes()
    header, _, body = data.partition(b"end_header\n")
    assert header.startswith(b"ply\nformat binary_little_endian 1.0\n")
    n = int([l for l in header.split(b"\n") if l.startswith(b"element vertex")][0].split()[2])
    assert n == cj["ply"]["points"] and len(body) == n * 16
    xs = struct.unpack_from(f"<{4 * n}f", body)
    assert all(abs(v) <= 81 for v in xs)


# --- the demo -----------------------------------------------------------------

def test_demo_script_summary_and_files():
    """scripts/demo.sh end to end, short and small, on this build tree."""
    build = os.environ.get("ZINC_BUILD_ROOT", "")
    src = os.environ.get("ZINC_SRC_ROOT", "")
    if not build or not src or not EXAMPLES:
        pytest.skip("ZINC_BUILD_ROOT/ZINC_SRC_ROOT not set or examples not built")
    env = dict(os.environ, ZINC_BUILD_DIR=build, DEMO_SECONDS="2", DEMO_SIZE="160x120",
               DEMO_FPS="30", DEMO_RECORD_SCALE="2")
    p = subprocess.Popen(["sh", os.path.join(src, "scripts", "demo.sh")], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, out + err
    assert "== summary" in out
    table = out.split("== summary", 1)[1].splitlines()
    rows = {line.split()[0]: line.split() for line in table if line[:6] in
            ("camera", "infer ", "record")}
    assert set(rows) == {"camera", "infer", "record"}
    sent = int(rows["camera"][2])
    assert sent >= 1 and int(rows["record"][2]) == sent and int(rows["record"][4]) == 0
    w, h, cs, rate, frames = read_y4m(os.path.join(build, "demo", "demo.y4m"))
    assert (w, h, len(frames)) == (80, 60, sent)
    assert "snapshot: " in out and "video: " in out
    # The demo's ring is gone and none of its processes is left.
    assert not shm_exists(f"demo-{p.pid}")  # the ring is named after the script's pid


# --- sealed anonymous rings: camera/infer --socket, ls, stat, gc (issue 13) ---

@pytest.fixture
def anon_env(tmp_path, monkeypatch):
    """A private socket registry (ZINC_RUNTIME_DIR) for the tool and the
    examples this test starts; its sockets live in tmp_path."""
    reg = tmp_path / "reg"
    monkeypatch.setenv("ZINC_RUNTIME_DIR", str(reg))
    return tmp_path, reg


def start_anon_camera(sock, procs, *extra, name="anoncam"):
    p = subprocess.Popen([example("camera"), "--name", name, "--socket", sock, *extra],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    procs.append(p)
    wait_line(p, "ready")
    return p


def test_anonymous_camera_infer_ls_stat(request, cleanup, anon_env):
    """camera --socket and infer --socket stream through a sealed memfd;
    nothing is in /dev/shm; zinc ls and stat see the ring by its address."""
    _, procs = cleanup
    tmp, reg = anon_env
    sock = f"@zt{os.getpid()}-{request.node.name[:30]}"
    name = uname(request)  # labels the anonymous ring: never a name in /dev/shm
    cam = start_anon_camera(sock, procs, "--size", "64x48", "--fps", "0",
                            "--frames", str(FRAMES), "--wait-consumers", "1", "--hold",
                            name=name)
    inf = subprocess.Popen([example("infer"), "--socket", sock, "--mode", "every", "--json",
                            "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    procs.append(inf)
    wait_line(cam, "done, holding")
    assert not shm_exists(name), "an anonymous ring has a name in /dev/shm"
    (entry,) = [r for r in zinc_json("ls", "--json")["regions"] if r["name"] == sock]
    assert entry["anonymous"] is True and entry["kind"] == "ring"
    assert entry["owner_alive"] is True and entry["head"] == FRAMES
    st = zinc_json("stat", sock, "--json")
    assert st["anonymous"] is True and st["ring"]["flags"] & 0x8
    assert st["producer"]["published"] == FRAMES and st["producer"]["alive"] is True
    text = zinc("stat", sock)
    assert text.returncode == 0 and "sealed anonymous ring" in text.stdout
    assert zinc("ls", sock).stdout.count(sock) == 1, "a pattern selects the address"
    rm = zinc("rm", sock)
    assert rm.returncode == 2 and "socket address" in rm.stderr
    cam.communicate(input="", timeout=TIMEOUT)  # the camera closes: infer sees the end
    assert cam.returncode == 0
    out, err = inf.communicate(timeout=TIMEOUT)
    assert inf.returncode == 0, err
    res = json.loads(out)
    assert res["name"] == sock and res["frames"] == FRAMES and res["torn"] == 0
    assert sock not in zinc("ls").stdout
    assert not [e for e in os.listdir(reg) if not e.startswith(".")], "registry entry left"
    missing = zinc("stat", sock)
    assert missing.returncode == 3 and "nobody listens" in missing.stderr


def test_gc_removes_registry_entry_of_killed_anonymous_producer(request, cleanup, anon_env):
    _, procs = cleanup
    tmp, reg = anon_env
    sock = str(tmp / "cam.sock")
    cam = start_anon_camera(sock, procs, "--size", "64x48", "--fps", "0", "--frames", "3",
                            "--hold")
    wait_line(cam, "done, holding")
    assert [r["name"] for r in zinc_json("ls", "--json")["regions"]].count(sock) == 1
    cam.send_signal(signal.SIGKILL)
    cam.wait(timeout=TIMEOUT)
    # The ring went with its last descriptor; the socket file and the
    # registry entry stay until a new producer or gc.
    assert os.path.exists(sock)
    assert sock not in [r["name"] for r in zinc_json("ls", "--json")["regions"]]
    dry = zinc_json("gc", "--dry-run", "--json")
    assert {"name": sock, "kind": "socket", "action": "would remove (nobody listens)",
            "code": 0} in dry["names"]
    assert [e for e in os.listdir(reg) if not e.startswith(".")]
    gc = zinc_json("gc", "--json")
    assert {"name": sock, "kind": "socket", "action": "removed (nobody listens)",
            "code": 0} in gc["names"]
    assert not [e for e in os.listdir(reg) if not e.startswith(".")]
    # A new producer takes the dead one's socket path at once.
    cam2 = start_anon_camera(sock, procs, "--size", "64x48", "--fps", "0", "--frames", "1",
                             "--hold")
    wait_line(cam2, "done, holding")
    assert zinc_json("stat", sock, "--json")["producer"]["published"] == 1
    cam2.communicate(input="", timeout=TIMEOUT)
    assert cam2.returncode == 0 and not os.path.exists(sock)


def test_infer_in_a_mount_namespace_with_a_private_dev_shm(request, cleanup, anon_env):
    """unshare -m with a tmpfs of its own on /dev/shm: the consumer cannot
    see the producer's /dev/shm and still receives every frame."""
    _, procs = cleanup
    tmp, _ = anon_env
    if os.geteuid() != 0:
        pytest.skip("needs root (unshare -m, mount)")
    probe = run(["unshare", "-m", "sh", "-c", "mount -t tmpfs tmpfs /dev/shm"])
    if probe.returncode != 0:
        pytest.skip(f"cannot make a mount namespace here: {probe.stderr.strip()}")
    sock = str(tmp / "ns.sock")
    cam = start_anon_camera(sock, procs, "--size", "64x48", "--fps", "0",
                            "--frames", str(FRAMES), "--wait-consumers", "1")
    inner = ("mount -t tmpfs -o size=1m tmpfs /dev/shm && "
             "test -z \"$(ls -A /dev/shm)\" && "
             f"exec {example('infer')} --socket {sock} --mode every --json --quiet")
    inf = run(["unshare", "-m", "--propagation", "private", "sh", "-c", inner])
    assert inf.returncode == 0, inf.stderr
    res = json.loads(inf.stdout)
    assert res["frames"] == FRAMES and res["torn"] == 0 and res["dropped"] == 0
    cam.communicate(timeout=TIMEOUT)
    assert cam.returncode == 0
