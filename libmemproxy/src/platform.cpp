#include "platform.hpp"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#if defined(__sun)
#include <stdlib.h>
#include <thread.h>
#else
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/mman.h>
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

int64_t now_unix_ns() {
  timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int sealed_region(const char* name, size_t size) {
#if defined(__linux__)
  int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -1;
  fd = high_descriptor(fd);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    close(fd);
    return -1;
  }
  return fd;
#else
  (void)name;
  (void)size;
  return -1;
#endif
}

void* private_zeroes(size_t size) {
  void* at = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return at == MAP_FAILED ? nullptr : at;
}

void zero_again(void* at, size_t size) {
#if defined(__linux__)
  // Never a hole: unlike a MAP_FIXED mapping put in its place, which can
  // fail once the old pages are gone.
  if (madvise(at, size, MADV_DONTNEED) == 0) return;
#endif
  memset(at, 0, size);
}

int high_descriptor(int fd) {
  // Below the soft limit, so the program's own descriptors up to it stay
  // free; but never above 1024, where the kernel would grow the process's
  // descriptor table (kept for its whole life) for one short-lived descriptor.
  constexpr rlim_t kCeiling = 1024;
  constexpr rlim_t kBelowLimit = 16;
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return fd;
  rlim_t top = limit.rlim_cur < kCeiling ? limit.rlim_cur : kCeiling;
  if (top <= kBelowLimit + 3 || static_cast<rlim_t>(fd) >= top - kBelowLimit) return fd;
  int high = fcntl(fd, F_DUPFD_CLOEXEC, static_cast<int>(top - kBelowLimit));
  if (high < 0) return fd;
  close(fd);
  return high;
}

bool hand_over(const char* path, const void* message, size_t length, int fd) {
  sockaddr_un address;
  memset(&address, 0, sizeof address);
  address.sun_family = AF_UNIX;
  size_t path_length = strlen(path);
  if (path_length >= sizeof address.sun_path) return false;
  memcpy(address.sun_path, path, path_length + 1);
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return false;
  s = high_descriptor(s);
  if (connect(s, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(s);
    return false;
  }
  iovec part{const_cast<void*>(message), length};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof control);
  msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = &part;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  bool sent = sendmsg(s, &m, MSG_NOSIGNAL) == static_cast<ssize_t>(length);
  close(s);
  return sent;
}

bool after_fork_in_child(void (*child)()) { return pthread_atfork(nullptr, nullptr, child) == 0; }

}  // namespace memproxy::platform
