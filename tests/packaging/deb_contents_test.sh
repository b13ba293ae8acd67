#!/usr/bin/env bash
# Builds the .deb with CPack into a private directory and checks its contents:
# every part is in it, /etc/memproxy.conf is a conffile, and there is no
# maintainer script (so installing it can never enable the global preload).
# usage: deb_package_test.sh BUILD PREFIX LIBDIR
set -euo pipefail
build=$1 prefix=$2 libdir=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out" >"$out/cpack.log" 2>&1 || { cat "$out/cpack.log"; exit 1; }
deb=$(ls "$out"/*.deb)
echo "package: $deb"

contents=$(dpkg-deb -c "$deb")
echo "$contents"
status=0
expect() {
  if grep -q -- " \./${1#/}\$" <<<"$contents"; then echo "ok: $1"; else echo "MISSING: $1"; status=1; fi
}
expect "$prefix/bin/memproxyctl"
expect "/etc/memproxy.conf"
expect "$prefix/share/man/man8/memproxyctl.8"
expect "$prefix/share/man/man5/memproxy.conf.5"
if ls "$build"/lib/libmemproxy.so >/dev/null 2>&1; then expect "$prefix/$libdir/libmemproxy.so"; fi
if ls "$build"/bin/memproxyd >/dev/null 2>&1; then expect "$prefix/sbin/memproxyd"; fi

control=$out/control
dpkg-deb -e "$deb" "$control"
grep -qx "/etc/memproxy.conf" "$control/conffiles" && echo "ok: conffile" || { echo "memproxy.conf is not a conffile"; status=1; }
for script in preinst postinst prerm postrm config triggers; do
  if [ -e "$control/$script" ]; then echo "unexpected maintainer script: $script"; status=1; fi
done
if grep -rq "ld.so.preload" "$control"; then echo "control files mention ld.so.preload"; status=1; fi
if grep -q " \./etc/ld.so.preload" <<<"$contents"; then echo "package ships /etc/ld.so.preload"; status=1; fi
dpkg-deb -f "$deb" Package Version Architecture Depends
exit "$status"
