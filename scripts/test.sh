#!/bin/sh
# SPDX-License-Identifier: MIT
# Set up (Debian packages) and run the whole test suite: C tests, tool and
# example tests, the model check and the Python adapter tests.
# Usage (as root, from the repository): sh scripts/test.sh
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
BUILD=${ZINC_BUILD_DIR:-build}
if [ -f "$BUILD/build.ninja" ]; then
    meson setup --reconfigure "$BUILD" "$@" >/dev/null
else
    meson setup "$BUILD" "$@" >/dev/null
fi
ninja -C "$BUILD"
meson test -C "$BUILD" --print-errorlogs --num-processes 2
