# The build's options, with defaults that fit the machine instead of assuming
# the author's: 32-bit only where a -m32 toolchain is installed, tests behind
# BUILD_TESTING (include(CTest)), the heap watch where its packages are.
# MEMPROXY_WERROR is in MemproxyFlags.cmake.

include(CheckCSourceCompiles)
include(CheckCXXSourceCompiles)

# Compiles and links a C and a C++ program with -m32: the library needs the
# 32-bit libc and libgcc (gcc-multilib), its C++ test programs libstdc++
# (g++-multilib). The heap account's 64-bit words are updated atomically
# through plain uint64_t pointers, which i386 aligns to 4: GCC inlines those
# atomics, clang calls libatomic's __atomic_*_8, which a library that links
# only libc cannot use; such a compiler builds no 32-bit library.
function(memproxy_check_m32 result)
  set(CMAKE_REQUIRED_FLAGS -m32)
  set(CMAKE_REQUIRED_LINK_OPTIONS -m32)
  set(CMAKE_REQUIRED_QUIET ON)
  check_c_source_compiles("#include <stdint.h>
#include <stdlib.h>
uint64_t bump(uint64_t* w) { return __atomic_fetch_add(w, 1, __ATOMIC_RELAXED); }
int main(void) { uint64_t* w = malloc(8); *w = 0; bump(w); free(w); return 0; }" MEMPROXY_M32_C)
  check_cxx_source_compiles("#include <new>\nint main() { delete new int(1); return 0; }" MEMPROXY_M32_CXX)
  if(MEMPROXY_M32_C AND MEMPROXY_M32_CXX)
    set(${result} ON PARENT_SCOPE)
  else()
    set(${result} OFF PARENT_SCOPE)
  endif()
endfunction()

memproxy_check_m32(MEMPROXY_CAN_BUILD_32BIT)
option(MEMPROXY_SANITIZE "Build common/, memproxyd, memproxyctl and their unit tests with ASan+UBSan" OFF)
option(MEMPROXY_BUILD_32BIT "Also build the 32-bit (-m32) table reader and libmemproxy" ${MEMPROXY_CAN_BUILD_32BIT})
option(MEMPROXY_BUILD_BENCH "Build the benchmarks in bench/ (Google Benchmark ones where it is installed)" ON)
if(MEMPROXY_BUILD_32BIT AND NOT MEMPROXY_CAN_BUILD_32BIT)
  message(FATAL_ERROR "MEMPROXY_BUILD_32BIT is ON, but this compiler cannot build and link -m32 C and C++ "
                      "programs: install gcc-multilib and g++-multilib, or configure with -DMEMPROXY_BUILD_32BIT=OFF")
endif()

# The heap watch (memproxyd's heap watch and symbolizer, memproxyctl's heap
# views) needs packages the router does not: SQLite, libdw (elfutils),
# prometheus-cpp, Protobuf with pprof's profile.proto, and zlib. On by
# default where they are all found; without them the library, the table
# daemon and the routing CLI still build. Asked for explicitly and missing
# a package, the configuration stops rather than build less than was asked.
set(MEMPROXY_PPROF_PROTO_DIR "/usr/share/gocode/src/github.com/google/pprof/proto"
    CACHE PATH "Directory of pprof's profile.proto (Debian: golang-github-google-pprof-dev)")
function(memproxy_heap_watch_missing result)
  set(missing)
  find_package(SQLite3 QUIET)
  if(NOT SQLite3_FOUND)
    list(APPEND missing "SQLite3 (libsqlite3-dev)")
  endif()
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(MEMPROXY_PROBE_LIBDW QUIET libdw)
  endif()
  if(NOT MEMPROXY_PROBE_LIBDW_FOUND)
    list(APPEND missing "libdw (libdw-dev, elfutils)")
  endif()
  find_package(prometheus-cpp CONFIG QUIET)
  if(NOT prometheus-cpp_FOUND)
    list(APPEND missing "prometheus-cpp (prometheus-cpp-dev)")
  endif()
  find_package(Protobuf QUIET)
  if(NOT Protobuf_FOUND)
    list(APPEND missing "Protobuf (libprotobuf-dev, protobuf-compiler)")
  endif()
  if(NOT EXISTS "${MEMPROXY_PPROF_PROTO_DIR}/profile.proto")
    list(APPEND missing "pprof's profile.proto in ${MEMPROXY_PPROF_PROTO_DIR} (golang-github-google-pprof-dev)")
  endif()
  find_package(ZLIB QUIET)
  if(NOT ZLIB_FOUND)
    list(APPEND missing "zlib (zlib1g-dev)")
  endif()
  list(JOIN missing ", " text)
  set(${result} "${text}" PARENT_SCOPE)
endfunction()

# The heap watch reaches processes through memproxyd/src/platform/, which
# has a Linux implementation only: elsewhere it is off whatever was asked,
# and the router (library, table daemon, routing CLI) is built alone.
if(NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
  if(MEMPROXY_HEAP_WATCH)
    message(WARNING "memproxy: the heap watch is supported on Linux only; building the router alone")
  endif()
  set(MEMPROXY_HEAP_WATCH OFF CACHE BOOL "Build memproxyd's heap watch, the symbolizer and memproxyctl's heap views"
      FORCE)
  set(MEMPROXY_HEAP_WATCH_MISSING "")
else()
  memproxy_heap_watch_missing(MEMPROXY_HEAP_WATCH_MISSING)
endif()
# The default is decided once, at the first configuration; whoever sets
# the option (on the command line or in the cache) decides from then on.
if(MEMPROXY_HEAP_WATCH_MISSING)
  set(_heap_watch_default OFF)
else()
  set(_heap_watch_default ON)
endif()
option(MEMPROXY_HEAP_WATCH "Build memproxyd's heap watch, the symbolizer and memproxyctl's heap views"
       ${_heap_watch_default})
if(MEMPROXY_HEAP_WATCH AND MEMPROXY_HEAP_WATCH_MISSING)
  message(FATAL_ERROR "MEMPROXY_HEAP_WATCH is ON, but its packages are missing: ${MEMPROXY_HEAP_WATCH_MISSING}. "
                      "Install them, or configure with -DMEMPROXY_HEAP_WATCH=OFF for the router alone")
endif()
if(NOT MEMPROXY_HEAP_WATCH)
  if(NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
    set(_heap_watch_why "the heap watch is supported on Linux only; building the router alone")
  elseif(MEMPROXY_HEAP_WATCH_MISSING)
    set(_heap_watch_why "missing ${MEMPROXY_HEAP_WATCH_MISSING}")
  else()
    set(_heap_watch_why "MEMPROXY_HEAP_WATCH=OFF")
  endif()
  message(STATUS "memproxy: heap watch OFF (${_heap_watch_why}): the library, the table daemon and the routing "
                 "CLI only")
endif()

message(STATUS "memproxy: 32-bit build ${MEMPROXY_BUILD_32BIT} (-m32 toolchain: ${MEMPROXY_CAN_BUILD_32BIT}), heap watch ${MEMPROXY_HEAP_WATCH}, "
               "warnings as errors ${MEMPROXY_WERROR}, sanitizers ${MEMPROXY_SANITIZE}")
