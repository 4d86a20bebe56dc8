# SPDX-License-Identifier: MIT
"""Pipeline tests of zincsink / zincsrc as a user runs them: gst-launch-1.0
processes, the C examples (camera, infer, lidar), the Python adapter, and
GStreamer's own network elements on 127.0.0.1 (RTP raw video, RTP H.264,
GDP over TCP for tensors).

Synchronisation: consumers attach before producers publish (zincsink
wait-consumers, the examples' --wait-consumers), sockets are awaited in
/proc/net, and every process has a timeout; nothing sleeps to wait.

Environment (set by gst/tests/meson.build): GST_PLUGIN_PATH, GST_REGISTRY,
ZINC_EXAMPLES, ZINC_LIB, ZINC_SRC_ROOT.
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

TIMEOUT = 60  # seconds for one process; generous on a loaded 2-core machine
LAUNCH = shutil.which("gst-launch-1.0")
EXAMPLES = os.environ.get("ZINC_EXAMPLES", "")
SRC = os.environ.get("ZINC_SRC_ROOT", "")
HERE = os.path.dirname(os.path.abspath(__file__))

if not LAUNCH:
    pytest.skip("gst-launch-1.0 not installed (gstreamer1.0-tools)", allow_module_level=True)
if not os.environ.get("GST_PLUGIN_PATH"):
    pytest.skip("GST_PLUGIN_PATH not set: run through meson test", allow_module_level=True)


def have(element):
    r = subprocess.run(["gst-inspect-1.0", "--exists", element], capture_output=True)
    return r.returncode == 0


def uname(request, tag=""):
    base = request.node.name.replace("_", "-").replace("[", "-").replace("]", "")[:40]
    return f"gp{os.getpid()}-{base}{tag}"


@pytest.fixture
def rings(request):
    """Ring names for this test; removed afterwards whatever happened."""
    made = []

    def make(tag=""):
        name = uname(request, tag)
        made.append(name)
        return name

    yield make
    for name in made:
        try:
            os.unlink("/dev/shm/zinc_" + name)
        except FileNotFoundError:
            pass


@pytest.fixture
def procs():
    """Background processes; killed at the end of the test if still running."""
    started = []

    def start(args, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        p = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, **kw)
        started.append(p)
        return p

    yield start
    for p in started:
        if p.poll() is None:
            p.kill()
        p.communicate()


def launch(line):
    return [LAUNCH, "-q", "-e"] + line.split()


def finish(p, what):
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        pytest.fail(f"{what} did not finish: {err[-2000:]}")
    assert p.returncode == 0, f"{what} failed ({p.returncode}): {err[-2000:]}"
    return out


def run(line, what="pipeline"):
    r = subprocess.run(launch(line), capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, f"{what} failed: {r.stdout[-1000:]} {r.stderr[-2000:]}"
    return r


def example(name):
    path = os.path.join(EXAMPLES, name) if EXAMPLES else ""
    if not path or not os.path.exists(path):
        pytest.skip("examples not built (-Dexamples=false)")
    return path


def free_port(kind):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_socket(table, port, states, proc):
    """Wait until /proc/net/<table> has a socket on `port` in one of `states`
    (hex codes: 07 UDP bound, 0A TCP listening, 01 established)."""
    end = time.monotonic() + TIMEOUT
    want = f":{port:04X}"
    while time.monotonic() < end:
        with open(f"/proc/net/{table}") as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[1].endswith(want) and cols[3] in states:
                    return
        if proc.poll() is not None:
            pytest.fail(f"process ended before its socket was there: {proc.stderr.read()}")
        time.sleep(0.002)  # polling a condition, bounded by `end`
    pytest.fail(f"no socket on port {port} in /proc/net/{table}")


def py_consumer(procs, tmp_path, name, count, data=False):
    """ring-dump.py reading ring `name`; its lines go to a file (a pipe
    nobody reads would fill, stall it, and with it an 'every' producer)."""
    env = dict(os.environ, PYTHONPATH=os.path.join(SRC, "python"), PYTHONDONTWRITEBYTECODE="1")
    if data:
        env["RING_DUMP_DATA"] = "1"
    out = open(tmp_path / f"dump-{name}.jsonl", "w+")
    p = procs(["/usr/bin/python3", os.path.join(HERE, "ring-dump.py"), name, str(count)],
              env=env, stdout=out)
    p.dump = out
    return p


def records(p, what):
    finish(p, what)
    p.dump.seek(0)
    lines = p.dump.read().splitlines()
    p.dump.close()
    return [json.loads(line) for line in lines if line and "attached" not in line]


def frames_of(path, size):
    data = open(path, "rb").read()
    assert len(data) % size == 0, f"{path}: {len(data)} bytes is not whole frames of {size}"
    return [data[i:i + size] for i in range(0, len(data), size)]


VIDEO = {
    "RGBA": "video/x-raw,format=RGBA,width=320,height=240,framerate=30/1",
    "I420": "video/x-raw,format=I420,width=320,height=240,framerate=30/1",
    "NV12": "video/x-raw,format=NV12,width=320,height=240,framerate=30/1",
}


@pytest.mark.parametrize("fmt", sorted(VIDEO))
def test_ring_is_byte_identical_to_no_ring(rings, procs, tmp_path, fmt):
    """videotestsrc ! zincsink + zincsrc mode=every ! filesink writes the
    same bytes as the pipeline without the ring; the consumer is started
    before the producer (it waits for the ring)."""
    name = rings()
    caps = VIDEO[fmt]
    out, ref = tmp_path / "out.raw", tmp_path / "ref.raw"
    src = procs(launch(f"zincsrc ring={name} mode=every ! filesink location={out}"))
    run(f"videotestsrc num-buffers=12 pattern=ball ! {caps} ! zincsink ring={name} "
        f"wait-consumers=1 sync=false")
    finish(src, "zincsrc")
    run(f"videotestsrc num-buffers=12 pattern=ball ! {caps} ! filesink location={ref}")
    assert out.stat().st_size == ref.stat().st_size > 0
    assert out.read_bytes() == ref.read_bytes()


def test_camera_example_into_zincsrc(rings, procs, tmp_path):
    """The C camera's frames (RGBA, set_image descriptors, no plane layout)
    come out of zincsrc with the right caps, whole and in order."""
    name = rings()
    out = tmp_path / "cam.raw"
    src = procs(launch(f"zincsrc ring={name} mode=every ! "
                       f"video/x-raw,format=RGBA,width=160,height=120 ! filesink location={out}"))
    cam = subprocess.run([example("camera"), "--name", name, "--size", "160x120", "--frames",
                          "10", "--fps", "0", "--wait-consumers", "1", "--quiet", "--json"],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert cam.returncode == 0, cam.stderr
    finish(src, "zincsrc")
    frames = frames_of(out, 160 * 120 * 4)
    assert len(frames) == 10  # the last one carries END_OF_STREAM: pushed, then EOS
    for f in frames:  # the bottom row is the grey ramp: x * 255 / (width - 1)
        px = f[(119 * 160 + 100) * 4:(119 * 160 + 100) * 4 + 4]
        assert px == bytes([160, 160, 160, 255]), px
    assert len(set(hashlib.sha256(f).digest() for f in frames)) > 1  # the box moves


def test_anonymous_ring_is_byte_identical_to_no_ring(rings, procs, tmp_path, monkeypatch):
    """zincsink ring=@name + zincsrc ring=@name (a sealed anonymous ring
    over an abstract socket): the same bytes as the pipeline without the
    ring, nothing in /dev/shm; the consumer is started first (it waits for
    the socket)."""
    monkeypatch.setenv("ZINC_RUNTIME_DIR", str(tmp_path / "reg"))  # `zinc ls` registry
    addr = "@" + rings()
    caps = VIDEO["I420"]
    out, ref = tmp_path / "out.raw", tmp_path / "ref.raw"
    src = procs(launch(f"zincsrc ring={addr} mode=every ! filesink location={out}"))
    run(f"videotestsrc num-buffers=12 pattern=ball ! {caps} ! zincsink ring={addr} "
        f"wait-consumers=1 sync=false")
    finish(src, "zincsrc")
    run(f"videotestsrc num-buffers=12 pattern=ball ! {caps} ! filesink location={ref}")
    assert out.stat().st_size == ref.stat().st_size > 0
    assert out.read_bytes() == ref.read_bytes()
    assert not [n for n in os.listdir("/dev/shm") if addr[1:] in n]


def test_camera_socket_into_zincsrc(rings, procs, tmp_path, monkeypatch):
    """The C camera serving a sealed anonymous ring on a socket path
    (camera --socket) is read by zincsrc ring=PATH: every frame, whole."""
    monkeypatch.setenv("ZINC_RUNTIME_DIR", str(tmp_path / "reg"))
    sock = tmp_path / "cam.sock"
    out = tmp_path / "cam.raw"
    cam_exe = example("camera")
    src = procs(launch(f"zincsrc ring={sock} mode=every ! "
                       f"video/x-raw,format=RGBA,width=160,height=120 ! filesink location={out}"))
    cam = subprocess.run([cam_exe, "--name", rings(), "--socket", str(sock), "--size", "160x120",
                          "--frames", "10", "--fps", "0", "--wait-consumers", "1", "--wait",
                          "30", "--quiet"], capture_output=True, text=True, timeout=TIMEOUT)
    assert cam.returncode == 0, cam.stderr
    finish(src, "zincsrc")
    frames = frames_of(out, 160 * 120 * 4)
    assert len(frames) == 10
    assert not sock.exists()


def test_zincsink_into_c_infer(rings, procs):
    name = rings()
    inf = procs([example("infer"), "--name", name, "--mode", "every", "--json", "--quiet",
                 "--wait", "20"])
    run(f"videotestsrc num-buffers=20 pattern=ball ! {VIDEO['RGBA']} ! zincsink ring={name} "
        f"wait-consumers=1 sync=false")
    summary = json.loads(finish(inf, "infer"))
    assert summary["frames"] == 20, summary
    assert summary.get("torn", 0) == 0


def test_zincsink_into_python_consumer(rings, procs, tmp_path):
    """The Python adapter reads what zincsink published: every frame, its
    descriptor (an image tensor with GStreamer's strides) and its bytes."""
    name = rings()
    ref = tmp_path / "ref.raw"
    caps = "video/x-raw,format=RGB,width=66,height=40,framerate=30/1"  # rows padded to 200 B
    py = py_consumer(procs, tmp_path, name, 0, data=True)
    run(f"videotestsrc num-buffers=8 pattern=ball ! {caps} ! zincsink ring={name} "
        f"wait-consumers=1 sync=false")
    got = records(py, "python consumer")
    run(f"videotestsrc num-buffers=8 pattern=ball ! {caps} ! filesink location={ref}")
    want = frames_of(ref, 200 * 40)
    assert len(got) == 8
    for g, w in zip(got, want):
        assert g["fourcc"] == "RGB3" and g["shape"] == [40, 66, 3]
        assert g["strides"] == [200, 3, 1]
        data = bytes.fromhex(g["data"])
        for r in range(40):  # the pixels of each row; the 2 padding bytes are not data
            assert data[r * 200:r * 200 + 198] == w[r * 200:r * 200 + 198], f"row {r}"


def test_rtp_raw_video_loopback_is_bit_exact(rings, procs, tmp_path):
    """zincsrc ! rtpvrawpay ! udpsink on one 'host', udpsrc ! rtpvrawdepay !
    zincsink on the other, over 127.0.0.1; the far ring's frames are the
    near ring's, byte for byte."""
    for e in ("rtpvrawpay", "rtpvrawdepay", "udpsrc", "udpsink"):
        if not have(e):
            pytest.skip(f"{e} missing (gstreamer1.0-plugins-good)")
    near, far = rings("-a"), rings("-b")
    port = free_port(socket.SOCK_DGRAM)
    out, ref = tmp_path / "out.raw", tmp_path / "ref.raw"
    # Small frames and a large socket buffer: UDP on a loaded machine drops
    # what the receiver's socket cannot hold, and RTP does not resend it.
    n, caps = 10, "video/x-raw,format=RGBA,width=64,height=48,framerate=30/1"
    rtp = ("application/x-rtp,media=video,clock-rate=90000,encoding-name=RAW,sampling=RGBA,"
           "depth=(string)8,width=(string)64,height=(string)48,colorimetry=(string)SMPTE240M,"
           "payload=96")
    tail = procs(launch(f"zincsrc ring={far} mode=every num-buffers={n} ! "
                        f"filesink location={out}"))
    recv = procs(launch(f"udpsrc address=127.0.0.1 port={port} buffer-size=4194304 caps={rtp} ! "
                        f"rtpvrawdepay ! zincsink ring={far} wait-consumers=1 sync=false"))
    wait_socket("udp", port, ("07",), recv)
    send = procs(launch(f"zincsrc ring={near} mode=every ! rtpvrawpay ! "
                        f"udpsink host=127.0.0.1 port={port} sync=false"))
    # Paced by the clock (sync=true) so that the receiver's socket keeps up.
    run(f"videotestsrc num-buffers={n} pattern=ball ! {caps} ! zincsink ring={near} "
        f"wait-consumers=1 sync=true")
    finish(tail, "far zincsrc")
    run(f"videotestsrc num-buffers={n} pattern=ball ! {caps} ! filesink location={ref}")
    assert out.read_bytes() == ref.read_bytes()
    for p in (send, recv):
        p.terminate()


def test_rtp_h264_loopback_arrives_with_caps(rings, procs):
    """x264enc ! rtph264pay / rtph264depay ! avdec_h264 between two rings:
    frames arrive on the far ring, as I420 of the sent size."""
    for e in ("x264enc", "avdec_h264", "rtph264pay", "rtph264depay"):
        if not have(e):
            pytest.skip(f"{e} missing (gstreamer1.0-plugins-ugly, gstreamer1.0-libav)")
    near, far = rings("-a"), rings("-b")
    port = free_port(socket.SOCK_DGRAM)
    caps = "video/x-raw,format=I420,width=160,height=120,framerate=30/1"
    rtp = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96"
    tail = procs(launch(f"zincsrc ring={far} mode=every num-buffers=5 ! "
                        f"video/x-raw,format=I420,width=160,height=120 ! fakesink"))
    recv = procs(launch(f"udpsrc address=127.0.0.1 port={port} caps={rtp} ! rtph264depay ! "
                        f"avdec_h264 ! zincsink ring={far} wait-consumers=1 sync=false"))
    wait_socket("udp", port, ("07",), recv)
    send = procs(launch(f"zincsrc ring={near} mode=every ! x264enc tune=zerolatency "
                        f"speed-preset=ultrafast key-int-max=10 ! rtph264pay config-interval=1 ! "
                        f"udpsink host=127.0.0.1 port={port} sync=false"))
    prod = procs(launch(f"videotestsrc num-buffers=60 pattern=ball ! {caps} ! "
                        f"zincsink ring={near} wait-consumers=1 sync=true"))
    finish(tail, "far zincsrc (5 decoded frames with the caps)")
    for p in (prod, send, recv):
        p.terminate()


def test_gdp_tcp_point_clouds_keep_their_descriptor(rings, procs, tmp_path):
    """The lidar example's point clouds (N x 4 float32, N varying) cross
    gdppay ! tcpserversink / tcpclientsrc ! gdpdepay into a second ring: the
    far ring's frames have the near ring's descriptors and bytes, and the
    near ring's EOS ends the far ring too.

    tcpserversink is a broadcast server: what it sends before it has added
    a client (its own thread accepts) is not for that client, so the far
    ring holds a run of the sweeps; they are paced (10 Hz) so that it is at
    least half of them."""
    for e in ("gdppay", "gdpdepay", "tcpserversink", "tcpclientsrc"):
        if not have(e):
            pytest.skip(f"{e} missing (gstreamer1.0-plugins-bad / -base)")
    near, far = rings("-a"), rings("-b")
    port = free_port(socket.SOCK_STREAM)
    n = 8
    send = procs(launch(f"zincsrc ring={near} mode=every ! gdppay ! "
                        f"tcpserversink host=127.0.0.1 port={port} sync=false"))
    wait_socket("tcp", port, ("0A",), send)
    recv = procs(launch(f"tcpclientsrc host=127.0.0.1 port={port} ! gdpdepay ! "
                        f"zincsink ring={far} slot-size=65536 wait-consumers=1 sync=false"))
    wait_socket("tcp", port, ("01",), recv)
    far_py = py_consumer(procs, tmp_path, far, 0)
    near_py = py_consumer(procs, tmp_path, near, n)
    lidar = subprocess.run([example("lidar"), "--name", near, "--points", "2048", "--sweeps",
                            str(n), "--rate", "10", "--wait-consumers", "2", "--quiet"],
                           capture_output=True, text=True, timeout=TIMEOUT)
    assert lidar.returncode == 0, lidar.stderr
    a = records(near_py, "near python consumer")
    b = records(far_py, "far python consumer (ends at the EOS that crossed)")
    for p in (send, recv):
        p.terminate()
    logs = [p.communicate()[1][-1500:] for p in (send, recv)]
    assert len(a) == n
    assert n // 2 <= len(b) <= n, logs
    # A run of consecutive sweeps (tcpserversink may also drop what it still
    # had queued when the sending pipeline stops at EOS).
    shas = [x["sha"] for x in a]
    assert b[0]["sha"] in shas, "the first far sweep is none of the near ones"
    first = shas.index(b[0]["sha"])
    for x, y in zip(a[first:], b):
        for k in ("size", "fourcc", "shape", "strides", "dtype", "sha"):
            assert x[k] == y[k], (k, x, y)
        assert x["fourcc"] == "PC3F" and x["shape"][1] == 4
