#!/bin/sh
# SPDX-License-Identifier: MIT
# The zinc demo: a camera publishes synthetic video into a frame ring while an
# inference process (freshest frame only) and a recorder (every frame, to a
# Y4M file) read it in place, for about ten seconds, with a live status line.
# Ends with a summary table and the paths of the files written.
#
# Usage (from anywhere): sh scripts/demo.sh
# Environment: DEMO_SECONDS (10), DEMO_SIZE (1920x1080), DEMO_FPS (30),
#              DEMO_RECORD_SCALE (3: the video is written at 1/3 size, about
#              100 MB for 10 s of 1080p), ZINC_BUILD_DIR (build)
# While it runs, another terminal can watch it: build/tools/zinc top demo-<pid>
set -eu
cd "$(dirname "$0")/.."

BUILD=${ZINC_BUILD_DIR:-build}
DURATION=${DEMO_SECONDS:-10}
SIZE=${DEMO_SIZE:-1920x1080}
RECORD_SCALE=${DEMO_RECORD_SCALE:-3}
FPS=${DEMO_FPS:-30}
NAME=demo-$$
OUT=$BUILD/demo

echo "== setup and build"
sh scripts/setup.sh
if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" >/dev/null
fi
ninja -C "$BUILD" tools/zinc examples/camera examples/infer examples/record >/dev/null

ZINC=$BUILD/tools/zinc
EX=$BUILD/examples
mkdir -p "$OUT"
rm -f "$OUT"/camera.* "$OUT"/infer.* "$OUT"/record.* "$OUT"/snapshot.png "$OUT"/demo.y4m

PIDS=""
cleanup() {
    trap - EXIT INT TERM
    for p in $PIDS; do
        kill "$p" 2>/dev/null || true # SIGTERM: each program stops cleanly
    done
    for p in $PIDS; do
        wait "$p" 2>/dev/null || true
    done
    "$ZINC" rm --force "$NAME" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, cleaning up"; exit 130' INT TERM

echo "== running camera -> infer + record on ring '$NAME' ($SIZE, $FPS fps, ${DURATION} s)"
# The camera waits for both consumers before its first frame, so the
# recorder gets the whole stream.
"$EX/camera" --name "$NAME" --size "$SIZE" --fps "$FPS" --seconds "$DURATION" \
    --wait-consumers 2 --json >"$OUT/camera.json" 2>"$OUT/camera.log" &
CAMERA=$!
PIDS="$PIDS $CAMERA"
"$EX/record" --name "$NAME" --out "$OUT/demo.y4m" --fps "$FPS" --scale "$RECORD_SCALE" \
    --snapshot "$OUT/snapshot.png" --snapshot-frame "$FPS" --json \
    >"$OUT/record.json" 2>"$OUT/record.log" &
PIDS="$PIDS $!"
"$EX/infer" --name "$NAME" --json >"$OUT/infer.json" 2>"$OUT/infer.log" &
PIDS="$PIDS $!"

# Wait (at most 10 s) for the ring to exist before watching it.
i=0
while ! grep -q "ready" "$OUT/camera.log" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then
        echo "demo: the camera did not start:" >&2
        cat "$OUT/camera.log" >&2
        exit 1
    fi
    sleep 0.1
done

# Live status line, once a second, until the ring goes away (the camera
# closed it and both consumers detached).
"$ZINC" top "$NAME" --line --interval 1 || true
if kill -0 "$CAMERA" 2>/dev/null; then
    # top was interrupted (Ctrl-C) while the camera still runs: stop it
    # cleanly (its last frame is END_OF_STREAM) and summarise what ran.
    echo "demo: stopping early"
    kill "$CAMERA" 2>/dev/null || true
fi
for p in $PIDS; do
    wait "$p" || echo "demo: a process failed (see $OUT/*.log)" >&2
done
PIDS=""

echo
echo "== summary"
python3 - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
def load(name):
    try:
        with open(os.path.join(out, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
cam, inf, rec = load("camera"), load("infer"), load("record")
def ms(v):
    return "-" if v is None else f"{v / 1e6:.2f} ms"
rows = []
if cam:
    rows.append(("camera", "producer", cam["frames"], cam["fps"], "-", "-", None, None))
if inf:
    rows.append(("infer", "latest", inf["frames"], inf["fps"], inf["dropped"], inf["torn"],
                 inf["latency_ns"]["p50"], inf["latency_ns"]["p99"]))
if rec:
    rows.append(("record", "every", rec["frames"], rec["fps"], rec["dropped"], rec["torn"],
                 rec["latency_ns"]["p50"], rec["latency_ns"]["p99"]))
print(f"{'process':<8} {'mode':<9} {'frames':>7} {'fps':>7} {'drops':>6} {'torn':>5} "
      f"{'p50 latency':>12} {'p99 latency':>12}")
for r in rows:
    print(f"{r[0]:<8} {r[1]:<9} {r[2]:>7} {r[3]:>7.1f} {r[4]:>6} {r[5]:>5} "
          f"{ms(r[6]):>12} {ms(r[7]):>12}")
print("latency: capture (camera timestamp) -> result (infer) or -> converted (record)")
print("infer skips frames on purpose: it always takes the newest one (drops = skipped)")
if cam:
    print(f"frames: {cam['width']}x{cam['height']} {cam['format'].upper()}, "
          f"{cam['width'] * cam['height'] * (4 if cam['format'] == 'rgba' else 3)} bytes each, "
          "read in place by both consumers")
if rec and rec.get("snapshot"):
    print(f"snapshot: {rec['snapshot']}")
if rec and rec.get("y4m"):
    size = os.path.getsize(rec["y4m"]) / 1e6
    print(f"video:    {rec['y4m']} ({rec['width']}x{rec['height']}, {size:.0f} MB; play it with:"
          f" mpv {rec['y4m']}  or  ffplay {rec['y4m']})")
if not (cam and inf and rec):
    print(f"some results are missing; see the logs in {out}/")
    sys.exit(1)
EOF
