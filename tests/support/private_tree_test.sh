#!/bin/sh
# The tests that hand something to another user (other_user_tests.txt), run
# with the build tree under a directory that only its owner can search, as
# in a clone under /root or under a `mktemp -d`: each must pass, or skip with
# the reason, wherever the tree lies.
#
# usage: private_tree_test.sh BUILD_DIR PROGRAM FILTER [PROGRAM FILTER]...
#
# A private mount namespace covers the build tree's parent directory with
# an empty tmpfs of mode 0700 and binds each of the parent's entries back
# into it: root sees every path as before (the test programs carry the
# tree's absolute paths), another user reaches none of them. The host's
# mounts are untouched. Exit 77 (skipped, with the reason) where the
# machine cannot do this: not root, no `nobody`, no setpriv or unshare, no
# mount namespace.
set -eu

skip() {
  echo "SKIPPED: $*"
  exit 77
}

[ "$#" -ge 3 ] || { echo "usage: $0 BUILD_DIR PROGRAM FILTER [PROGRAM FILTER]..." >&2; exit 2; }
build=$(cd "$1" && pwd -P)
shift
parent=$(dirname "$build")
[ "$parent" != / ] || skip "the build tree $build has / as its parent, which cannot be hidden"
[ "$(id -u)" -eq 0 ] || skip "needs root to make a private mount namespace and run tests as nobody"
getent passwd nobody >/dev/null || skip "this machine has no user 'nobody'"
for tool in /usr/bin/setpriv /usr/bin/unshare; do
  [ -x "$tool" ] || skip "$tool is not installed (Debian package util-linux)"
done
case "$parent" in
  /tmp | /tmp/) skip "the build tree's parent is /tmp, which the tests need every user to reach" ;;
esac

# Where the parent stays reachable for root while the tmpfs covers it.
stash=$(mktemp -d /tmp/memproxy-private-tree-XXXXXX)
trap 'rmdir "$stash" 2>/dev/null || true' EXIT
if ! why=$(/usr/bin/unshare --mount --propagation private /bin/sh -c \
    'mount -t tmpfs -o mode=0700 memproxy-probe "$0"' "$stash" 2>&1); then
  skip "cannot make a private mount namespace with a tmpfs: $why"
fi

/usr/bin/unshare --mount --propagation private /bin/sh -eu -c '
build=$1 parent=$2 stash=$3
shift 3
mount --rbind "$parent" "$stash"
mount -t tmpfs -o mode=0700 memproxy-private-tree "$parent"
for entry in "$stash"/* "$stash"/.[!.]* "$stash"/..?*; do
  name=${entry##*/}
  if [ -L "$entry" ]; then
    cp -P "$entry" "$parent/$name"
  elif [ -d "$entry" ]; then
    mkdir "$parent/$name"
    mount --rbind "$entry" "$parent/$name"
  elif [ -e "$entry" ]; then
    : >"$parent/$name"
    mount --bind "$entry" "$parent/$name"
  fi
done
cd "$build"

# The setup itself: root reaches the tree, nobody does not.
nobody="/usr/bin/setpriv --reuid=$(id -u nobody) --regid=$(id -g nobody) --clear-groups --"
[ -r "$build/CMakeCache.txt" ] || { echo "FAILED: root cannot read $build/CMakeCache.txt in the namespace"; exit 1; }
if $nobody /bin/sh -c "test -e \"\$0\"" "$build/CMakeCache.txt" 2>/dev/null; then
  echo "FAILED: nobody still reaches $build: the tree is not private"
  exit 1
fi
echo "=== $parent is now mode $(stat -c %a "$parent"): nobody cannot reach $build"

failed=""
# The output of each program is kept, so that the lines of a failure can be
# repeated at the end, where a log cut to its last lines still shows them.
output=$(mktemp /tmp/memproxy-private-tree-output-XXXXXX)
failures=$(mktemp /tmp/memproxy-private-tree-failures-XXXXXX)
trap "rm -f $output $failures" EXIT
while [ "$#" -ge 2 ]; do
  program=$1 filter=$2
  shift 2
  echo "=== ${program#"$build"/} --gtest_filter=$filter"
  if [ ! -x "$program" ]; then
    echo "FAILED: $program is not built"
    failed="$failed ${program##*/}"
  elif ! "$program" --gtest_filter="$filter" --gtest_color=no >"$output" 2>&1; then
    cat "$output"
    failed="$failed ${program##*/}"
    { echo "--- ${program##*/}:"; grep -B3 -A12 -E "Failure$|^\[  FAILED  \]" "$output" | head -n 120; } >>"$failures"
  else
    cat "$output"
  fi
done
if [ -n "$failed" ]; then
  echo "=== what failed with the build tree under a 0700 directory:"
  cat "$failures"
  echo "=== FAILED with the build tree under a 0700 directory:$failed"
  exit 1
fi
echo "=== every test that runs something as another user passed or skipped with the build tree under a 0700 directory"
' sh "$build" "$parent" "$stash" "$@"
