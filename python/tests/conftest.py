# SPDX-License-Identifier: MIT
"""Fixtures: a unique shared-memory name per test (removed afterwards) and
the C helper program built by python/meson.build."""
import os
import pathlib
import re
import subprocess

import pytest

import zinc

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def name(request):
    """pid + test name, so parallel runs never share a name; unlinked after."""
    n = re.sub(r"[^A-Za-z0-9_-]", "_", f"py{os.getpid()}_{request.node.name}")[:200]
    yield n
    try:
        zinc.unlink(n)
    except zinc.NotFound:
        pass


def _helper_path():
    p = os.environ.get("ZINC_PY_HELPER")
    if p:
        return p
    cand = REPO / "build" / "python" / "zinc-py-helper"
    return str(cand) if cand.exists() else None


@pytest.fixture
def helper():
    p = _helper_path()
    if not p or not os.access(p, os.X_OK):
        pytest.skip("zinc-py-helper not built (run the tests through meson test)")
    return p


class Helper:
    """A helper process talked to by lines on stdin/stdout."""

    def __init__(self, path, *args):
        self.p = subprocess.Popen([path, *map(str, args)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  bufsize=1)

    def expect(self, word):
        line = self.p.stdout.readline()
        if not line.startswith(word):
            self.p.kill()
            err = self.p.stderr.read()
            raise AssertionError(f"helper said {line!r}, expected {word!r}; stderr: {err}")
        return line.split()

    def lines(self):
        return self.p.stdout.readline()

    def send(self, text="go"):
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()

    def finish(self, timeout=60):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        out = self.p.stdout.read()
        err = self.p.stderr.read()
        rc = self.p.wait(timeout)
        return rc, out, err

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


@pytest.fixture
def spawn(helper):
    procs = []

    def start(*args):
        h = Helper(helper, *args)
        procs.append(h)
        return h

    yield start
    for h in procs:
        h.kill()
        for f in (h.p.stdin, h.p.stdout, h.p.stderr):
            try:
                f.close()
            except Exception:
                pass
