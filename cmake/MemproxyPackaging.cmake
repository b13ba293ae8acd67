# CPack: a Debian package of everything `cmake --install` installs.
#
# Invariant: installing the package never enables the global preload. The
# package has no maintainer scripts at all; /etc/ld.so.preload is changed only
# by the administrator (memproxyctl preload enable). Build it from a tree
# configured with -DCMAKE_INSTALL_PREFIX=/usr so that the library lands in the
# multiarch directories and memproxyctl's compiled-in paths match.
include(${PROJECT_SOURCE_DIR}/memproxyctl/cmake/MemproxyInstallDirs.cmake)

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "memproxy")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "memproxy")
set(CPACK_PACKAGE_CONTACT "memproxy maintainers <root@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "routes every process to the right memory allocator")
set(CPACK_PACKAGE_DESCRIPTION
    "libmemproxy.so, preloaded ahead of a custom allocator, decides once per process whether it uses\n"
    "the system allocator or the custom one, from a table that memproxyd publishes from\n"
    "/etc/memproxy.conf. Installing this package does not enable the global preload: run\n"
    "`memproxyctl preload enable` when ready.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
# The library links libc only; the daemon and the CLI the C++ runtime.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34), libstdc++6, libgcc-s1")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libjemalloc2")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libtcmalloc-minimal4, libmimalloc2.0, libtbbmalloc2")

# Absolute destinations (/etc, the systemd unit directory) are staged under
# DESTDIR, and the prefix is the one the binaries were configured with.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")

# dpkg keeps an administrator's edited memproxy.conf across upgrades.
file(WRITE ${CMAKE_BINARY_DIR}/cpack-deb/conffiles "${MEMPROXY_INSTALL_CONFDIR}/memproxy.conf\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${CMAKE_BINARY_DIR}/cpack-deb/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

include(CPack)
