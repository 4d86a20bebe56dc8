#!/bin/sh
# SPDX-License-Identifier: MIT
# Where the time of a 64 B hand-over to a spinning consumer goes: the
# harness built against patched copies of src/consumer.c, each piece taken out
# in turn, run interleaved with the unpatched code so that every variant
# sees the same machine (docs/benchmarks.md, "Where the time goes").
#
# Usage: sh bench/breakdown.sh [RUNS]   (default 7; ~10 s a run)
# Builds in ${TMPDIR:-/tmp}/zinc-breakdown/<variant>/ (release); prints, per
# variant, the median over the runs of the zinc 64 B spin latency and of its
# ratio to the cache-line one-way hop and to the bare ring, each taken within
# a run. The patch (no clock read for the consumer's latency histogram) is an
# experiment, not shippable code: it feeds the histogram nothing useful.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-7}
W=${TMPDIR:-/tmp}/zinc-breakdown
rm -rf "$W"
mkdir -p "$W"

# variant name, then sed expressions applied to $SRC (none: as is)
SRC=src/consumer.c
variant() {
    name=$1
    shift
    mkdir -p "$W/$name"
    git ls-files -z | xargs -0 cp --parents -t "$W/$name"
    for expr in "$@"; do
        cp "$W/$name/$SRC" "$W/$name/before.c"
        sed -i "$expr" "$W/$name/$SRC"
        if cmp -s "$W/$name/$SRC" "$W/$name/before.c"; then
            echo "breakdown: '$expr' no longer applies to $SRC; update bench/breakdown.sh" >&2
            exit 1
        fi
    done
    meson setup "$W/$name/build" "$W/$name" -Dbuildtype=release -Dtests=false \
        -Dexamples=false -Dtools=false -Dpython=false >/dev/null
    ninja -C "$W/$name/build" bench/zinc-bench >/dev/null
    echo "$name" >> "$W/variants"
}

NOHIST='s/uint64_t now = zinc__clock_now(&c->clk);/uint64_t now = f->publish_ns;/'
echo "building the variants in $W"
variant as-is
variant no-histogram-clock "$NOHIST"

# The harness itself runs zinc three ways: as is, with ZINC_CLOCK=vdso
# (clock_gettime for both reads) and with ZINC_RING_NO_TIMESTAMPS (no clock
# read at all); the patched build adds the fourth.
ONLY="latency:zinc:spin:64,latency:zinc:spin vdso-clock:64,latency:zinc:spin no-timestamps:64"
ONLY="$ONLY,latency:bare:spin:64,reference:cacheline:one-way"
for i in $(seq "$RUNS"); do
    for v in $(cat "$W/variants"); do
        "$W/$v/build/bench/zinc-bench" --rounds 1 --no-iox --only "$ONLY" --out "$W/out-$v" 2>&1 |
            awk -v v="$v" '
                $1 == "zinc" && $2 == "spin" && $3 == "64" { z[v] = $6 }
                $1 == "zinc" && $3 == "vdso-clock" { z[v "+vdso-clock"] = $7 }
                $1 == "zinc" && $3 == "no-timestamps" { z[v "+no-timestamps"] = $7 }
                $1 == "bare" && $2 == "spin" { b = $6 }
                $1 == "cacheline" && $2 == "one-way" { c = $6 }
                END {
                    if (!b || !c) exit
                    for (k in z)
                        printf "%s %s %.3f %.3f\n", k, z[k], z[k] / c, z[k] / b
                }' >> "$W/samples"
    done
    printf '.'
done
echo

echo "variant (median of $RUNS runs)   zinc ns   / cache-line one-way   / bare ring"
for v in as-is as-is+vdso-clock no-histogram-clock as-is+no-timestamps; do
    for col in 2 3 4; do
        awk -v v="$v" -v c="$col" '$1 == v { print $c }' "$W/samples" | sort -g |
            awk '{ a[NR] = $1 } END { printf "%s ", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
    done | awk -v v="$v" '{ printf "%-32s %7.0f   %20.2f   %11.2f\n", v, $1, $2, $3 }'
done
