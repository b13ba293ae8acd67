#include "heapwatch/intake/exit_watch.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "heapwatch/intake/memory_limit.hpp"
#include "heapwatch/intake/process_exit.hpp"
#include "platform/process_exit_status.hpp"

namespace memproxy::heapwatch {

struct ExitWatch::Ask {
  Ask(boost::asio::io_context& io, ProcessId process, UniqueFd fd)
      : id(process), pidfd(std::move(fd)), retry(io), give_up(std::chrono::steady_clock::now() + kExitPatience) {}
  ProcessId id;
  UniqueFd pidfd;
  boost::asio::steady_timer retry;
  std::chrono::steady_clock::time_point give_up;
  std::optional<OomBaseline> oom_baseline;
};

void ExitWatch::watch(const ProcessHandle& process, const std::string& memory_cgroup) {
  // A descriptor of its own: the wait closes it, the handle keeps its pidfd.
  int fd = ::fcntl(process.pidfd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    spdlog::warn("heap watch: cannot wait for the end of pid {}: {}", process.id().pid, std::strerror(errno));
    return;
  }
  auto wait = std::make_shared<boost::asio::posix::stream_descriptor>(io_, fd);
  const ProcessId id = process.id();
  waits_[id] = wait;
  std::optional<OomBaseline> baseline;
  if (std::optional<uint64_t> kills = cgroup_oom_kills(memory_cgroup)) baseline = OomBaseline{memory_cgroup, *kills};
  wait->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [this, id, baseline = std::move(baseline), weak = std::weak_ptr(wait)](const boost::system::error_code& ec) {
                     if (ec == boost::asio::error::operation_aborted) return;
                     auto ended = weak.lock();
                     if (!ended) return;
                     waits_.erase(id);
                     ended_(id);
                     if (!end_known_) return;
                     auto a = std::make_shared<Ask>(io_, id, UniqueFd(ended->release()));
                     a->oom_baseline = baseline;
                     asks_[id] = a;
                     ask(a);
                   });
}


void ExitWatch::ask(const std::shared_ptr<Ask>& a) {
  int status = 0;
  const platform::ExitQuery answer = platform::exit_status_of(a->pidfd.get(), &status);
  if (answer == platform::ExitQuery::not_reaped && std::chrono::steady_clock::now() < a->give_up) {
    a->retry.expires_after(kExitPoll);
    a->retry.async_wait([this, weak = std::weak_ptr(a)](const boost::system::error_code& ec) {
      if (auto again = weak.lock(); again && !ec) ask(again);
    });
    return;
  }
  asks_.erase(a->id);
  const std::optional<OomBaseline>& baseline = a->oom_baseline;
  if (answer != platform::ExitQuery::known) return;
  OomEvidence oom = OomEvidence::none;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
    // The log's clock counts from boot, as the process's start time does.
    if (oom_killed(a->id.pid, ticks_to_boot_us(a->id.start_ticks) - 1'000'000)) {
      oom = OomEvidence::kernel_log;
    } else if (baseline) {
      const std::optional<uint64_t> kills = cgroup_oom_kills(baseline->cgroup);
      if (kills && *kills > baseline->kills) oom = OomEvidence::cgroup_count;
    }
  }
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
