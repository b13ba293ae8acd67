#!/usr/bin/env bash
# Builds the .debs with CPack into a private directory and checks them: every
# part is in its package, /etc/memproxy.conf is a conffile, the dependencies
# are dpkg-shlibdeps' (the daemon's libspdlog and libfmt among them), and
# no maintainer script does more than CPack's ldconfig call (installing can
# never enable the global preload).
# usage: deb_contents_test.sh BUILD PREFIX LIBDIR LIBDIR32
set -euo pipefail
build=$1 prefix=$2 libdir=$3 libdir32=$4
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
command -v dpkg-shlibdeps >/dev/null || { echo "SKIPPED: dpkg-shlibdeps is not installed (Debian package dpkg-dev)"; exit 77; }
. "$here/build_debs.sh"
build_debs "$build" "$out"

status=0
check_package() {
  local deb=$1
  shift
  echo "== $(basename "$deb")"
  local contents
  contents=$(dpkg-deb -c "$deb")
  for path in "$@"; do
    if grep -q -- " \./${path#/}\$" <<<"$contents"; then echo "ok: $path"; else echo "MISSING: $path"; status=1; fi
  done
  local control=$out/control-$(basename "$deb")
  dpkg-deb -e "$deb" "$control"
  # CPack adds postinst/postrm scripts that run ldconfig for a library in
  # /usr/lib; anything beyond that is unexpected.
  for script in preinst postinst prerm postrm config triggers; do
    [ -e "$control/$script" ] || continue
    other=$(grep -vxE '#!/bin/sh|set -e|if \[ "\$1" = "(configure|remove)" \]; then|[[:space:]]*ldconfig|fi|' \
              "$control/$script" || true)
    if [ -n "$other" ]; then echo "unexpected maintainer script $script:"; echo "$other"; status=1; fi
  done
  if grep -rq "ld.so.preload" "$control"; then echo "control files mention ld.so.preload"; status=1; fi
  if grep -q " \./etc/ld.so.preload" <<<"$contents"; then echo "package ships /etc/ld.so.preload"; status=1; fi
  dpkg-deb -f "$deb" Package Version Architecture Depends
}

main=("$prefix/bin/memproxyctl" "/etc/memproxy.conf" "$prefix/share/man/man8/memproxyctl.8"
      "$prefix/share/doc/memproxy/examples/prometheus/memproxy-alerts.yml"
      "$prefix/share/man/man5/memproxy.conf.5" "$prefix/$libdir/libmemproxy.so")
[ -e "$build/bin/memproxyd" ] && main+=("$prefix/sbin/memproxyd" "$prefix/share/man/man8/memproxyd.8")
check_package "$main_deb" "${main[@]}"
grep -qx "/etc/memproxy.conf" "$out/control-$(basename "$main_deb")/conffiles" && echo "ok: conffile" ||
  { echo "memproxy.conf is not a conffile"; status=1; }
depends=$(dpkg-deb -f "$main_deb" Depends)
for library in libc6 libstdc++6; do
  grep -q "$library" <<<"$depends" && echo "ok: depends on $library" || { echo "MISSING dependency: $library"; status=1; }
done
if [ -e "$build/bin/memproxyd" ]; then
  # What the daemon links itself (its DT_NEEDED entries, as the dynamic
  # linker resolves them) must each be provided by a dependency: the
  # libraries' packages, from dpkg. What those libraries need in turn (such
  # as civetweb under prometheus-cpp's exposer) their own packages depend on.
  needed=$(objdump -p "$build/bin/memproxyd" | awk '$1 == "NEEDED" {print $2}')
  for lib in $(ldd "$build/bin/memproxyd" | awk -v needed="$needed" \
                 'BEGIN {n = split(needed, list, "\n"); for (i = 1; i <= n; i++) direct[list[i]] = 1}
                  /=> \// && ($1 in direct) {print $3}'); do
    package=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1) || true
    [ -n "$package" ] || continue
    grep -q "\b$package\b" <<<"$depends" && echo "ok: $lib from $package" ||
      { echo "MISSING dependency: $package (for $lib)"; status=1; }
  done
fi
if dpkg-deb -c "$main_deb" | grep -q "$libdir32"; then
  echo "the 32-bit library is in the main package"; status=1
fi

if [ -e "$build/lib32/libmemproxy.so" ]; then
  [ -n "$lib32_deb" ] || { echo "MISSING: the memproxy-lib32 package"; exit 1; }
  check_package "$lib32_deb" "$prefix/$libdir32/libmemproxy.so"
  [ "$(dpkg-deb -f "$lib32_deb" Architecture)" = i386 ] && echo "ok: memproxy-lib32 is an i386 package" ||
    { echo "memproxy-lib32 is not an i386 package"; status=1; }
  grep -q "libc6" <<<"$(dpkg-deb -f "$lib32_deb" Depends)" && echo "ok: memproxy-lib32 depends on libc6" ||
    { echo "memproxy-lib32 has no libc6 dependency"; status=1; }
fi
exit "$status"
