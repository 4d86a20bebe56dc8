# SPDX-License-Identifier: MIT
"""The waiting examples against the camera example, as a user runs them:
examples/multi (epoll over two rings' descriptors and a timerfd, and the
zinc_wait_any variant) and examples/python/torch_infer.py (skipped without
PyTorch). Registered by examples/meson.build; paths from the environment:
ZINC_EXAMPLES (built examples), ZINC_LIB, ZINC_SRC_ROOT."""
import json
import os
import subprocess
import sys

import pytest

EXAMPLES = os.environ.get("ZINC_EXAMPLES", "")
SRC = os.environ.get("ZINC_SRC_ROOT", "")
TIMEOUT = 60

if not EXAMPLES or not os.path.isdir(EXAMPLES):
    pytest.skip("ZINC_EXAMPLES not set: run through meson test", allow_module_level=True)


def name(request, tag):
    return f"ew{os.getpid()}-{request.node.name.replace('_', '-')[:30]}-{tag}"


def camera(ring, frames, fps):
    """A camera that waits for one consumer, sends `frames` frames (the last
    END_OF_STREAM) and exits."""
    return subprocess.Popen([os.path.join(EXAMPLES, "camera"), "--name", ring, "--size",
                             "160x120", "--fps", str(fps), "--frames", str(frames),
                             "--wait-consumers", "1", "--wait", "30", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("how", ["epoll", "wait_any"])
def test_multi_reads_two_rings_from_one_thread(request, how):
    a, b = name(request, "a"), name(request, "b")
    cams = [camera(a, 120, 200), camera(b, 60, 100)]
    args = [os.path.join(EXAMPLES, "multi"), "--ring", a, "--ring", b, "--mode", "every",
            "--interval", "0.2", "--json"] + (["--wait-any"] if how == "wait_any" else [])
    r = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT)
    for c in cams:
        c.communicate(timeout=TIMEOUT)
        assert c.returncode == 0
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["wait"] == how and out["mode"] == "every"
    got = {ring["name"]: ring for ring in out["rings"]}
    assert got[a]["frames"] == 120 and got[b]["frames"] == 60, got
    assert all(ring["end"] == "end of stream" and ring["torn"] == 0 for ring in got.values())


def test_multi_usage():
    r = subprocess.run([os.path.join(EXAMPLES, "multi")], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 2 and "--ring" in r.stderr


@pytest.mark.parametrize("flags", [[], ["--async"]])
def test_torch_infer_against_the_camera(request, flags):
    if os.environ.get("ZINC_SANITIZE", "none") != "none":
        pytest.skip("sanitizer build: its libzinc cannot be loaded into python3 (the "
                    "sanitizer runtime must come first in a process)")
    probe = subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("PyTorch is not installed (Debian: python3-torch)")
    ring = name(request, "cam")
    cam = camera(ring, 100000, 60)
    env = dict(os.environ, PYTHONPATH=os.path.join(SRC, "python"))
    try:
        r = subprocess.run(["/usr/bin/python3", os.path.join(SRC, "examples", "python",
                                                             "torch_infer.py"),
                            ring, "--frames", "3", "--json"] + flags,
                           capture_output=True, text=True, timeout=120, env=env)
    finally:
        cam.terminate()
        cam.communicate(timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["frames"] >= 3 and out["device"] in ("cpu", "cuda")
    assert len(out["scores_mean"]) == 4 and out["latency_ms"]["p50"] > 0
