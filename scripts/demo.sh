#!/bin/sh
# Quick start, first command: install what is needed, build skiff, and run it on
# the bundled demo config (config/demo.yaml) until Ctrl-C. Records go to stdout;
# metrics are on http://127.0.0.1:2020/metrics while it runs.
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
skiff_install_deps

if [ ! -d build ]; then
    meson setup build --buildtype=release
fi
meson compile -C build
exec ./build/skiff -c config/demo.yaml
