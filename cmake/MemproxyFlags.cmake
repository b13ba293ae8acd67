# Flags shared by every project target.
#
# memproxy_project_target(TARGET [SANITIZE]): the project's warnings (errors
# when MEMPROXY_WERROR is on), and ASan+UBSan when MEMPROXY_SANITIZE is on and
# the target opts in. libmemproxy never opts in: it is loaded into processes
# that have no sanitizer runtime.
#
# Warnings are errors in the project's own CI (scripts/test turns
# MEMPROXY_WERROR on), never by default: a user's or a packager's compiler may
# be newer than ours and warn about something new.

option(MEMPROXY_WERROR "Treat compiler warnings as errors (on in the project's CI)" OFF)
set(MEMPROXY_WARNINGS -Wall -Wextra)
if(MEMPROXY_WERROR)
  list(APPEND MEMPROXY_WARNINGS -Werror)
  # GCC 12 at -O3 reports -Wrestrict inside std::string's operator+ where no
  # overlap can be (GCC bug 105329, fixed in 13): left a warning there.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    list(APPEND MEMPROXY_WARNINGS -Wno-error=restrict)
  endif()
endif()
# Debug information for the test programs whose call sites the tests name by
# file:line, in every build type. clang emits no .debug_aranges unless asked,
# and libdw (elfutils 0.188) finds an address's compilation unit through them.
set(MEMPROXY_TEST_DEBUG_FLAGS -g $<$<OR:$<C_COMPILER_ID:Clang>,$<CXX_COMPILER_ID:Clang>>:-gdwarf-aranges>)
# Extra compile options for the GoogleTest drivers and their support
# libraries, after the build type's. The product's code and the programs the
# tests run keep the build type's flags; the drivers only check them, so the
# project's CI compiles them "-O0;-g0", which halves their compile time.
set(MEMPROXY_TEST_DRIVER_OPTIONS "" CACHE STRING
  "Extra compile options for the GoogleTest drivers only (CI: -O0;-g0)")
set(MEMPROXY_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
# The daemon's, the CLI's and their tests' sources share heavy headers (the
# JSON, logging and CLI libraries, GoogleTest): compiled a dozen to a
# translation unit they build in about half the CPU time, which is what a
# cold build (CI, the demo) pays. Off by default: an edit then recompiles
# its whole batch. The preload library and the programs the tests run are
# never batched: what they contain is what they ship as.
option(MEMPROXY_UNITY_BUILD "Compile the daemon's, the CLI's and their tests' sources in batches (cold builds)" OFF)

function(memproxy_project_target target)
  cmake_parse_arguments(ARG "SANITIZE" "" "" ${ARGN})
  target_compile_options(${target} PRIVATE ${MEMPROXY_WARNINGS})
  if(ARG_SANITIZE AND MEMPROXY_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 12)
  endif()
  if(ARG_SANITIZE AND MEMPROXY_SANITIZE)
    target_compile_options(${target} PRIVATE ${MEMPROXY_SANITIZER_FLAGS})
    # A sanitized static library is only usable with the sanitizer runtime:
    # whoever links it links the runtime too, sanitized or not.
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "STATIC_LIBRARY")
      target_link_options(${target} INTERFACE ${MEMPROXY_SANITIZER_FLAGS})
    else()
      target_link_options(${target} PRIVATE ${MEMPROXY_SANITIZER_FLAGS})
    endif()
  endif()
endfunction()

# Flags for code that runs inside every process or must stay freestanding:
# no exceptions, no RTTI, no libstdc++ runtime, no sanitizers.
set(MEMPROXY_FREESTANDING_FLAGS -fno-exceptions -fno-rtti -fno-threadsafe-statics -fvisibility=hidden)
