#include "platform.hpp"

#include <unistd.h>

#if defined(__sun)
#include <stdlib.h>
#else
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

const char* libc_soname() {
#if defined(__sun)
  return "libc.so.1";
#else
  return "libc.so.6";
#endif
}

}  // namespace memproxy::platform
