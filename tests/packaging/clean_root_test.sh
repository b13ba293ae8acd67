#!/usr/bin/env bash
# Installs the .debs with apt into a clean Debian 12 root (debootstrap
# --variant=minbase, as a fresh host has), so that a dependency the packages
# fail to declare is missing there, then runs what a user runs first:
# memproxyd --version and --check (good and bad config), memproxyctl --help and
# check, and a program with the library preloaded (its MEMPROXY_DEBUG line).
# The base root is made once and cached for a day (MEMPROXY_CLEAN_ROOT_CACHE).
# usage: clean_root_test.sh BUILD PREFIX BINDIR SBINDIR LIBDIR LIBDIR32
set -euo pipefail
build=$1 prefix=$2 bindir=$3 sbindir=$4 libdir=$5 libdir32=$6
here=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIPPED: $*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "making and entering a Debian root needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || skip "debootstrap is not installed (Debian package debootstrap)"
command -v dpkg-shlibdeps >/dev/null || skip "dpkg-shlibdeps is not installed (Debian package dpkg-dev)"
[ -e "$build/bin/memproxyd" ] && [ -e "$build/bin/memproxyctl" ] || skip "the daemon and the CLI are not built here"

# The host's own Debian mirror, as apt is configured to reach it.
mirror=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
           2>/dev/null | head -1 | grep -oE 'https?://[^ ]+' || true)
mirror=${mirror:-http://deb.debian.org/debian}

cache=${MEMPROXY_CLEAN_ROOT_CACHE:-/var/cache/memproxy-tests}
base=$cache/bookworm-minbase.tar
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9  # one maker of the base root at a time; the others wait and reuse it
if [ ! -s "$base" ] || [ -n "$(find "$base" -mmin +1440)" ]; then
  fresh=$(mktemp -d "$cache/make.XXXXXX")
  made=0
  for attempt in 1 2 3; do
    if debootstrap --variant=minbase bookworm "$fresh/root" "$mirror" >"$fresh/debootstrap.log" 2>&1; then
      made=1
      break
    fi
    echo "debootstrap attempt $attempt failed:"; tail -5 "$fresh/debootstrap.log"
    rm -rf "$fresh/root"
    sleep $((attempt * 5))
  done
  [ "$made" -eq 1 ] || { rm -rf "$fresh"; skip "debootstrap could not make a Debian 12 root from $mirror"; }
  tar -C "$fresh/root" -cf "$base.new" . && mv "$base.new" "$base"
  rm -rf "$fresh"
fi
flock -u 9

work=$(mktemp -d)
root=$work/root
cleanup() {
  mountpoint -q "$root/proc" && umount "$root/proc"
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$root"
tar -C "$root" -xf "$base"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir "$root/tmp/debs"
. "$here/build_debs.sh"
build_debs "$build" "$root/tmp/debs"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C "$@"; }
apt_in_root() {
  for attempt in 1 2 3; do
    if in_root env DEBIAN_FRONTEND=noninteractive apt-get "$@"; then return 0; fi
    echo "apt-get $1 failed (attempt $attempt)"; sleep $((attempt * 5))
  done
  return 1
}

apt_in_root update -q >/dev/null
apt_in_root install -y -q --no-install-recommends "/tmp/debs/$(basename "$main_deb")"

status=0
expect() {  # expect NAME EXPECTED_EXIT COMMAND...
  local name=$1 want=$2
  shift 2
  local got=0
  in_root "$@" >"$work/out" 2>&1 || got=$?
  if [ "$got" -eq "$want" ]; then echo "ok: $name"; else echo "FAILED: $name (exit $got, expected $want)"; status=1; fi
  sed 's/^/    /' "$work/out" | head -20
}
expect_output() {  # expect_output NAME TEXT: the last command's output contains TEXT
  grep -qF -- "$2" "$work/out" && echo "ok: $1" || { echo "FAILED: $1: no '$2' in the output"; status=1; }
}

daemon=$prefix/$sbindir/memproxyd ctl=$prefix/$bindir/memproxyctl lib=$prefix/$libdir/libmemproxy.so
expect "no library is missing for the daemon" 0 sh -c "! ldd $daemon | grep 'not found'"
expect "memproxyd --version" 0 "$daemon" --version
printf '[exclude]\ntop\n/usr/bin/python3\n[monitor]\nmyapp\n' >"$root/tmp/good.conf"
printf 'top\nbin/ls\n' >"$root/tmp/bad.conf"
expect "memproxyd --check accepts a good config" 0 "$daemon" --check -c /tmp/good.conf
expect "memproxyd --check rejects a bad one" 1 "$daemon" --check -c /tmp/bad.conf
expect_output "the rejection names file and line" "/tmp/bad.conf:2: error"
expect "memproxyctl --help" 0 "$ctl" --help
expect "memproxyctl check of the installed config" 0 "$ctl" check /etc/memproxy.conf
mount -t proc proc "$root/proc"
expect "a program runs with libmemproxy preloaded" 0 env LD_PRELOAD="$lib" MEMPROXY_DEBUG=1 /bin/true
expect_output "the library decided (MEMPROXY_DEBUG line)" "memproxy: pid="
expect_output "without a table it routes to the system allocator" "backend=system"

if [ -n "$lib32_deb" ]; then
  in_root dpkg --add-architecture i386
  apt_in_root update -q >/dev/null
  apt_in_root install -y -q --no-install-recommends "/tmp/debs/$(basename "$lib32_deb")"
  lib32=$prefix/$libdir32/libmemproxy.so
  expect "the 32-bit library is installed" 0 test -f "$lib32"
  if in_root /lib/ld-linux.so.2 --version >/dev/null 2>&1; then
    expect "the 32-bit library's dependencies resolve" 0 /lib/ld-linux.so.2 --list "$lib32"
    expect_output "it links the i386 libc" "libc.so.6"
  else
    echo "note: this kernel cannot execute 32-bit programs; the 32-bit package was installed, not run"
  fi
fi
exit "$status"
