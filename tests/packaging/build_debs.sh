# Sourced by the packaging tests: builds the .debs of BUILD with CPack into
# $1 (a directory) and sets main_deb and lib32_deb (empty when the 32-bit
# library was not built).
build_debs() {
  local build=$1 out=$2
  cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out" >"$out/cpack.log" 2>&1 || {
    cat "$out/cpack.log"
    echo "cpack failed"
    return 1
  }
  main_deb=$(ls "$out"/memproxy_*.deb)
  lib32_deb=$(ls "$out"/memproxy-lib32_*.deb 2>/dev/null || true)
}
