#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""torch_infer.py — a small convolutional network on every frame of a ring.

Attaches to ring NAME (default cam0, e.g. examples/camera) in LATEST mode, so
it always works on the newest frame and never slows the camera down. Each
frame goes to torch without a copy on the CPU (frame.to_torch(), DLPack), or
with one DMA copy into GPU memory when CUDA is available (the ring's slots
are pinned once with consumer.pin(), so the copy needs no staging buffer and
runs asynchronously; release() waits for it). The network is defined here:
fixed Sobel edge filters on luma, then a few layers with fixed-seed weights
and pooling: a stand-in for a real model, with a real model's data path.
Prints the latency from capture (the camera's timestamp, CLOCK_MONOTONIC) to
result, and frames per second.

    build/examples/camera --name cam0 --size 1280x720 --fps 30 &
    ZINC_LIB=build/src/libzinc.so PYTHONPATH=python \\
        /usr/bin/python3 examples/python/torch_infer.py cam0 --frames 100
"""
import argparse
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

import zinc  # noqa: E402

try:
    import torch
except ImportError:
    print("torch_infer.py: needs PyTorch (Debian: apt-get install python3-torch)",
          file=sys.stderr)
    sys.exit(2)


class EdgeNet(torch.nn.Module):
    """Luma, Sobel edges (fixed), then conv-relu-pool twice and a linear head
    (weights from a fixed seed): 4 scores per frame."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(12)
        self.luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
        self.edges = torch.nn.Conv2d(1, 2, 3, padding=1, bias=False)
        self.edges.weight.data = torch.stack([sobel_x, sobel_x.t()]).unsqueeze(1) / 8
        self.conv1 = torch.nn.Conv2d(2, 8, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.head = torch.nn.Linear(16, 4)
        for m in (self.conv1, self.conv2, self.head):
            m.weight.data = torch.randn(m.weight.shape, generator=g) * 0.2
            m.bias.data = torch.randn(m.bias.shape, generator=g) * 0.1
        self.requires_grad_(False)

    def forward(self, img):
        """img: H x W x C uint8 (RGB or RGBA) -> (scores[4], edge energy)."""
        x = img[..., :3].permute(2, 0, 1).unsqueeze(0).float() / 255.0
        y = (x * self.luma.to(x.device)).sum(1, keepdim=True)
        e = self.edges(torch.nn.functional.avg_pool2d(y, 2))
        energy = e.abs().mean()
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv1(e)), 4)
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv2(x)), 4)
        x = torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)[0], energy


def percentile(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    return sorted_vals[min(len(sorted_vals) - 1, int(round(p / 100 * (len(sorted_vals) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("name", nargs="?", default="cam0", help="ring name (default cam0)")
    ap.add_argument("--frames", type=int, default=0,
                    help="stop after N results (0 = until the producer is gone or Ctrl-C)")
    ap.add_argument("--device", default=None,
                    help="cpu or cuda (default: cuda when available, else cpu)")
    ap.add_argument("--async", dest="use_async", action="store_true",
                    help="wait with asyncio (consumer.frames()) instead of blocking")
    ap.add_argument("--wait", type=float, default=10.0,
                    help="seconds to wait for the ring to appear (default 10)")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument("--quiet", action="store_true", help="summary only")
    args = ap.parse_args()

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    net = EdgeNet().to(device).eval()
    try:
        consumer = zinc.Consumer.open(args.name, "latest", timeout=args.wait)
    except zinc.ZincError as e:
        print(f"torch_infer.py: cannot attach to ring '{args.name}': {e}", file=sys.stderr)
        return 3 if isinstance(e, zinc.NotFound) else 1
    if device.type == "cuda":
        consumer.pin()  # once: every slot is DMA-able from now on

    lat_ms, scores_sum, torn = [], None, 0
    first = last = None

    def work(frame):
        nonlocal scores_sum, torn, first, last
        img = frame.to_torch(device, non_blocking=True)  # CPU: no copy; CUDA: async DMA
        with torch.no_grad():
            scores, energy = net(img)
            scores = scores.cpu()  # waits for the GPU
        done = time.monotonic_ns()
        del img
        eos = frame.flags & zinc.FRAME_END_OF_STREAM
        if not frame.release(raise_torn=False):  # overwritten while we read it (CPU path)
            torn += 1
            return eos
        lat = (done - (frame.timestamp_ns or frame.publish_ns)) / 1e6
        lat_ms.append(lat)
        scores_sum = scores if scores_sum is None else scores_sum + scores
        first = first or done
        last = done
        if not args.quiet and not args.json:
            print(f"frame {frame.seq:6d} {'x'.join(map(str, frame.shape))} skipped "
                  f"{frame.dropped:3d}  class {int(scores.argmax())}  edges {float(energy):.4f}"
                  f"  capture->result {lat:7.3f} ms")
        return eos or (args.frames and len(lat_ms) >= args.frames)

    async def run_async():
        async for frame in consumer.frames():
            if work(frame):
                break

    with consumer:
        try:
            if args.use_async:
                asyncio.run(run_async())
            else:
                for frame in consumer:
                    if work(frame):
                        break
        except KeyboardInterrupt:
            pass

    n = len(lat_ms)
    s = sorted(lat_ms)
    fps = (n - 1) / ((last - first) / 1e9) if n > 1 and last > first else 0.0
    summary = {"name": args.name, "device": str(device), "frames": n, "torn": torn,
               "fps": round(fps, 2), "latency_ms": {"p50": percentile(s, 50),
                                                    "p99": percentile(s, 99),
                                                    "max": s[-1] if s else None},
               "scores_mean": [round(float(v) / max(n, 1), 4) for v in scores_sum]
               if scores_sum is not None else []}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"summary: {n} results on {device} ({fps:.1f} frames/s), {torn} torn")
        if n:
            print(f"capture->result ms: p50 {percentile(s, 50):.3f}  p99 {percentile(s, 99):.3f}"
                  f"  max {s[-1]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
