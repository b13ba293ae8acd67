#include "platform/process_descriptor.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

// Linux 6.5; older C library headers do not name it.
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

namespace memproxy::platform {

UniqueFd open_process(pid_t pid) { return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0u))); }

UniqueFd open_peer_process(int socket, pid_t recorded_pid) {
  int fd = -1;
  socklen_t length = sizeof fd;
  if (::getsockopt(socket, SOL_SOCKET, SO_PEERPIDFD, &fd, &length) == 0) return UniqueFd(fd);
  if (errno != ENOPROTOOPT) return UniqueFd();
  return open_process(recorded_pid);
}

bool process_ended(int process) {
  pollfd p{process, POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

}  // namespace memproxy::platform
