#include "heapwatch/intake/exit_watch.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "heapwatch/intake/process_exit.hpp"

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
                     if (ec == boost::asio::error::operation_aborted) return;
                     auto ended = weak.lock();
                     if (!ended) return;
                     waits_.erase(id);
                     ended_(id);
                     if (!end_known_) return;
                     auto a = std::make_shared<Ask>(io_, id, UniqueFd(ended->release()));
                     asks_[id] = a;
                     ask(a);
                   });
}

struct ExitWatch::Ask {
  Ask(boost::asio::io_context& io, ProcessId process, UniqueFd fd)
      : id(process), pidfd(std::move(fd)), retry(io), give_up(std::chrono::steady_clock::now() + kExitPatience) {}
  ProcessId id;
  UniqueFd pidfd;
  boost::asio::steady_timer retry;
  std::chrono::steady_clock::time_point give_up;
};

void ExitWatch::ask(const std::shared_ptr<Ask>& a) {
  int status = 0;
  const ExitQuery answer = exit_status_of(a->pidfd.get(), &status);
  if (answer == ExitQuery::not_reaped && std::chrono::steady_clock::now() < a->give_up) {
    a->retry.expires_after(kExitPoll);
    a->retry.async_wait([this, weak = std::weak_ptr(a)](const boost::system::error_code& ec) {
      if (auto again = weak.lock(); again && !ec) ask(again);
    });
    return;
  }
  asks_.erase(a->id);
  if (answer != ExitQuery::known) return;
  // The log's clock counts from boot, as the process's start time does.
  static const int64_t ticks_per_second = ::sysconf(_SC_CLK_TCK);
  const int64_t started_us = static_cast<int64_t>(a->id.start_ticks) * 1'000'000 / std::max<int64_t>(1, ticks_per_second);
  const bool oom = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && oom_killed(a->id.pid, started_us - 1'000'000);
  end_known_(a->id, end_words(status, oom));
}

void ExitWatch::forget(const ProcessId& id) {
  asks_.erase(id);
  auto it = waits_.find(id);
  if (it == waits_.end()) return;
  boost::system::error_code ignored;
  it->second->close(ignored);
  waits_.erase(it);
}

}  // namespace memproxy::heapwatch
