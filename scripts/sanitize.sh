#!/bin/sh
# SPDX-License-Identifier: MIT
# Sanitizer runs of the test suite:
#   1. AddressSanitizer + UndefinedBehaviorSanitizer: every C test (the kill
#      matrix with fewer kills), in build-asan;
#   2. ThreadSanitizer: the threaded ring stress (ring-threads-tsan; Criterion
#      tests cannot run under TSan), in build-tsan.
# Any sanitizer report fails the run (halt_on_error), and so does any test.
#
# Usage (from anywhere): sh scripts/sanitize.sh [asan|tsan]   (default: both)
# The Python-based tests (tools) are left out of the ASan run; see below.
# Env: ZINC_ASAN_DIR, ZINC_TSAN_DIR (build directories, default build-asan
# and build-tsan); ZINC_KILL_ITERS (kills under ASan, default 60).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
which=${1:-all}
asan_dir=${ZINC_ASAN_DIR:-build-asan}
tsan_dir=${ZINC_TSAN_DIR:-build-tsan}
export ZINC_LONG_TESTS=0

# The TSan set, selected by name (meson's table sets no suites). Criterion's
# runner aborts at start-up under ThreadSanitizer ("Could not initialize
# inheritable arena", Snaipe/Criterion#274), so only the plain-program tests
# can run here: ring-threads-tsan is the threaded ring stress without
# Criterion. Add other standalone threaded tests to this list.
tsan_tests="ring-threads-tsan ring-wait-tsan ring-anon-tsan"

setup() {
    dir=$1
    shift
    # Python adapter tests load the library into an uninstrumented
    # interpreter, which a sanitizer runtime cannot join; benchmarks are not
    # tests. Both stay out of sanitizer builds.
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" -Dpython=false -Dbenchmarks=false >/dev/null
    else
        meson setup "$dir" "$@" -Dpython=false -Dbenchmarks=false >/dev/null
    fi
    ninja -C "$dir" -j2
}

status=0

if [ "$which" = all ] || [ "$which" = asan ]; then
    echo "sanitize: ASan + UBSan build in $asan_dir"
    setup "$asan_dir" -Db_sanitize=address,undefined -Db_lundef=false
    # Every test but the model check (spin is not our code) and those that
    # load the library into Python through ctypes (tools): the ASan runtime
    # must come first in a process, which an uninstrumented interpreter
    # cannot arrange.
    asan_tests=$(meson test -C "$asan_dir" --no-rebuild --list 2>/dev/null |
        grep -v -x -e tools -e 'python.*' -e 'ninja:.*' -e model-wake)
    # shellcheck disable=SC2086
    ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ZINC_KILL_ITERS=${ZINC_KILL_ITERS:-60} \
        meson test -C "$asan_dir" --print-errorlogs --num-processes 2 \
        --timeout-multiplier 3 $asan_tests || status=1
fi

if [ "$which" = all ] || [ "$which" = tsan ]; then
    echo "sanitize: TSan build in $tsan_dir"
    setup "$tsan_dir" -Db_sanitize=thread -Db_lundef=false
    # shellcheck disable=SC2086
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/tsan.supp" \
        meson test -C "$tsan_dir" --print-errorlogs --num-processes 2 \
        --timeout-multiplier 3 $tsan_tests || status=1
fi

if [ $status -ne 0 ]; then
    echo "sanitize: FAILED"
else
    echo "sanitize: passed"
fi
exit $status
