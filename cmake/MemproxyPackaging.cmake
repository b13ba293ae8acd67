# CPack: Debian packages of everything `cmake --install` installs.
#
# - memproxy (the host's architecture): the 64-bit library, the daemon, the
#   CLI, the config, the service files, the man pages and the header.
# - memproxy-lib32 (Architecture: i386), when the 32-bit library is built: the
#   library 32-bit programs preload. An i386 package, so that its dependencies
#   are the i386 libc's (an amd64 package cannot depend on i386 libraries);
#   installing it needs `dpkg --add-architecture i386`, as any 32-bit program does.
#
# Dependencies come from dpkg-shlibdeps on the packaged binaries, never from a
# hand-written list, so a new library the daemon links is a new dependency.
#
# Invariant: installing a package never enables the global preload. Neither
# has maintainer scripts; /etc/ld.so.preload is changed only by the
# administrator (memproxyctl preload enable). Build from a tree configured
# with -DCMAKE_INSTALL_PREFIX=/usr so that the library lands in the multiarch
# directories and memproxyctl's compiled-in paths match.
include(${PROJECT_SOURCE_DIR}/memproxyctl/cmake/MemproxyInstallDirs.cmake)

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "memproxy")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "memproxy")
set(CPACK_PACKAGE_CONTACT "memproxy maintainers <root@localhost>")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

set(CPACK_COMPONENTS_ALL memproxy)
set(CPACK_DEBIAN_MEMPROXY_PACKAGE_NAME "memproxy")
set(CPACK_COMPONENT_MEMPROXY_DESCRIPTION
    "routes every process to the right memory allocator\n"
    "libmemproxy.so, preloaded ahead of a custom allocator, decides once per process whether it uses\n"
    "the system allocator or the custom one, from a table that memproxyd publishes from\n"
    "/etc/memproxy.conf. Installing this package does not enable the global preload: run\n"
    "`memproxyctl preload enable` when ready.")
set(CPACK_DEBIAN_MEMPROXY_PACKAGE_RECOMMENDS "libjemalloc2")
set(CPACK_DEBIAN_MEMPROXY_PACKAGE_SUGGESTS "libtcmalloc-minimal4, libmimalloc2.0, libtbbmalloc2, memproxy-lib32")
# dpkg keeps an administrator's edited memproxy.conf across upgrades.
file(WRITE ${CMAKE_BINARY_DIR}/cpack-deb/conffiles "${MEMPROXY_INSTALL_CONFDIR}/memproxy.conf\n")
set(CPACK_DEBIAN_MEMPROXY_PACKAGE_CONTROL_EXTRA "${CMAKE_BINARY_DIR}/cpack-deb/conffiles")

if(TARGET memproxy32)
  list(APPEND CPACK_COMPONENTS_ALL lib32)
  set(CPACK_DEBIAN_LIB32_PACKAGE_NAME "memproxy-lib32")
  set(CPACK_DEBIAN_LIB32_PACKAGE_ARCHITECTURE "i386")
  set(CPACK_COMPONENT_LIB32_DESCRIPTION
      "memproxy's preload library for 32-bit programs\n"
      "The i386 build of libmemproxy.so, beside the 64-bit one, so that the preload entry\n"
      "/usr/$LIB/libmemproxy.so serves 32-bit programs too. Routing is configured by the\n"
      "memproxy package's daemon.")
  set(CPACK_DEBIAN_LIB32_PACKAGE_SUGGESTS "memproxy")
endif()

# Absolute destinations (/etc, the systemd unit directory) are staged under
# DESTDIR, and the prefix is the one the binaries were configured with.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")

include(CPack)
