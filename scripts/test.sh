#!/bin/sh
# Quick start, second command (and what CI runs): install what is needed, build
# skiff with AddressSanitizer and UndefinedBehaviorSanitizer and warnings as
# errors, then run every test suite: the Check unit tests and the integration
# tests that run the real binary; then each libFuzzer target briefly from its
# seed corpus: SKIFF_FUZZ_RUNS runs (default 50000) from a fixed seed, so the
# same commit always passes or fails the same way (SKIFF_FUZZ_SECONDS=0
# skips them; exploring for new bugs is scripts/fuzz.sh). The meson tests
# include a formatting check with clang-format, installed here too, and the
# Kubernetes manifest checks, with node and npm. Between the two, the Debian
# package is built, installed, run and purged (scripts/check-deb.sh; as root;
# SKIFF_DEB=0 skips it, e.g. on a machine where skiff is installed).
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
# systemd-journal-remote writes the journal files the systemd input's tests read.
SKIFF_PACKAGES="$SKIFF_PACKAGES clang libclang-rt-14-dev clang-format systemd-journal-remote"
# node and npm for the manifest checks (tests/manifests), from Debian unless a
# node is there already (a NodeSource node brings its own npm).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    SKIFF_PACKAGES="$SKIFF_PACKAGES nodejs npm"
fi
deb=${SKIFF_DEB:-1}
if [ "$deb" != 0 ]; then
    SKIFF_PACKAGES="$SKIFF_PACKAGES $SKIFF_DEB_PACKAGES"
fi
skiff_install_deps

build=build-sanitize
if [ ! -d "$build" ]; then
    meson setup "$build" --buildtype=debugoptimized -Dwerror=true -Db_sanitize=address,undefined \
        -Db_lundef=false
fi
meson compile -C "$build"
meson test -C "$build" --print-errorlogs --verbose --num-processes 2

if [ "$deb" != 0 ]; then
    sh scripts/check-deb.sh
else
    echo "skiff: SKIFF_DEB=0: the Debian package is not checked" >&2
fi

fuzz_seconds=${SKIFF_FUZZ_SECONDS:-10}
if [ "$fuzz_seconds" -gt 0 ]; then
    SKIFF_FUZZ_RUNS=${SKIFF_FUZZ_RUNS:-50000} sh scripts/fuzz.sh "$fuzz_seconds"
fi
