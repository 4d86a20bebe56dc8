#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""ring-dump.py NAME COUNT — a Python consumer (the zinc adapter) for the
pipeline tests: attaches to ring NAME in EVERY mode (waiting up to 20 s for
it to appear), then prints one JSON line per frame — seq, size, fourcc,
shape, strides, dtype, flags and the SHA-256 of its bytes — until COUNT
frames (0: until END_OF_STREAM or the producer is gone). With
RING_DUMP_DATA=1 each line also has the frame's bytes in hex."""
import hashlib
import json
import os
import sys

import zinc


def main():
    name, count = sys.argv[1], int(sys.argv[2])
    c = zinc.Consumer.open(name, "every", timeout=20)
    print(json.dumps({"attached": name}), flush=True)
    n = 0
    try:
        while count == 0 or n < count:
            try:
                f = c.acquire(timeout=20)
            except zinc.ProducerGone:
                break
            data = bytes(f.buffer())
            if os.environ.get("RING_DUMP_DATA"):
                raw = data.hex()
            rec = {
                "seq": f.seq, "size": f.size, "fourcc": zinc.fourcc_str(f.fourcc),
                "shape": list(f.shape) if f.shape else [],
                "strides": list(f.strides) if f.strides else [],
                "dtype": str(f.dtype) if f.dtype is not None else "",
                "flags": f.flags, "sha": hashlib.sha256(data).hexdigest(),
            }
            if os.environ.get("RING_DUMP_DATA"):
                rec["data"] = raw
            eos = f.flags & zinc.FRAME_END_OF_STREAM
            f.release()
            if eos and f.size == 0:
                break
            print(json.dumps(rec), flush=True)
            n += 1
    finally:
        c.close()


if __name__ == "__main__":
    main()
