#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the whole performance comparison (docs/benchmarks.md):
#   Google Benchmark micro-benchmarks, the cross-process harness (zinc vs
#   cache-line hop, futex, memset/memcpy, bare ring, pipe, AF_UNIX,
#   iceoryx), a system-call count of claim+publish, and the plots.
# Usage (from anywhere, as root for SO_*BUFFORCE and iox-roudi):
#   sh scripts/bench.sh            # results in bench/results/
#   sh scripts/bench.sh --docs     # also refresh docs/benchmarks.md and its plots
# Environment: ZINC_BENCH_BUILD (default build-bench), ZINC_BENCH_ARGS
# (extra harness arguments, e.g. "--scale 0.3" or "--no-iox").
set -eu
cd "$(dirname "$0")/.."
BUILD=${ZINC_BENCH_BUILD:-build-bench}
OUT=bench/results
DOCS=0
[ "${1:-}" = "--docs" ] && DOCS=1

if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" -Dbuildtype=release >/dev/null
fi
ninja -C "$BUILD" -j2 bench/zinc-bench bench/micro-ring >/dev/null
mkdir -p "$OUT"

{
    date -u '+run: %Y-%m-%dT%H:%M:%SZ'
    lscpu | grep -E '^(Model name|CPU\(s\)|Thread|L2|L3|Hypervisor)'
    uname -r
    uptime
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"

echo "== micro-benchmarks (one thread, CPU 0)"
taskset -c 0 "$BUILD/bench/micro-ring" --benchmark_min_time=0.2 \
    --benchmark_out_format=json --benchmark_out="$OUT/micro.json" \
    | tee "$OUT/micro.txt"

# Markdown table of the micro-benchmarks (CPU time: the machine is shared,
# wall time includes other processes' turns on CPU 0).
/usr/bin/python3 - "$OUT/micro.json" > "$OUT/micro.md" <<'PY' || true
import json, sys
d = json.load(open(sys.argv[1]))
print("| benchmark | CPU time | wall time |\n|---|---:|---:|")
for b in d["benchmarks"]:
    u = b.get("time_unit", "ns")
    print(f"| {b['name']} | {b['cpu_time']:.1f} {u} | {b['real_time']:.1f} {u} |")
PY

echo "== cross-process harness"
# shellcheck disable=SC2086
"$BUILD/bench/zinc-bench" --out "$OUT" ${ZINC_BENCH_ARGS:-} | tee "$OUT/harness.txt"

echo "== system calls of claim+publish: the same run with N and 2N frames"
# The difference between the two counts is what the frames cost: setup
# (fork, mmap, shm_open, waits) is the same in both.
SYS="$OUT/syscalls.txt"
: > "$SYS"
for v in spin sleep; do
    for scale in 1 2; do
        echo "-- zinc $v, 64 B frames, --scale $scale" >> "$SYS"
        if perf stat -e raw_syscalls:sys_enter,syscalls:sys_enter_futex -- \
            "$BUILD/bench/zinc-bench" --rounds 1 --scale $scale --only "latency:zinc:$v:64" \
            --out "$OUT/sys-$v" >> "$SYS" 2>&1; then :; else
            strace -f -c -o "$SYS.tmp" "$BUILD/bench/zinc-bench" --rounds 1 --scale $scale \
                --only "latency:zinc:$v:64" --out "$OUT/sys-$v" >> "$SYS" 2>&1
            cat "$SYS.tmp" >> "$SYS"
            rm -f "$SYS.tmp"
        fi
    done
done
grep -E '^-- |zinc  |sys_enter|total|futex' "$SYS" || true

echo "== huge pages: the ring options again, on a /dev/shm mounted huge=advise"
# The machine's /dev/shm may be mounted without huge= (this one is), where
# ZINC_RING_HUGEPAGES cannot take effect; a private mount namespace gives
# the harness a /dev/shm where it can. Results in $OUT/hugepages/.
HP="$OUT/hugepages"
rm -rf "$HP" # never report an earlier run's figures
if unshare -m true 2>/dev/null; then
    unshare -m sh -c 'mount -t tmpfs -o huge=advise,size=2G tmpfs /dev/shm && exec "$0" \
        --out "$1" --no-iox --only "throughput:zinc:write-all/read-all:8294400,throughput:zinc:write-all/read-all prefault,throughput:zinc:write-all/read-all huge,throughput:bare:write-all/read-all:8294400"' \
        "$BUILD/bench/zinc-bench" "$HP" > "$OUT/hugepages.txt" 2>&1 || true
    grep -A40 '^ratios' "$OUT/hugepages.txt" | grep -E 'options|bare ring' || true
else
    echo "no mount namespace (needs root): skipped" | tee "$OUT/hugepages.txt"
    rm -rf "$HP"
fi

echo "== plots"
if command -v gnuplot >/dev/null; then
    (cd "$OUT" && gnuplot ../plot.gp)
    ls -l "$OUT"/*.png
    if [ "$DOCS" = 1 ]; then
        cp "$OUT/bench-latency.png" "$OUT/bench-throughput.png" docs/
        /usr/bin/python3 bench/update-docs.py
        echo "plots copied to docs/, tables of docs/benchmarks.md refreshed"
    fi
else
    echo "gnuplot not installed (apt-get install gnuplot-nox): no plots"
fi
echo "results: $OUT/results.json, $OUT/summary.md, $OUT/micro.json"
