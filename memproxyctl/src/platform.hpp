// Everything memproxyctl does differently per platform, in one place.
//
// Linux/glibc: the global preload is /etc/ld.so.preload, whose entries may use
// the $LIB token so that one line serves 64- and 32-bit processes.
// Solaris: the global preload is the runtime linker configuration, one per
// bitness (/var/ld/ld.config, /var/ld/64/ld.config), edited with crle(1); the
// CLI prints the commands instead of editing anything.
#ifndef MEMPROXYCTL_PLATFORM_HPP
#define MEMPROXYCTL_PLATFORM_HPP

// Install locations, set by memproxyctl/CMakeLists.txt from the install layout.
#ifndef MEMPROXYCTL_LIBRARY64
#define MEMPROXYCTL_LIBRARY64 "/usr/lib/x86_64-linux-gnu/libmemproxy.so"
#endif
#ifndef MEMPROXYCTL_LIBRARY32
#define MEMPROXYCTL_LIBRARY32 "/usr/lib/i386-linux-gnu/libmemproxy.so"
#endif
#ifndef MEMPROXYCTL_PRELOAD_ENTRY
#define MEMPROXYCTL_PRELOAD_ENTRY MEMPROXYCTL_LIBRARY64
#endif

namespace memproxyctl::platform {

#if defined(__sun)
inline constexpr bool kUsesCrle = true;
#else
inline constexpr bool kUsesCrle = false;
#endif

inline constexpr const char* kPreloadFile = "/etc/ld.so.preload";

// The installed libraries of each bitness, and the entry `preload enable` writes.
inline constexpr const char* kLibrary64 = MEMPROXYCTL_LIBRARY64;
inline constexpr const char* kLibrary32 = MEMPROXYCTL_LIBRARY32;
inline constexpr const char* kPreloadEntry = MEMPROXYCTL_PRELOAD_ENTRY;

// What the dynamic linker substitutes for $LIB, per bitness (Debian multiarch).
inline constexpr const char* kLibToken64 = "lib/x86_64-linux-gnu";
inline constexpr const char* kLibToken32 = "lib/i386-linux-gnu";

// A program that `preload enable` runs under the new preload: it allocates
// (stdio buffers) and prints its own mappings, which proves the libraries loaded.
inline constexpr const char* kVerifyProgram = "/bin/cat";
inline constexpr const char* kVerifyArgument = "/proc/self/maps";

}  // namespace memproxyctl::platform

#endif
