#!/bin/sh
# Regenerates the configuration reference in README.md from the option tables
# (`skiff --reference`). Usage: sh scripts/gen-reference.sh [path/to/skiff]
set -eu
cd "$(dirname "$0")/.."
skiff=${1:-build/skiff}
ref=$(mktemp)
trap 'rm -f "$ref"' EXIT
"$skiff" --reference > "$ref"
python3 - "$ref" <<'PY'
import re, sys
ref = open(sys.argv[1]).read()
readme = open("README.md").read()
begin = readme.index("<!-- BEGIN REFERENCE")
begin = readme.index("\n", begin) + 1
end = readme.index("<!-- END REFERENCE -->")
open("README.md", "w").write(readme[:begin] + "\n" + ref.rstrip("\n") + "\n\n" + readme[end:])
PY
echo "README.md: reference updated from $skiff --reference"
