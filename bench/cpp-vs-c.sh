#!/bin/sh
# SPDX-License-Identifier: MIT
# The C++ API against the C API (issue 15): claim+publish and acquire+release
# through the C API and through <zinc/zinc.hpp> (throwing forms and
# std::error_code forms), timed side by side in blocks of 1000 (claim+publish)
# or 128 (acquire+release) operations, in rotating order, 2000 blocks each,
# pinned to CPU 0 (BM_CppVsC_* in bench/micro-ring.cc). Prints the minimum and
# the median ns per operation over the blocks and the C++/C ratios, as
# markdown rows for docs/benchmarks.md.
# Usage (from anywhere): sh bench/cpp-vs-c.sh [RUNS]   (default 3)
# Environment: ZINC_BENCH_BUILD (default build-bench, -Dbuildtype=release).
set -eu
cd "$(dirname "$0")/.."
BUILD=${ZINC_BENCH_BUILD:-build-bench}
RUNS=${1:-3}
OUT=bench/results
if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" -Dbuildtype=release >/dev/null
fi
ninja -C "$BUILD" -j2 bench/micro-ring >/dev/null
mkdir -p "$OUT"
lscpu | grep -E '^Model name' || true
uptime
taskset -c 0 "$BUILD/bench/micro-ring" --benchmark_filter='^BM_CppVsC_' \
    --benchmark_repetitions="$RUNS" \
    --benchmark_out_format=json --benchmark_out="$OUT/cpp-vs-c.json" >/dev/null
/usr/bin/python3 - "$OUT/cpp-vs-c.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("| operation (run) | C ns/op min (median) | C++ | C++/C min (median) "
      "| C++ error_code | error_code/C min (median) |")
print("|---|---:|---:|---:|---:|---:|")
worst = 0
for b in d["benchmarks"]:
    if b.get("run_type") != "iteration":
        continue
    op = b["run_name"].replace("BM_CppVsC_", "").replace("/iterations:2000", "")
    cols = [f"{b['c_min_ns']:.1f} ({b['c_med_ns']:.1f})"]
    for k in ("cpp", "cppec"):
        worst = max(worst, b[k + "/c_min"], b[k + "/c_med"])
        cols += [f"{b[k + '_min_ns']:.1f} ({b[k + '_med_ns']:.1f})",
                 f"{b[k + '/c_min']:.3f} ({b[k + '/c_med']:.3f})"]
    print(f"| {op} ({b['repetition_index'] + 1}) | " + " | ".join(cols) + " |")
print(f"\nworst ratio {worst:.3f} (target <= 1.05)")
PY
