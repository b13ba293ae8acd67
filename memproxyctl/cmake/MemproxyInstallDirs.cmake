# The install layout shared by memproxyctl (compiled-in defaults), etc/ and
# the packaging. Include it from any directory that needs the variables.
#
# Library: the multiarch libdir (lib/x86_64-linux-gnu when the prefix is /usr on
# Debian); the 32-bit library goes to lib/i386-linux-gnu beside it, so one
# preload entry, PREFIX/$LIB/libmemproxy.so, serves both bitnesses ($LIB is the
# dynamic linker's own token). Outside the multiarch layout (prefix /usr/local)
# the preload entry is the plain 64-bit path.

set(MEMPROXY_INSTALL_FULL_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
# Must match the 32-bit install rule in libmemproxy/CMakeLists.txt.
set(MEMPROXY_INSTALL_LIBDIR32 "lib/i386-linux-gnu")
if(CMAKE_INSTALL_LIBDIR STREQUAL "lib/x86_64-linux-gnu")
  set(MEMPROXY_PRELOAD_ENTRY "${CMAKE_INSTALL_PREFIX}/\$LIB/libmemproxy.so")
else()
  set(MEMPROXY_PRELOAD_ENTRY "${CMAKE_INSTALL_FULL_LIBDIR}/libmemproxy.so")
endif()
set(MEMPROXY_INSTALL_FULL_LIBDIR32 "${CMAKE_INSTALL_PREFIX}/${MEMPROXY_INSTALL_LIBDIR32}")

# The daemon reads /etc/memproxy.conf whatever the prefix, so the sample goes
# there (under DESTDIR when staging).
set(MEMPROXY_INSTALL_CONFDIR "/etc" CACHE PATH "Where the sample memproxy.conf is installed")

if(NOT DEFINED MEMPROXY_INSTALL_SYSTEMDUNITDIR)
  set(_memproxy_unitdir "/lib/systemd/system")
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_get_variable(_memproxy_pc_unitdir systemd systemdsystemunitdir)
    if(_memproxy_pc_unitdir)
      set(_memproxy_unitdir "${_memproxy_pc_unitdir}")
    endif()
  endif()
  set(MEMPROXY_INSTALL_SYSTEMDUNITDIR "${_memproxy_unitdir}" CACHE PATH "Where the systemd unit is installed")
endif()
