#include "heapwatch/intake/exit_watch.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

namespace memproxy::heapwatch {

void ExitWatch::watch(const ProcessHandle& process) {
  // A descriptor of its own: the wait closes it, the handle keeps its pidfd.
  int fd = ::fcntl(process.pidfd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    spdlog::warn("heap watch: cannot wait for the end of pid {}: {}", process.id().pid, std::strerror(errno));
    return;
  }
  auto wait = std::make_shared<boost::asio::posix::stream_descriptor>(io_, fd);
  const ProcessId id = process.id();
  waits_[id] = wait;
  wait->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [this, id, weak = std::weak_ptr(wait)](const boost::system::error_code& ec) {
                     if (ec == boost::asio::error::operation_aborted || weak.expired()) return;
                     waits_.erase(id);
                     ended_(id);
                   });
}

void ExitWatch::forget(const ProcessId& id) {
  auto it = waits_.find(id);
  if (it == waits_.end()) return;
  boost::system::error_code ignored;
  it->second->close(ignored);
  waits_.erase(it);
}

}  // namespace memproxy::heapwatch
