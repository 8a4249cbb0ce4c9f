#!/usr/bin/env python3
"""Checks that the Debian package holds what the README says it installs:
the paths in the first column of the table in the README's "Debian package"
section. Every path listed is in the package (one ending in `/` is a folder
and covers what is under it), and every file in the package is listed.

    check_deb_contents.py PACKAGE.deb README.md

Exit status 1 with one line per problem."""
import re
import subprocess
import sys

SECTION = "### Debian package"
ROW = re.compile(r"^\| `(/[^`]*)` \|")


def readme_paths(readme):
    """The paths the README's table lists, in its order."""
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    if SECTION not in text:
        sys.exit(f"{readme}: no section '{SECTION}'")
    section = text.split(SECTION, 1)[1]
    section = re.split(r"^#{1,3} ", section, maxsplit=1, flags=re.M)[0]
    paths = [m.group(1) for m in map(ROW.match, section.splitlines()) if m]
    if not paths:
        sys.exit(f"{readme}: the section '{SECTION}' has no table of paths")
    return paths


def package_entries(deb):
    """(files, folders) of the package, as absolute paths."""
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                             check=True).stdout
    files, folders = set(), set()
    for line in listing.splitlines():
        # drwxr-xr-x root/root 0 2026-12-04 20:47 ./etc/skiff/
        fields = line.split(None, 5)
        path = fields[5].split(" -> ")[0].lstrip(".")
        if line.startswith("d"):
            folders.add(path if path.endswith("/") else path + "/")
        else:
            files.add(path)
    return files, folders


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    deb, readme = argv[1], argv[2]
    listed = readme_paths(readme)
    files, folders = package_entries(deb)
    problems = []
    for path in listed:
        present = path in folders if path.endswith("/") else path in files
        if not present:
            problems.append(f"{readme} lists {path}, which {deb} does not hold")
    for path in sorted(files):
        if not any(path == p or (p.endswith("/") and path.startswith(p)) for p in listed):
            problems.append(f"{deb} holds {path}, which the table in {readme} does not list")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
