# SPDX-License-Identifier: MIT
"""The README's C blocks are real programs: extract every ```c block (each
starts with a /* NAME.c */ line), build it against the built library through
pkg-config (the build tree's meson-uninstalled files) and run the producer
and the consumer against each other, so the README cannot rot.

Run by meson (tests/meson.build) with ZINC_SRC_ROOT, ZINC_BUILD_ROOT, ZINC_CC
and ZINC_SANITIZE set. Exit 77 (skip) when it cannot run here.
Synchronisation is on a pipe: the producer prints a line once its ring exists.
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

TIMEOUT = 60  # seconds for any single step; generous for a loaded machine


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def blocks(readme):
    """{file name: source} of the ```c blocks."""
    out = {}
    for body in re.findall(r"^```c\n(.*?)^```$", readme, re.S | re.M):
        m = re.match(r"/\* (\w+\.c) \*/\n", body)
        assert m, f"a C block of the README does not start with /* NAME.c */:\n{body[:200]}"
        out[m.group(1)] = body
    return out


def main():
    src, build = os.environ.get("ZINC_SRC_ROOT"), os.environ.get("ZINC_BUILD_ROOT")
    if not src or not build:
        skip("ZINC_SRC_ROOT/ZINC_BUILD_ROOT not set: run through meson test")
    if not os.access("/dev/shm", os.W_OK):
        skip("no writable /dev/shm")
    readme = open(os.path.join(src, "README.md"), encoding="utf-8").read()
    progs = blocks(readme)
    assert set(progs) == {"producer.c", "consumer.c"}, sorted(progs)
    assert "pkg-config --cflags --libs zinc" in readme

    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(build, "meson-uninstalled"))
    pc = subprocess.run(["pkg-config", "--cflags", "--libs", "zinc"], env=env,
                        capture_output=True, text=True, timeout=TIMEOUT)
    assert pc.returncode == 0, pc.stderr
    cc = shlex.split(os.environ.get("ZINC_CC") or "cc")
    san = os.environ.get("ZINC_SANITIZE", "none")
    extra = [] if san in ("", "none") else [f"-fsanitize={san}"]
    env["LD_LIBRARY_PATH"] = os.path.join(build, "src")

    with tempfile.TemporaryDirectory(prefix="zinc-readme-") as tmp:
        exe = {}
        for fname, body in progs.items():
            path = os.path.join(tmp, fname)
            with open(path, "w", encoding="utf-8") as f:
                f.write(body)
            exe[fname[:-2]] = os.path.join(tmp, fname[:-2])
            r = subprocess.run([*cc, "-Wall", "-Wextra", "-Werror", *extra, "-o",
                                exe[fname[:-2]], path, *shlex.split(pc.stdout)],
                               capture_output=True, text=True, timeout=TIMEOUT)
            assert r.returncode == 0, f"{fname} does not build:\n{r.stderr}"

        name = f"readme{os.getpid()}"
        prod = subprocess.Popen([exe["producer"], name], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            line = prod.stdout.readline()  # the ring exists once this arrives
            assert line == f"ring '{name}' ready: start a consumer\n", (line, prod.stderr.read())
            cons = subprocess.run([exe["consumer"], name], env=env, capture_output=True,
                                  text=True, timeout=TIMEOUT)
            out, err = prod.communicate(timeout=TIMEOUT)
        finally:
            if prod.poll() is None:
                prod.kill()
                prod.wait()
            try:
                os.unlink("/dev/shm/zinc_" + name)
                leftover = True
            except FileNotFoundError:
                leftover = False
        assert prod.returncode == 0, f"producer: {prod.returncode}\n{err}"
        assert cons.returncode == 0, f"consumer: {cons.returncode}\n{cons.stdout}{cons.stderr}"
        m = re.fullmatch(r"(\d+) frames, last (\d+), (\d+) skipped, (\d+) torn\n", cons.stdout)
        assert m, cons.stdout
        frames, last, skipped, torn = map(int, m.groups())
        # LATEST: it may skip frames, but it ends on the last one, and it
        # never sees more than were sent.
        assert last == 100 and frames >= 1, cons.stdout
        assert frames + skipped + torn <= 100, cons.stdout
        assert not leftover, "the programs left their ring in /dev/shm"
    print(f"README producer -> consumer: {cons.stdout.strip()}")


if __name__ == "__main__":
    main()
