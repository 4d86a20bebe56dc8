#!/bin/sh
# SPDX-License-Identifier: MIT
# Build and test the Rust crates (rust/) offline with Debian's toolchain:
# cargo test (unit, integration and cross-language tests, the example, the
# doctests of the crate and of docs/rust.md), then cargo clippy.
#
# Usage (from anywhere): sh rust/test.sh
# Registered as the meson test `rust` (rust/meson.build), which builds what
# it needs first and sets ZINC_RUST_NO_BUILD=1. Alone, it builds libzinc,
# the examples and the C helper with meson/ninja in $ZINC_BUILD_DIR (default
# build/). Exit 77 (meson: skipped) when Debian's cargo is not installed.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
BUILD=${ZINC_BUILD_DIR:-build}
case $BUILD in /*) ;; *) BUILD=$root/$BUILD ;; esac

# Debian's rustc 1.63 and cargo, not a newer rustup toolchain that may come
# first on PATH (it would accept code 1.63 rejects, and write a lock file
# Debian's cargo cannot read). cargo runs `rustc`, `rustdoc` and
# `cargo-clippy` from PATH: /usr/bin goes first. ZINC_RUST_BIN=DIR runs the
# same checks with another toolchain's bin directory (e.g. /root/.cargo/bin),
# into a target directory of its own.
RUST_BIN=${ZINC_RUST_BIN:-/usr/bin}
if [ ! -x "$RUST_BIN/cargo" ] || [ ! -x "$RUST_BIN/rustc" ]; then
    echo "rust/test.sh: SKIP: no cargo/rustc in $RUST_BIN (Debian's: sh scripts/setup.sh)" >&2
    exit 77
fi
PATH=$RUST_BIN:/usr/bin:/bin:$PATH
export PATH
unset RUSTC RUSTDOC RUSTFLAGS RUSTUP_TOOLCHAIN

if [ "${ZINC_RUST_NO_BUILD:-0}" != 1 ]; then
    if [ ! -f "$BUILD/build.ninja" ]; then
        meson setup "$BUILD" >/dev/null
    fi
    ninja -C "$BUILD" -j2 src/libzinc.so.0.1.0 examples/camera examples/infer \
        python/zinc-py-helper >/dev/null
fi

# Link against this build (zinc-uninstalled.pc), find it at run time, build
# into it (never into the source tree), at most two jobs (shared machine).
export PKG_CONFIG_PATH="$BUILD/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$BUILD/src${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CARGO_TARGET_DIR="$BUILD/rust-target${ZINC_RUST_BIN:+-other}"
export CARGO_BUILD_JOBS=2
export CARGO_TERM_COLOR=never
# Peers of the cross-language tests.
export ZINC_SRC_ROOT="$root"
export ZINC_LIB="$BUILD/src/libzinc.so"
export ZINC_PY_HELPER="$BUILD/python/zinc-py-helper"
export ZINC_EXAMPLES_DIR="$BUILD/examples"

skip=""
if [ ! -x "$ZINC_PY_HELPER" ] || [ ! -x "$ZINC_EXAMPLES_DIR/camera" ] ||
   [ ! -x "$ZINC_EXAMPLES_DIR/infer" ]; then
    echo "rust/test.sh: SKIP interop_c_*: zinc-py-helper or the examples are not built" \
         "(meson options python and examples)" >&2
    skip="$skip --skip interop_c_"
fi
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    echo "rust/test.sh: SKIP interop_python_*: /usr/bin/python3 has no numpy" >&2
    skip="$skip --skip interop_python_"
fi

cd rust
# A lock file written by cargo >= 1.78 (version 4) stops Debian's cargo; it
# is not committed and is regenerated from Debian's registry.
if [ -f Cargo.lock ] && grep -q '^version = 4' Cargo.lock; then
    rm -f Cargo.lock
fi

echo "rust/test.sh: $(rustc --version), $(cargo --version)"
# The example as a program of its own (the interop tests run it), then
# every unit and integration test.
cargo build --offline --workspace --examples
# shellcheck disable=SC2086
cargo test --offline --workspace --lib --bins --tests -- $skip
# Doctests (the holding rules' compile_fail examples and docs/rust.md).
# RUSTC_BOOTSTRAP=1 makes stable rustdoc check each compile_fail example's
# error code, so it fails for the reason it states, not for a typo.
RUSTC_BOOTSTRAP=1 cargo test --offline --workspace --doc

if cargo clippy --version >/dev/null 2>&1; then
    cargo clippy --offline --workspace --all-targets -- -D warnings
else
    echo "rust/test.sh: SKIP clippy: Debian's rust-clippy is not installed" >&2
fi
echo "rust/test.sh: ok"
