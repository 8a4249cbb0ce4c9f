#!/bin/sh
# Checks that no source file passes 600 lines: a file is what one person
# reads in a sitting.
set -eu
cd "$1"
long=$(find agent convert plugins tests \( -name '*.[ch]' -o -name '*.py' \) |
    sort | xargs wc -l | awk '$2 != "total" && $1 > 600 { print $2 ": " $1 " lines" }')
if [ -n "$long" ]; then
    echo "$long"
    echo "files over 600 lines: split them"
    exit 1
fi
