#!/bin/sh
# SPDX-License-Identifier: MIT
# Model-check the ring's sleep/wake protocol (tests/model/wake.pml) with spin:
# the real protocol must verify with no error, and each deliberately broken
# variant must be caught (which shows the check can fail).
#
# Usage: sh tests/model/run.sh [--long] [SPIN]
#   --long (or ZINC_LONG_TESTS=1): bigger instances (more frames, 3 consumers;
#   about 2 minutes and 1 GiB).
#   SPIN: path of the spin binary (default: spin on PATH). CC picks the
#   compiler for the generated verifier (default: cc).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
long=${ZINC_LONG_TESTS:-0}
spin=spin
for a in "$@"; do
    case $a in
    --long) long=1 ;;
    *) spin=$a ;;
    esac
done
cc=${CC:-cc}
command -v "$spin" >/dev/null 2>&1 || { echo "run.sh: spin not found" >&2; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zinc-model.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
total=0

# check LABEL EXPECT DEFINES...   EXPECT: ok (no error) or error (must fail)
check() {
    label=$1
    expect=$2
    shift 2
    (
        cd "$tmp"
        rm -f pan pan.* ./*.trail
        "$spin" "$@" -a "$here/wake.pml" >spin.log 2>&1 || { cat spin.log; exit 1; }
        # SAFETY: assertions + invalid end states. COLLAPSE: compressed state
        # vectors (exhaustive, less memory).
        "$cc" -O2 -w -DSAFETY -DCOLLAPSE -DMEMLIM=4096 -o pan pan.c
        ./pan -m1000000 >pan.log 2>&1 || true
    ) || { echo "FAIL $label: could not build the verifier"; fail=1; return; }
    log="$tmp/pan.log"
    errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$log" | head -n 1)
    states=$(sed -n 's/^ *\([0-9][0-9]*\) states, stored.*/\1/p' "$log" | head -n 1)
    what=$(grep -E '^pan:1:' "$log" | head -n 1 || true)
    if [ -z "$errors" ] || grep -q 'search depth too small\|out of memory' "$log"; then
        echo "FAIL $label: verifier did not complete"
        cat "$log"
        fail=1
        return
    fi
    if [ "$expect" = ok ]; then
        total=$((total + ${states:-0}))
        if [ "$errors" -eq 0 ]; then
            echo "ok   $label: no error, $states states explored"
        else
            echo "FAIL $label: $what"
            (cd "$tmp" && "$spin" -t -k wake.pml.trail -p "$@" "$here/wake.pml" | tail -n 40)
            fail=1
        fi
    else
        if [ "$errors" -gt 0 ]; then
            echo "ok   $label: error found as expected ($what, $states states)"
        else
            echo "FAIL $label: the broken variant was NOT caught ($states states)"
            fail=1
        fi
    fi
}

if [ "$long" = 1 ]; then
    sizes="-DK=4 -DNC=2 -DSLOTS=2
-DK=2 -DNC=3 -DSLOTS=2
-DK=6 -DNC=1 -DSLOTS=4
-DK=8 -DNC=1 -DSLOTS=2"
else
    sizes="-DK=3 -DNC=2 -DSLOTS=2"
fi

echo "$sizes" | while IFS= read -r size; do
    # shellcheck disable=SC2086
    check "real protocol ($size, idle consumers)" ok $size
    # shellcheck disable=SC2086
    check "real protocol ($size, all consume to the end)" ok $size -DNO_IDLE
    echo "$fail $total" >"$tmp/status"
done
read -r fail total <"$tmp/status"

# Waiting outside acquire: consumer 1 through its descriptor (FD), or as
# zinc_wait_any over this ring and a second one (WAITV).
if [ "$long" = 1 ]; then
    waits="-DFD -DK=4 -DNC=2 -DSLOTS=2
-DWAITV -DK=3 -DKB=1 -DNC=2 -DSLOTS=2"
else
    waits="-DFD -DK=3 -DNC=2 -DSLOTS=2
-DWAITV -DK=2 -DKB=2 -DNC=2 -DSLOTS=2"
fi
echo "$waits" | while IFS= read -r size; do
    # shellcheck disable=SC2086
    check "waiting outside acquire ($size)" ok $size
    echo "$fail $total" >"$tmp/status"
done
read -r fail total <"$tmp/status"

for b in BROKEN_PUB_NO_FENCE BROKEN_REL_NO_FENCE BROKEN_NO_BUMP BROKEN_W_ORDER; do
    check "$b" error -DK=3 -DNC=2 -DSLOTS=2 "-D$b"
done
check BROKEN_FD_NO_COUNT error -DFD -DK=2 -DNC=2 -DSLOTS=2 -DBROKEN_FD_NO_COUNT
check BROKEN_FD_READ_EARLY error -DFD -DK=3 -DNC=2 -DSLOTS=2 -DBROKEN_FD_READ_EARLY
check BROKEN_WAITV_ONE_W1 error -DWAITV -DK=2 -DKB=2 -DNC=2 -DSLOTS=2 -DBROKEN_WAITV_ONE_W1

echo "model: $total states explored in total (real protocol)"
if [ "$fail" -ne 0 ]; then
    echo "model: FAILED"
    exit 1
fi
echo "model: passed"
