#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the libFuzzer targets (fuzz/*.c) with clang straight from src/*.c and
# run each for SECONDS (default 10), one after the other; exit non-zero on
# any crash, leak, sanitizer report or timeout.
#
# Usage: sh scripts/fuzz.sh [SECONDS_PER_TARGET] [--target NAME] [--seeds] [--build-only]
#   --target NAME   only fuzz-NAME (region, ring-attach, ring-acquire)
#   --seeds         regenerate fuzz/corpus/ from objects the library makes
#   --build-only    build, do not run
# Env: ZINC_FUZZ_DIR build/work directory (default build-fuzz); CC_FUZZ
# compiler (default clang). The growing corpus and any crash artifacts are
# kept in $ZINC_FUZZ_DIR/work-<target>/; the committed seeds are only read.
set -eu
cd "$(dirname "$0")/.."

secs=10
only=""
seeds=0
build_only=0
while [ $# -gt 0 ]; do
    case $1 in
    --target) only=$2; shift ;;
    --seeds) seeds=1 ;;
    --build-only) build_only=1 ;;
    [0-9]*) secs=$1 ;;
    *) echo "fuzz.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

out=${ZINC_FUZZ_DIR:-build-fuzz}
cc=${CC_FUZZ:-clang}
targets="region ring-attach ring-acquire"
mkdir -p "$out/gen/zinc"
ver=$(sed -n "s/^ *version : '\([0-9.]*\)'.*/\1/p" meson.build | head -n 1)
maj=$(echo "$ver" | cut -d. -f1)
min=$(echo "$ver" | cut -d. -f2)
mic=$(echo "$ver" | cut -d. -f3)
sed -e "s/@ZINC_VERSION@/$ver/" -e "s/@ZINC_VERSION_MAJOR@/$maj/" \
    -e "s/@ZINC_VERSION_MINOR@/$min/" -e "s/@ZINC_VERSION_MICRO@/$mic/" \
    include/zinc/version.h.in >"$out/gen/zinc/version.h.tmp"
mv "$out/gen/zinc/version.h.tmp" "$out/gen/zinc/version.h"

cflags="-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Iinclude -I$out/gen -Isrc"
san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"

if [ "$seeds" = 1 ]; then
    # shellcheck disable=SC2086
    $cc $cflags -o "$out/make-seeds" fuzz/make-seeds.c src/*.c -lpthread
    for t in $targets; do
        mkdir -p "fuzz/corpus/$t"
    done
    "$out/make-seeds" fuzz/corpus
    echo "fuzz: seeds written to fuzz/corpus/"
fi

for t in $targets; do
    [ -n "$only" ] && [ "$only" != "$t" ] && continue
    echo "fuzz: building fuzz-$t"
    # shellcheck disable=SC2086
    $cc $cflags $san -o "$out/fuzz-$t" "fuzz/fuzz-$t.c" src/*.c -lpthread
done
[ "$build_only" = 1 ] && exit 0

fail=0
for t in $targets; do
    [ -n "$only" ] && [ "$only" != "$t" ] && continue
    work="$out/work-$t"
    mkdir -p "$work/corpus"
    case $t in
    ring-acquire) maxlen=1024 ;;
    *) maxlen=24576 ;;
    esac
    echo "fuzz: running fuzz-$t for ${secs}s"
    # The first corpus directory collects new inputs; the committed seeds
    # (second) are read only.
    if "$out/fuzz-$t" -max_total_time="$secs" -timeout=10 -max_len="$maxlen" \
        -print_final_stats=1 -artifact_prefix="$work/" \
        "$work/corpus" "fuzz/corpus/$t" >"$work/log.txt" 2>&1; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log.txt")
        echo "fuzz: fuzz-$t ok: $execs executions, corpus $(ls "$work/corpus" | wc -l) files"
    else
        echo "fuzz: fuzz-$t FAILED (log: $work/log.txt)"
        grep -E 'ERROR|SUMMARY|Test unit written|deadly signal|==[0-9]+==' "$work/log.txt" | head -n 20
        fail=1
    fi
done
# A crashed target may leave its object behind: remove our fz_* names.
for f in /dev/shm/zinc_fz_*; do
    [ -e "$f" ] || continue
    pid=${f##*_}
    kill -0 "$pid" 2>/dev/null || rm -f "$f"
done
exit $fail
