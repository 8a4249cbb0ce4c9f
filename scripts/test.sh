#!/bin/sh
# Quick start, second command (and what CI runs): install what is needed, build
# skiff with AddressSanitizer and UndefinedBehaviorSanitizer and warnings as
# errors, then run every test suite: the Check unit tests and the integration
# tests that run the real binary.
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
skiff_install_deps

build=build-sanitize
if [ ! -d "$build" ]; then
    meson setup "$build" --buildtype=debugoptimized -Dwerror=true -Db_sanitize=address,undefined \
        -Db_lundef=false
fi
meson compile -C "$build"
meson test -C "$build" --print-errorlogs --verbose --num-processes 2
