# SPDX-License-Identifier: MIT
"""The python3 -c one-liners of docs/python.md work against a running C producer."""
import os
import re
import subprocess

import pytest

from conftest import REPO

DOC = REPO / "docs" / "python.md"


def one_liners():
    text = DOC.read_text().split("## One-liners against a running C producer")[1]
    text = text.split("\n## ")[0]
    return re.findall(r"^(/usr/bin/python3 -c '.*')$", text, re.M)


def test_docs_have_one_liners():
    assert len(one_liners()) >= 5


@pytest.mark.parametrize("index", range(len(one_liners())))
def test_one_liner_against_c_producer(name, spawn, tmp_path, index):
    prod = spawn("stream", name, 64, 48)
    prod.expect("ready")
    cmd = one_liners()[index].replace('"cam0"', f'"{name}"')
    assert name in cmd
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(REPO / "python"))
    r = subprocess.run(["sh", "-c", cmd], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()
    prod.send("stop")
    rc, out, err = prod.finish()
    assert rc == 0, err
