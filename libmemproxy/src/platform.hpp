// The platform seam: what differs between Linux/glibc and Solaris, one
// function or flag per concern. platform.cpp holds the only #ifdefs for
// them; none of the functions allocates.
#ifndef MEMPROXY_PLATFORM_HPP
#define MEMPROXY_PLATFORM_HPP

#include <stddef.h>

// glibc exports its allocator under __libc_malloc & co. too, and programs
// call those names directly: libmemproxy exports them (interpose.cpp).
#if defined(__GLIBC__)
#define MP_PLATFORM_LIBC_ALIASES 1
#else
#define MP_PLATFORM_LIBC_ALIASES 0
#endif

namespace memproxy::platform {

// setuid/setgid/capabilities: AT_SECURE on Linux, issetugid() on Solaris.
bool secure_mode();

// Whether the real or the effective user the process started with is root.
bool root_involved();

// The name the program was invoked by (symlink or script name), or nullptr:
// AT_EXECFN on Linux, getexecname() on Solaris.
const char* invoked_path();

// The resolved executable path into buf (NUL-terminated); its length, or -1.
long executable_path(char* buf, size_t size);

// The page size, from the auxiliary vector where there is one (no sysconf
// code page to fault in during start-up).
size_t page_size();

// An id of the calling thread, unique among the process's live threads,
// without a system call.
long thread_id();

// Whether a dlopen mode asks for RTLD_DEEPBIND (glibc only).
bool is_deepbind(int mode);

// The sonames of the C library, whose allocator is the system backend, and
// of the C++ runtime, whose operators serve programs that replace their own.
const char* libc_soname();
const char* cxx_runtime_soname();

}  // namespace memproxy::platform

#endif
