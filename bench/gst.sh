#!/bin/sh
# SPDX-License-Identifier: MIT
# zincsink/zincsrc against GStreamer's shmsink/shmsrc (docs/benchmarks.md,
# section "GStreamer elements"). Three measurements, each as alternating
# runs of the two transports (zinc, shm, zinc, shm, ...) so that both see
# the same machine, plus the floor (source and sink in one process, no
# transport); the table gives each side's median and their ratio:
#   small    320x240 GRAY8 as fast as the pair goes: frames/s, CPU us/frame
#   large    1920x1080 RGBA as fast as the pair goes: frames/s
#   latency  320x240 GRAY8 from a live source at 250 frames/s (zincsrc
#            mode=latest): stamp before the transport -> the consumer's sink
# Usage (from anywhere): sh bench/gst.sh [ROUNDS]   (default 5)
# Environment: ZINC_GST_BUILD (default build-bench, release build).
set -eu
cd "$(dirname "$0")/.."
BUILD=${ZINC_GST_BUILD:-build-bench}
ROUNDS=${1:-5}
OUT=bench/results
mkdir -p "$OUT"
if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" -Dbuildtype=release >/dev/null
fi
ninja -C "$BUILD" -j2 gst/libgstzinc.so gst/gst-transport >/dev/null
export GST_PLUGIN_PATH="$PWD/$BUILD/gst"
export GST_REGISTRY="$PWD/$BUILD/gst/registry.bin"
RAW="$OUT/gst.jsonl"
: > "$RAW"

{
    date -u '+run: %Y-%m-%dT%H:%M:%SZ'
    lscpu | grep -E '^(Model name|CPU\(s\))'
    uptime
    gst-launch-1.0 --version | head -2 | tail -1
} | tee "$OUT/gst-machine.txt"

run() { # case transport args...
    c=$1
    shift
    if r=$(timeout 300 "$BUILD/gst/gst-transport" --json "$@" 2>/dev/null); then
        echo "$r" | sed "s/^{/{\"case\":\"$c\",/" >> "$RAW"
    else
        echo "{\"case\":\"$c\",\"transport\":\"$2\",\"failed\":true}" >> "$RAW"
        echo "gst.sh: $c $2 failed" >&2
    fi
}

i=0
while [ "$i" -lt "$ROUNDS" ]; do
    for t in zinc shm; do
        run small --transport "$t" --size 320x240 --format GRAY8 --frames 5000
        run large --transport "$t" --size 1920x1080 --format RGBA --frames 150
        run latency --transport "$t" --size 320x240 --format GRAY8 --frames 600 --fps 250
    done
    run small --transport none --size 320x240 --format GRAY8 --frames 5000
    run large --transport none --size 1920x1080 --format RGBA --frames 150
    i=$((i + 1))
    echo "gst.sh: round $i of $ROUNDS done"
done

/usr/bin/python3 - "$RAW" <<'PY' | tee "$OUT/gst.md"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(case, t, key):
    v = [r[key] for r in rows if r["case"] == case and r["transport"] == t and not r.get("failed")]
    return statistics.median(v) if v else float("nan"), len(v)
def copies(case, t):
    v = [(r["sink_copies"], r["src_copies"]) for r in rows
         if r["case"] == case and r["transport"] == t and not r.get("failed")]
    return v[0] if v else ("?", "?")
print("| case | measure | zincsink/zincsrc | shmsink/shmsrc | zinc / shm | floor (no transport) |")
print("|---|---|---|---|---|---|")
for case, keys in (("small", [("fps", "frames/s"), ("cpu_us_per_frame", "CPU µs/frame")]),
                   ("large", [("fps", "frames/s"), ("cpu_us_per_frame", "CPU µs/frame")]),
                   ("latency", [("lat_p50_us", "latency p50 µs"), ("lat_p99_us", "latency p99 µs")])):
    for key, label in keys:
        z, nz = med(case, "zinc", key)
        s, ns = med(case, "shm", key)
        f, nf = med(case, "none", key)
        floor = f"{f:.1f}" if nf else "—"
        print(f"| {case} | {label} | {z:.1f} | {s:.1f} | {z / s:.2f} (runs {nz}/{ns}) | {floor} |")
for case in ("small", "large", "latency"):
    sc, rc = copies(case, "zinc")
    print(f"\n{case}: zincsink copies {sc}, zincsrc copies {rc} (of the frames of one run)", end="")
print()
PY
