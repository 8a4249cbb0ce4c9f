#!/bin/sh
# Installs what skiff needs to build and test on Debian 12, as root. Skips apt
# entirely when everything is already there. Sourced by demo.sh and test.sh.
set -eu

SKIFF_PACKAGES="gcc libc6-dev meson ninja-build pkg-config libyaml-dev zlib1g-dev \
libcurl4-openssl-dev libssl-dev libdeflate-dev libisal-dev libpcre2-dev libsystemd-dev check python3 openssl"
# What building the Debian package adds (scripts/build-deb.sh): dpkg-buildpackage
# checks Build-Depends and the build-essential set; debian/rules needs dh; and
# adduser, which the package depends on, for its check's dpkg -i
# (scripts/check-deb.sh), which a minimal Debian (a container image) may lack.
SKIFF_DEB_PACKAGES="build-essential debhelper dpkg-dev adduser"

skiff_install_deps() {
    missing=""
    for pkg in $SKIFF_PACKAGES; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing="$missing $pkg"
        fi
    done
    if [ -z "$missing" ]; then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "skiff: missing packages:$missing; run as root or install them with apt-get" >&2
        exit 1
    fi
    echo "skiff: installing$missing" >&2
    apt-get update -q
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
}
