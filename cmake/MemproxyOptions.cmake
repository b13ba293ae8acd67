# The build's options, with defaults that fit the machine instead of assuming
# the author's: 32-bit only where a -m32 toolchain is installed, tests behind
# BUILD_TESTING (include(CTest)). MEMPROXY_WERROR is in MemproxyFlags.cmake.

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
message(STATUS "memproxy: 32-bit build ${MEMPROXY_BUILD_32BIT} (-m32 toolchain: ${MEMPROXY_CAN_BUILD_32BIT}), "
               "warnings as errors ${MEMPROXY_WERROR}, sanitizers ${MEMPROXY_SANITIZE}")
