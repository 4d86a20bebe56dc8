#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""infer.py — an "inference" consumer of the camera example's ring, in Python.

Attaches to ring NAME (default cam0) in LATEST mode, so it always works on
the newest frame and never slows the camera down; for each frame it takes the
image as a numpy array straight out of shared memory (no copy), converts it to
grey and computes its gradient energy, then prints the latency from capture
(the camera's timestamp, CLOCK_MONOTONIC) to result. A frame the camera
overwrote while we computed (release() says torn) has its result discarded.

    build/examples/camera --name cam0 --size 1280x720 --fps 30 &
    ZINC_LIB=build/src/libzinc.so PYTHONPATH=python \\
        /usr/bin/python3 examples/python/infer.py cam0 --frames 100
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

import numpy as np  # noqa: E402

import zinc  # noqa: E402


def grey(img, fourcc):
    """8-bit luma as uint16 (BT.601 integer weights), from whatever the frame holds."""
    if img.ndim == 3 and img.shape[2] in (3, 4):
        r = img[..., 0].astype(np.uint16)
        g = img[..., 1].astype(np.uint16)
        b = img[..., 2].astype(np.uint16)
        return (77 * r + 150 * g + 29 * b) >> 8
    if fourcc == zinc.FOURCC_NV12 and img.ndim == 2:
        return img[: img.shape[0] * 2 // 3].astype(np.uint16)  # the Y plane
    if img.ndim == 2:
        return img.astype(np.uint16)
    return img.reshape(img.shape[0], -1).astype(np.uint16)


def gradient_energy(y):
    """Mean absolute horizontal + vertical difference: a cheap focus/detail score."""
    y = y.astype(np.int32)
    dx = np.abs(np.diff(y, axis=1)).mean() if y.shape[1] > 1 else 0.0
    dy = np.abs(np.diff(y, axis=0)).mean() if y.shape[0] > 1 else 0.0
    return float(dx + dy)


def percentile(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100 * (len(sorted_vals) - 1)))))
    return sorted_vals[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("name", nargs="?", default="cam0", help="ring name (default cam0)")
    ap.add_argument("--frames", type=int, default=0, help="stop after N results (0 = until "
                    "the producer is gone or Ctrl-C)")
    ap.add_argument("--wait", type=float, default=10.0, help="seconds to wait for the ring "
                    "to appear (default 10)")
    ap.add_argument("--mode", default="latest", choices=["latest", "lossy", "every"])
    ap.add_argument("--quiet", action="store_true", help="summary only")
    args = ap.parse_args()

    try:
        consumer = zinc.Consumer.open(args.name, args.mode, timeout=args.wait)
    except zinc.ZincError as e:
        print(f"infer.py: cannot attach to ring '{args.name}': {e}", file=sys.stderr)
        return 1

    lat_ms, wait_ms, energies = [], [], []
    torn = dropped = 0
    start = time.monotonic()
    with consumer:
        s = consumer.stream()
        if s is not None and not args.quiet:
            print(f"ring {args.name}: stream {s.shape} {s.dtype} "
                  f"{zinc.fourcc_str(s.fourcc) or 'raw'}, {consumer.config.slot_count} slots")
        try:
            for frame in consumer:
                img = frame.numpy()                   # zero copy, read-only
                energy = gradient_energy(grey(img, frame.fourcc))
                done = time.monotonic_ns()
                del img                               # don't keep views past release
                eos = frame.flags & zinc.FRAME_END_OF_STREAM
                if not frame.release(raise_torn=False):
                    torn += 1                         # overwritten meanwhile: discard
                    if not args.quiet:
                        print(f"frame {frame.seq:6d} torn (overwritten while computing), "
                              "result discarded")
                    if eos:
                        break
                    continue
                captured = frame.timestamp_ns or frame.publish_ns
                lat = (done - captured) / 1e6
                lat_ms.append(lat)
                wait_ms.append((done - frame.publish_ns) / 1e6)
                energies.append(energy)
                dropped += frame.dropped
                if not args.quiet:
                    print(f"frame {frame.seq:6d} {'x'.join(map(str, frame.shape))} "
                          f"skipped {frame.dropped:3d}  energy {energy:8.3f}  "
                          f"capture->result {lat:7.3f} ms")
                if eos or (args.frames and len(lat_ms) >= args.frames):
                    break
        except KeyboardInterrupt:
            pass

    elapsed = time.monotonic() - start
    n = len(lat_ms)
    s = sorted(lat_ms)
    print(f"summary: {n} results in {elapsed:.2f} s ({n / elapsed if elapsed else 0:.1f}/s), "
          f"{dropped} frames skipped (LATEST), {torn} torn")
    if n:
        print(f"capture->result ms: min {s[0]:.3f}  p50 {percentile(s, 50):.3f}  "
              f"p90 {percentile(s, 90):.3f}  p99 {percentile(s, 99):.3f}  max {s[-1]:.3f}")
        print(f"mean gradient energy {sum(energies) / n:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
