#!/bin/sh
# Builds the Debian package: sh scripts/build-deb.sh [OUTDIR] (default
# build-deb/). dpkg-buildpackage wants debian/ at the top of the source tree,
# while this repository keeps it in packaging/debian/; so the tree (without
# .git and the build folders) is copied to a scratch folder, packaging/debian
# becomes its debian/, and dpkg-buildpackage -b runs there (a release build,
# without tests: packaging/debian/rules). The .deb files, .buildinfo and
# .changes land in OUTDIR; the scratch folder is removed. As root, installs
# what the build needs first (scripts/deps.sh).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
out=${1:-build-deb}

. scripts/deps.sh
SKIFF_PACKAGES="$SKIFF_PACKAGES $SKIFF_DEB_PACKAGES"
skiff_install_deps

version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/skiff-deb.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
src="$scratch/skiff-$version"
mkdir "$src"
tar -C "$root" --exclude=./.git --exclude='./build*' --exclude=./demo --exclude=__pycache__ \
    --exclude=node_modules -cf - . | tar -C "$src" -xf -
rm -rf "$src/debian"
cp -R packaging/debian "$src/debian"

(cd "$src" && dpkg-buildpackage -b -us -uc -J"$(nproc)")

mkdir -p "$out"
rm -f "$out"/skiff_*.deb "$out"/skiff-dbgsym_*.deb "$out"/skiff_*.buildinfo "$out"/skiff_*.changes
cp "$scratch"/*.deb "$scratch"/*.buildinfo "$scratch"/*.changes "$out"/
echo "skiff: built $out/skiff_${version}_$(dpkg --print-architecture).deb" >&2
