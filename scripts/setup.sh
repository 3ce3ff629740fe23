#!/bin/sh
# Install what xch needs to build and test on Debian 12 (run as root, or with sudo).
set -eu
PKGS="build-essential autoconf automake libtool pkg-config
	libgit2-dev libgpgme-dev libarchive-dev zlib1g-dev libdeflate-dev libjansson-dev libpcre2-dev
	libssl-dev libcmocka-dev json-schema-test-suite
	gnupg gpg-agent git mandoc pigz time valgrind python3 strace"
if [ "${1:-}" = --packages ]; then
	echo $PKGS
	exit 0
fi
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	SUDO=
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
