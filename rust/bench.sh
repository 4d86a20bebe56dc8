#!/bin/sh
# SPDX-License-Identifier: MIT
# The Rust bindings' claim+publish and acquire+release next to the C
# micro-benchmarks (bench/micro-ring.cc), in the same run: ROUNDS rounds,
# each running micro-ring's three matching benchmarks and the Rust twins
# (rust/zinc/benches/micro.rs) back to back on CPU 0, in alternating order.
# Per round the ratio Rust/C of CPU time per operation; the figure is the
# median over rounds, with the range (docs/benchmarks.md, "Rust bindings").
#
# Usage (from anywhere): sh rust/bench.sh [ROUNDS]    (default 9)
# Env: ZINC_BENCH_BUILD (default build-bench, configured -Dbuildtype=release
# if missing). Results: bench/results/rust-micro.{txt,md}.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
BUILD=${ZINC_BENCH_BUILD:-build-bench}
ROUNDS=${1:-9}
OUT=bench/results
mkdir -p "$OUT"

if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" -Dbuildtype=release >/dev/null
fi
ninja -C "$BUILD" -j2 src/libzinc.a bench/micro-ring >/dev/null

# Debian's toolchain (rust/test.sh says why), linked against the same
# libzinc.a as micro-ring: the same machine code on the C side of each call.
PATH=/usr/bin:$PATH
export PATH
exe=$(cd rust && CARGO_TARGET_DIR="$root/$BUILD/rust-target" ZINC_LIB_DIR="$root/$BUILD/src" \
      ZINC_STATIC=1 ZINC_INCLUDE_DIRS="$root/include:$root/$BUILD/include" \
      cargo bench --offline -j2 --bench micro --no-run 2>&1 |
      sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -n 1)
[ -x "$exe" ] || { echo "rust/bench.sh: cannot build the Rust benchmark" >&2; exit 1; }

filter='BM_(ClaimPublish/consumers:1|AcquireRelease/mode:[01]/consumers:1)$'
raw="$OUT/rust-micro.txt"
{
    date -u '+run: %Y-%m-%dT%H:%M:%SZ'
    lscpu | grep -E '^(Model name|CPU\(s\))' | sed 's/  */ /g'
    echo "load average: $(uptime | sed 's/.*load average: *//')"
    echo "src: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "rustc: $(rustc --version)"
} > "$raw"
c_run() {
    taskset -c 0 "$BUILD/bench/micro-ring" --benchmark_filter="$filter" \
        --benchmark_min_time=0.2 --benchmark_format=json |
        /usr/bin/python3 -c 'import json, sys
for b in json.load(sys.stdin)["benchmarks"]:
    print("C", b["name"].replace("BM_", ""), "%.3f" % b["cpu_time"])' | sed "s/^/round $1 /"
}
rust_run() {
    taskset -c 0 "$exe" --min-time 0.2 |
        awk -v r="$1" '{ n = $1; l = n; sub(/\/[a-z]+$/, "", n); sub(/.*\//, "", l);
                         print "round", r, l, n, $2 }'
}
i=1
while [ "$i" -le "$ROUNDS" ]; do
    if [ $((i % 2)) -eq 1 ]; then
        c_run "$i" >> "$raw"; rust_run "$i" >> "$raw"
    else
        rust_run "$i" >> "$raw"; c_run "$i" >> "$raw"
    fi
    echo "rust/bench.sh: round $i of $ROUNDS done" >&2
    i=$((i + 1))
done

/usr/bin/python3 - "$raw" > "$OUT/rust-micro.md" <<'PY'
import statistics, sys
rows = {}
head = []
for line in open(sys.argv[1]):
    w = line.split()
    if w[0] != "round":
        head.append(line.strip())
        continue
    r, lang, name, ns = int(w[1]), w[2], w[3], float(w[4])
    rows.setdefault(name, {}).setdefault(r, {})[lang] = ns
print("\n".join(f"{h}  " for h in head))
print()
print("| benchmark | C (ns, median) | Rust `zinc` (ns) | Rust `zinc-sys` (ns) "
      "| zinc / C, median [range] | zinc-sys / C | zinc / zinc-sys |")
print("|---|---:|---:|---:|---:|---:|---:|")
worst = 0
for name, rounds in rows.items():
    full = [v for v in rounds.values() if {"C", "rust", "sys"} <= v.keys()]
    med = lambda k: statistics.median(v[k] for v in full)
    def ratio(a, b):
        rs = sorted(v[a] / v[b] for v in full)
        return statistics.median(rs), rs[0], rs[-1]
    rc, rs_, rr = ratio("rust", "C"), ratio("sys", "C"), ratio("rust", "sys")
    worst = max(worst, abs(rc[0] - 1))
    print(f"| {name} | {med('C'):.1f} | {med('rust'):.1f} | {med('sys'):.1f} "
          f"| {rc[0]:.3f} [{rc[1]:.2f}–{rc[2]:.2f}] | {rs_[0]:.3f} | {rr[0]:.3f} |")
print(f"\n{len(full)} rounds; largest |zinc / C - 1| of the medians: {worst * 100:.1f} %")
PY
cat "$OUT/rust-micro.md"
