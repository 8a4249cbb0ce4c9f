#!/bin/sh
# Builds the Debian package and checks it on this machine, as root (CI's step
# in scripts/test.sh; SKIFF_DEB=0 skips it there): its files are the ones the
# README lists, it installs with dpkg -i, the installed skiff runs and accepts
# the shipped /etc/skiff/skiff.yaml, the unit passes systemd-analyze verify,
# and dpkg -r keeps the changed conffile, a reinstallation keeps it, and
# dpkg -P removes it with the state folder. Leaves skiff uninstalled.
set -eu
cd "$(dirname "$0")/.."
out=build-deb

if [ "$(id -u)" -ne 0 ]; then
    echo "skiff: the package check installs the package: run it as root (SKIFF_DEB=0 skips it)" >&2
    exit 1
fi
if dpkg-query -W -f='${Status}' skiff 2>/dev/null | grep -q "installed"; then
    echo "skiff: a skiff package is installed on this machine; the check would replace and purge it:" \
        "dpkg -P skiff first, or SKIFF_DEB=0" >&2
    exit 1
fi
# dpkg -P deletes /var/lib/skiff: never the state of a skiff run by hand.
if [ -e /var/lib/skiff ]; then
    echo "skiff: /var/lib/skiff exists (the state of a skiff run here?); the check's dpkg -P" \
        "would delete it: move it away, or SKIFF_DEB=0" >&2
    exit 1
fi

fail() {
    echo "skiff: package check: $*" >&2
    exit 1
}

sh scripts/build-deb.sh "$out"
version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
deb="$out/skiff_${version}_$(dpkg --print-architecture).deb"
python3 tests/checks/check_deb_contents.py "$deb" README.md

dpkg -i "$deb"
# From here on, leave the machine without skiff whatever happens.
trap 'dpkg -P skiff >/dev/null 2>&1 || true' EXIT

installed=$(/usr/bin/skiff --version)
[ "$installed" = "skiff $version" ] || fail "skiff --version says '$installed', the package is $version"
skiff --dry-run -c /etc/skiff/skiff.yaml
getent passwd skiff >/dev/null || fail "postinst did not create the user skiff"
[ "$(stat -c %U /var/lib/skiff)" = skiff ] || fail "/var/lib/skiff is not owned by skiff"

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "skiff: systemd-analyze is not installed: the unit is not verified" >&2
else
    # A unit known to be valid first: where systemd-analyze cannot run (some
    # containers), it fails on that one too, and the check is skipped.
    probe=$(mktemp -d)
    printf '[Service]\nExecStart=/bin/true\n' >"$probe/probe.service"
    if ! systemd-analyze verify "$probe/probe.service" >/dev/null 2>&1; then
        echo "skiff: systemd-analyze verify cannot run here: the unit is not verified" >&2
    else
        # It reports unknown or malformed settings as warnings with exit 0.
        report=$(systemd-analyze verify /lib/systemd/system/skiff.service 2>&1) ||
            fail "systemd-analyze verify: $report"
        [ -z "$report" ] || fail "systemd-analyze verify: $report"
        echo "skiff: systemd-analyze verify: skiff.service is valid" >&2
    fi
    rm -rf "$probe"
fi

# Conffile: a local change survives removal and reinstallation; purge removes it.
echo "# changed by the admin" >>/etc/skiff/skiff.yaml
dpkg -r skiff
[ ! -e /usr/bin/skiff ] || fail "dpkg -r left /usr/bin/skiff"
grep -q "changed by the admin" /etc/skiff/skiff.yaml || fail "dpkg -r did not keep the changed conffile"
dpkg -i "$deb"
grep -q "changed by the admin" /etc/skiff/skiff.yaml || fail "reinstalling replaced the changed conffile"
dpkg -P skiff
[ ! -e /etc/skiff/skiff.yaml ] || fail "dpkg -P left /etc/skiff/skiff.yaml"
[ ! -e /var/lib/skiff ] || fail "dpkg -P left /var/lib/skiff"
trap - EXIT
echo "skiff: the Debian package $deb installs, runs, and removes cleanly" >&2
