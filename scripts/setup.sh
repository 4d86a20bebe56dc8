#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs every build, test and benchmark dependency of zinc from Debian
# packages. Idempotent: quiet and fast when everything is already there.
# Usage (as root): sh scripts/setup.sh
set -eu

PKGS="meson ninja-build pkg-config gcc g++ clang libclang-rt-14-dev llvm valgrind
libcriterion-dev libbenchmark-dev libgtest-dev
spin gnuplot-nox
python3 python3-numpy python3-pytest
python3-pytest-asyncio python3-torch
iceoryx libiceoryx-binding-c-dev libiceoryx-posh-dev
util-linux procps strace
rustc cargo rust-clippy librust-pkg-config-dev
libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
gstreamer1.0-plugins-ugly gstreamer1.0-libav"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages:$missing" >&2
    echo "setup: run this script as root (or: sudo apt-get install$missing)" >&2
    exit 1
fi

echo "setup: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "setup: done"
