#!/bin/sh
# build.sh DIR [VAR=VALUE...]: configure (once) and build xch out of tree in DIR.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-_build}
shift || true
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null)
mkdir -p "$top/$dir"
cd "$top/$dir"
[ -f Makefile ] || "$top/configure" -q "$@"
make -j"$(nproc)" >/dev/null
