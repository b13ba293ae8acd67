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
#include "platform/process_descriptor.hpp"
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
  Wait& wait = waits_[process.id()];
  wait.descriptor = std::make_shared<boost::asio::posix::stream_descriptor>(io_, fd);
  if (std::optional<uint64_t> kills = cgroup_oom_kills(memory_cgroup)) wait.baseline = OomBaseline{memory_cgroup, *kills};
  wait.descriptor->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                              [this, id = process.id()](const boost::system::error_code& ec) {
                                if (ec == boost::asio::error::operation_aborted) return;
                                auto it = waits_.find(id);
                                if (it == waits_.end()) return;
                                // The reactor also completes a wait on an error or a hang-up it
                                // was told of; only the pidfd says the process ended. One that
                                // runs on is left to the sampler's check of its pidfd, each tick:
                                // a wait that woke once for nothing may wake again.
                                if (!platform::process_ended(it->second.descriptor->native_handle())) {
                                  spdlog::warn("heap watch: the wait for the end of pid {} woke while it runs ({}); "
                                               "its end is left to the sampler",
                                               id.pid, ec ? ec.message() : "no error");
                                  return;
                                }
                                Wait ended = std::move(it->second);
                                waits_.erase(it);
                                ended_(id);
                                ask_how(id, ended);
                              });
}

void ExitWatch::ask_how(const ProcessId& id, Wait& ended) {
  if (!end_known_) return;
  auto a = std::make_shared<Ask>(io_, id, UniqueFd(ended.descriptor->release()));
  a->oom_baseline = std::move(ended.baseline);
  asks_[id] = a;
  ask(a);
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
  Wait left = std::move(it->second);
  waits_.erase(it);
  // Ended already, its wait's handler not yet run (the poller saw it
  // first): how it ended is still asked.
  if (platform::process_ended(left.descriptor->native_handle())) {
    ask_how(id, left);
    return;
  }
  boost::system::error_code ignored;
  left.descriptor->close(ignored);
}

}  // namespace memproxy::heapwatch
