// The platform seams, one function per concern; platform.cpp holds the only
// #ifdefs for Linux/glibc versus Solaris. None of them allocates.
#ifndef MEMPROXY_PLATFORM_HPP
#define MEMPROXY_PLATFORM_HPP

#include <stddef.h>

namespace memproxy::platform {

// setuid/setgid/capabilities: AT_SECURE on Linux, issetugid() on Solaris.
bool secure_mode();

// The name the program was invoked by (symlink or script name), or nullptr:
// AT_EXECFN on Linux, getexecname() on Solaris.
const char* invoked_path();

// The resolved executable path into buf (NUL-terminated); its length, or -1.
long executable_path(char* buf, size_t size);

// The page size, from the auxiliary vector where there is one (no sysconf
// code page to fault in during start-up).
size_t page_size();

// The soname of the C library, whose allocator is the system backend.
const char* libc_soname();

}  // namespace memproxy::platform

#endif
