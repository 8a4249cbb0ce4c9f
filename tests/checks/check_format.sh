#!/bin/sh
# Checks every C source and header against .clang-format (the sources are
# never changed here). Run `clang-format -i FILE` to fix what it reports.
set -eu
cd "$1"
find agent convert plugins tests -name '*.[ch]' | sort | xargs clang-format --dry-run -Werror
