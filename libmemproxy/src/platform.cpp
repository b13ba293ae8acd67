#include "platform.hpp"

#include <dlfcn.h>
#include <unistd.h>

#if defined(__sun)
#include <stdlib.h>
#include <thread.h>
#else
#include <pthread.h>
#include <sys/auxv.h>
#endif

namespace memproxy::platform {

bool secure_mode() {
#if defined(__sun)
  return issetugid() != 0;
#else
  return getauxval(AT_SECURE) != 0;
#endif
}

bool root_involved() {
#if defined(__sun)
  return getuid() == 0 || geteuid() == 0;
#else
  // The auxiliary vector holds the ids the process was started with: no
  // system call. Nothing of the program has run yet when the decision asks.
  return getauxval(AT_UID) == 0 || getauxval(AT_EUID) == 0;
#endif
}

const char* invoked_path() {
#if defined(__sun)
  return getexecname();
#else
  return reinterpret_cast<const char*>(getauxval(AT_EXECFN));
#endif
}

long executable_path(char* buf, size_t size) {
#if defined(__sun)
  const char* link = "/proc/self/path/a.out";
#else
  const char* link = "/proc/self/exe";
#endif
  if (size == 0) return -1;
  ssize_t n = readlink(link, buf, size - 1);
  if (n <= 0) return -1;
  buf[n] = '\0';
  return n;
}

size_t page_size() {
#if !defined(__sun)
  unsigned long from_kernel = getauxval(AT_PAGESZ);
  if (from_kernel != 0) return from_kernel;
#endif
  return static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

long thread_id() {
#if defined(__sun)
  return static_cast<long>(thr_self());
#else
  // The thread pointer libc keeps: no system call.
  return static_cast<long>(pthread_self());
#endif
}

bool is_deepbind(int mode) {
#if defined(RTLD_DEEPBIND)
  return (mode & RTLD_DEEPBIND) != 0;
#else
  (void)mode;
  return false;
#endif
}

const char* libc_soname() {
#if defined(__sun)
  return "libc.so.1";
#else
  return "libc.so.6";
#endif
}

const char* cxx_runtime_soname() { return "libstdc++.so.6"; }

}  // namespace memproxy::platform
