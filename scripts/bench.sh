#!/bin/sh
# The benchmark suite in one command: install what is needed, build a release
# skiff in build-release/, and run tests/bench/bench_e2e.py (issue #17's
# workloads: rest and backlog, each without compression, with gzip and with
# filesystem storage). Arguments go to bench_e2e.py, e.g.
# `sh scripts/bench.sh --only rest,rest-gzip --seconds 10`, or
# `--compare-fluent-bit /tmp/fluent-bit-v5.1.1/build/bin/fluent-bit`.
# Results: a table and one JSON object per scenario on stdout.
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
skiff_install_deps

if [ ! -d build-release ]; then
    meson setup build-release --buildtype=release -Dtests=false
fi
meson compile -C build-release
exec python3 tests/bench/bench_e2e.py build-release/skiff "$@"
