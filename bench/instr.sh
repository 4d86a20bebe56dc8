#!/bin/sh
# SPDX-License-Identifier: MIT
# Instructions per hot-path operation for two revisions of the library,
# counted by callgrind: the difference between 20,000 and 40,000 iterations
# of bench/instr.c, divided by 20,000 (set-up and tear-down cancel out).
# Deterministic, so it compares revisions on a loaded machine.
#
# Usage: sh bench/instr.sh [REV_A] [REV_B]   (default: HEAD~1 HEAD; WORK
#        for the working tree). Needs valgrind (scripts/setup.sh).
set -eu
cd "$(dirname "$0")/.."
A=${1:-HEAD~1}
B=${2:-HEAD}
W=${TMPDIR:-/tmp}/zinc-instr
rm -rf "$W"
mkdir -p "$W"

build() { # rev dir
    if [ "$1" = WORK ]; then
        git ls-files -z | xargs -0 cp --parents -t "$2"
    else
        git archive "$1" | tar -x -C "$2"
    fi
    cp bench/instr.c "$2/instr.c" # the driver of this checkout for both
    meson setup "$2/build" "$2" -Dbuildtype=release -Dtests=false -Dexamples=false \
        -Dtools=false -Dpython=false -Dbenchmarks=false >/dev/null
    ninja -C "$2/build" src/libzinc.a >/dev/null
    cc -O2 -I"$2/include" -I"$2/build/include" "$2/instr.c" "$2/build/src/libzinc.a" \
        -lpthread -o "$2/instr"
}

count() { # binary op n
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" "$2" "$3" 2>&1 |
        awk '/Collected/ { print $4 }'
}

for r in "$A" "$B"; do
    d="$W/$(echo "$r" | tr '/~^' '___')"
    mkdir -p "$d"
    build "$r" "$d"
done
printf '%-16s %12s %12s %8s\n' operation "$A" "$B" ratio
for op in claim-publish every-round lossy-round acquire-empty; do
    set --
    for r in "$A" "$B"; do
        bin="$W/$(echo "$r" | tr '/~^' '___')/instr"
        lo=$(count "$bin" "$op" 20000)
        hi=$(count "$bin" "$op" 40000)
        set -- "$@" $(( (hi - lo) / 20000 ))
    done
    awk -v op="$op" -v a="$1" -v b="$2" 'BEGIN { printf "%-16s %12d %12d %8.3f\n", op, a, b, b / a }'
done
