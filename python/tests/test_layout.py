# SPDX-License-Identifier: MIT
"""The ctypes structures have exactly the C compiler's sizes and offsets."""
import ctypes
import os
import subprocess

import pytest

import zinc
from zinc import _lib


def c_layout(helper):
    out = subprocess.run([helper, "sizes"], check=True, capture_output=True, text=True).stdout
    sizes, offsets = {}, {}
    for line in out.splitlines():
        key, value = line.split()
        if "." in key:
            offsets[key] = int(value)
        else:
            sizes[key] = int(value)
    return sizes, offsets


def test_struct_sizes_and_offsets_match_the_compiler(helper):
    sizes, offsets = c_layout(helper)
    assert set(sizes) == set(_lib.STRUCTS)
    for sname, cls in _lib.STRUCTS.items():
        assert ctypes.sizeof(cls) == sizes[sname], sname
    checked = 0
    for key, off in offsets.items():
        sname, field = key.split(".")
        assert getattr(_lib.STRUCTS[sname], field).offset == off, key
        checked += 1
    assert checked > 60


def test_pinned_sizes():
    # The numbers the C compiler gave when this file was written (x86-64 and
    # aarch64 alike): a change here is an ABI change of the public headers.
    assert ctypes.sizeof(_lib.zinc_tensor) == 80
    assert ctypes.sizeof(_lib.zinc_frame) == 232
    assert ctypes.sizeof(_lib.zinc_ring_config) == 80
    assert ctypes.sizeof(_lib.zinc_region_info) == 96
    assert ctypes.sizeof(_lib.zinc_create_opts) == 56


def test_version_names_library_and_abi():
    v = zinc.version()
    assert v.abi == (1, 1) and v == (1, 1)  # the tuple is the ABI, as before
    want = os.environ.get("ZINC_VERSION")
    if not want:
        pytest.skip("ZINC_VERSION not set: run through meson test")
    assert v.library == want == zinc.__version__  # what `zinc --version` prints
    assert repr(v) == f"zinc.Version(library={want!r}, abi=(1, 1))"


def test_constants():
    assert zinc.version() == (1, 1)
    assert zinc.FOURCC_RGB24 == 0x33424752
    assert zinc.fourcc_str(zinc.FOURCC_NV12) == "NV12"
    assert zinc.name_hash("my-data") == 0xa2c98045cdc80bea
    assert zinc.strerror(-110).startswith("timed out")
