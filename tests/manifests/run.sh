#!/bin/sh
# The `manifests` test: installs the npm packages of package-lock.json into
# BUILD_DIR/manifests-npm (once; again when the lock file changes) and runs
# check_manifests.cjs on SOURCE_ROOT/packaging/kubernetes. Exits 77 (skipped)
# when node or npm is missing: scripts/test.sh installs them, so CI runs it.
#   sh tests/manifests/run.sh SOURCE_ROOT BUILD_DIR
set -eu
root=$1
build=$2
here="$root/tests/manifests"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "manifests: node and npm are needed (scripts/test.sh installs them); skipped" >&2
    exit 77
fi
npm_dir="$build/manifests-npm"
if ! cmp -s "$here/package-lock.json" "$npm_dir/package-lock.json" ||
    [ ! -d "$npm_dir/node_modules" ]; then
    rm -rf "$npm_dir"
    mkdir -p "$npm_dir"
    cp "$here/package.json" "$here/package-lock.json" "$npm_dir/"
    (cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
exec node "$here/check_manifests.cjs" "$root" "$npm_dir/node_modules"
