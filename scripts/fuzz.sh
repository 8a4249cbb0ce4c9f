#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for
# SECONDS (default 60), starting from the committed corpus; new inputs go to a
# scratch folder, crashes to build-fuzz/. CI (scripts/test.sh) runs each for
# SKIFF_FUZZ_SECONDS (10). Usage: sh scripts/fuzz.sh [SECONDS] [TARGET...]
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
SKIFF_PACKAGES="$SKIFF_PACKAGES clang libclang-rt-14-dev"
skiff_install_deps

seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-$(sed -n "s/^fuzz_targets = \[\(.*\)\]/\1/p" tests/fuzz/meson.build | tr -d "',")}
if [ ! -d build-fuzz ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
        -Db_lundef=false --buildtype=debugoptimized
fi
meson compile -C build-fuzz
ran=0
for target in $targets; do
    scratch=$(mktemp -d)
    echo "fuzz_$target: $seconds s" >&2
    (cd build-fuzz && UBSAN_OPTIONS=halt_on_error=1 ./tests/fuzz/fuzz_"$target" \
        -max_total_time="$seconds" -max_len=65536 "$scratch" ../tests/fuzz/corpus/"$target")
    rm -rf "$scratch"
    ran=$((ran + 1))
done
echo "fuzz: $ran passed, 0 failed"
