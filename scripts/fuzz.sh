#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each from
# the committed corpus; new inputs go to a scratch folder, crashes to
# build-fuzz/. Usage: sh scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Two ways to run: exploring (the default) runs each target for SECONDS
# (default 60) with a random seed, to find new bugs; with SKIFF_FUZZ_RUNS=N
# each target makes N runs from the fixed seed SKIFF_FUZZ_SEED (default 1),
# so the same commit always fuzzes the same inputs and passes or fails the
# same way. CI (scripts/test.sh) uses the second: a bug is found by
# exploring before a change lands, never by chance in CI.
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
SKIFF_PACKAGES="$SKIFF_PACKAGES clang libclang-rt-14-dev"
skiff_install_deps

seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-$(sed -n "s/^fuzz_targets = \[\(.*\)\]/\1/p" tests/fuzz/meson.build | tr -d "',")}
runs=${SKIFF_FUZZ_RUNS:-}
if [ -n "$runs" ]; then
    # A bound on time too, so that a slow target cannot hold CI.
    limits="-runs=$runs -seed=${SKIFF_FUZZ_SEED:-1} -max_total_time=$((seconds * 6))"
    what="$runs runs from seed ${SKIFF_FUZZ_SEED:-1}"
else
    limits="-max_total_time=$seconds"
    what="$seconds s"
fi
if [ ! -d build-fuzz ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
        -Db_lundef=false --buildtype=debugoptimized
fi
meson compile -C build-fuzz
ran=0
for target in $targets; do
    scratch=$(mktemp -d)
    echo "fuzz_$target: $what" >&2
    # $limits is split into its options on purpose.
    # shellcheck disable=SC2086
    (cd build-fuzz && UBSAN_OPTIONS=halt_on_error=1 ./tests/fuzz/fuzz_"$target" \
        $limits -max_len=65536 "$scratch" ../tests/fuzz/corpus/"$target")
    rm -rf "$scratch"
    ran=$((ran + 1))
done
echo "fuzz: $ran passed, 0 failed"
