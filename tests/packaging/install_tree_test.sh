#!/usr/bin/env bash
# Installs the build tree into a private DESTDIR and checks the layout; a
# second install must keep an administrator's /etc/memproxy.conf.
# usage: install_tree_test.sh BUILD PREFIX LIBDIR LIBDIR32 BINDIR SBINDIR INCLUDEDIR MANDIR UNITDIR
set -euo pipefail
build=$1 prefix=$2 libdir=$3 libdir32=$4 bindir=$5 sbindir=$6 includedir=$7 mandir=$8 unitdir=$9
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

DESTDIR="$dest" cmake --install "$build" >/dev/null

status=0
expect() {
  if [ -e "$dest$1" ]; then echo "ok: $1"; else echo "MISSING: $1"; status=1; fi
}
expect "$prefix/$bindir/memproxyctl"
expect "$prefix/$includedir/memproxy.h"
expect "$prefix/$mandir/man8/memproxyctl.8"
expect "$prefix/$mandir/man8/memproxyd.8"
expect "$prefix/$mandir/man5/memproxy.conf.5"
expect "/etc/memproxy.conf"
expect "$prefix/share/doc/memproxy/examples/prometheus/memproxy-alerts.yml"
if grep -q '^add_executable(memproxyd ' "$source_dir/memproxyd/CMakeLists.txt" 2>/dev/null; then
  expect "$prefix/$sbindir/memproxyd"
fi
if [ -d "$build/lib" ] && ls "$build"/lib/libmemproxy.so >/dev/null 2>&1; then
  expect "$prefix/$libdir/libmemproxy.so"
fi
if ls "$build"/lib32/libmemproxy.so >/dev/null 2>&1; then
  expect "$prefix/$libdir32/libmemproxy.so"
  file -L "$dest$prefix/$libdir32/libmemproxy.so" | grep -q "ELF 32-bit" || { echo "32-bit library is not 32-bit"; status=1; }
fi
if [ -f "$source_dir/etc/systemd/memproxyd.service" ]; then
  expect "$unitdir/memproxyd.service"
fi
# The SMF files are installed by smf/CMakeLists.txt, once it has install rules.
if grep -qs "memproxyd.xml" "$build/smf/cmake_install.cmake"; then
  find "$dest" -name memproxyd.xml | grep -q . && echo "ok: SMF manifest" || { echo "MISSING: SMF manifest"; status=1; }
fi
cmp "$source_dir/etc/memproxy.conf" "$dest/etc/memproxy.conf" || { echo "sample config differs"; status=1; }
[ ! -e "$dest/etc/ld.so.preload" ] || { echo "install wrote /etc/ld.so.preload"; status=1; }

# An administrator's config survives a reinstall.
echo "# the admin's own" >"$dest/etc/memproxy.conf"
DESTDIR="$dest" cmake --install "$build" >/dev/null
if [ "$(cat "$dest/etc/memproxy.conf")" = "# the admin's own" ]; then
  echo "ok: existing /etc/memproxy.conf kept"
else
  echo "existing /etc/memproxy.conf was overwritten"; status=1
fi

echo "--- installed tree"
(cd "$dest" && find . -type f -o -type l | sort)
exit "$status"
