// The platform seam: what differs between Linux/glibc and Solaris, one
// function or flag per concern. platform.cpp holds the only #ifdefs for
// them; none of the functions allocates.
#ifndef MEMPROXY_PLATFORM_HPP
#define MEMPROXY_PLATFORM_HPP

#include <stddef.h>
#include <stdint.h>

// glibc exports its allocator under __libc_malloc & co. too, and programs
// call those names directly: libmemproxy exports them (interpose.cpp).
#if defined(__GLIBC__)
#define MP_PLATFORM_LIBC_ALIASES 1
#else
#define MP_PLATFORM_LIBC_ALIASES 0
#endif

namespace memproxy::platform {

// The calling thread's thread pointer (x86-64 %fs:0, i386 %gs:0): unique
// among the live threads, read without a call or a system call. The heap
// account keys its per-thread slots on it.
inline uintptr_t thread_pointer() {
  uintptr_t tp;
#if defined(__x86_64__)
  __asm__("mov %%fs:0, %0" : "=r"(tp));
#elif defined(__i386__)
  __asm__("mov %%gs:0, %0" : "=r"(tp));
#else
  tp = reinterpret_cast<uintptr_t>(__builtin_thread_pointer());
#endif
  return tp;
}

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

// Wall-clock time, from the vDSO where there is one.
int64_t now_unix_ns();

// A shared-memory region of `size` zero bytes that can neither shrink nor
// grow once made (a memfd sealed with F_SEAL_SHRINK|F_SEAL_GROW on Linux),
// named `name` where the platform shows names: its descriptor (close-on-exec,
// in the high range of high_descriptor), or -1.
int sealed_region(const char* name, size_t size);

// Zero bytes of private memory that reads as zero and holds no page (an
// anonymous private mapping, never shared): `size` bytes of it, or null.
void* private_zeroes(size_t size);
// Makes `size` bytes that private_zeroes gave at `at` zero again, in
// place: on Linux their pages are given back (MADV_DONTNEED), elsewhere
// written.
void zero_again(void* at, size_t size);

// Moves `fd` to a descriptor near the top of the range the process may use
// (close-on-exec) and closes `fd`: a descriptor memproxy holds for a moment
// never takes a number the program expects open() to return. `fd` itself
// when there is no room above it.
int high_descriptor(int fd);

// Connects without blocking to the Unix datagram-sequenced socket at `path`
// and sends `message` with `fd` attached (SCM_RIGHTS), then closes the
// connection: the message stays queued for the peer, which learns who sent
// it from the kernel (the credentials and the pidfd of the connection).
// Whether the message was sent.
bool hand_over(const char* path, const void* message, size_t length, int fd);

// Runs `child` in the child after every fork().
bool after_fork_in_child(void (*child)());

}  // namespace memproxy::platform

#endif
