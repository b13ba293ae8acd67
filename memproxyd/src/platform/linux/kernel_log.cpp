#include "platform/kernel_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

#include "memproxy/unique_fd.hpp"

namespace memproxy::platform {

bool any_kernel_log_record(const std::function<bool(std::string_view record)>& matches) {
  UniqueFd log(::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!log) return false;
  // One record per read, oldest first; EPIPE says records were overwritten
  // while reading (the next read goes on), EAGAIN that none are left.
  char record[8192];
  for (;;) {
    const ssize_t n = ::read(log.get(), record, sizeof record);
    if (n < 0) {
      if (errno == EPIPE || errno == EINTR) continue;
      return false;
    }
    if (n == 0) return false;
    if (matches(std::string_view(record, static_cast<size_t>(n)))) return true;
  }
}

}  // namespace memproxy::platform
