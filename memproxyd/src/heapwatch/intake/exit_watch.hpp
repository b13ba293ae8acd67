// How the daemon learns that a watched process ended: its pidfd becomes
// readable. Nothing the process holds or passes on (a descriptor, a child)
// keeps its watch alive, and the process need hold nothing of ours.
//
// Once it ended, how (process_exit.hpp): the kernel tells once the parent
// has reaped it, so the daemon asks again every kExitPoll for at most
// kExitPatience, then leaves the end unknown. A SIGKILL is the OOM
// killer's when the kernel log says so, else (a daemon that cannot read
// the log, a log ring that moved on) when the process's memory cgroup
// counted more OOM kills at its end than when it was first watched.
//
// Invariants: one wait per watched process, on the loop; a wait whose
// process left the registry for another reason is cancelled (forget), so
// the daemon holds no descriptor of a process it no longer watches, but
// for the pidfds of ended processes whose end it is still asking about
// (each for at most kExitPatience). A wait that completes while the pidfd
// says its process runs (the reactor completes waits on errors too) ends
// nothing: it is left unarmed, and the sampler, which checks every watched
// process's pidfd each tick, sees the end. A process that has ended when
// it is forgotten (the poller saw it before its wait's handler ran) is
// asked about all the same: how it ended never depends on which saw it
// first.
#ifndef MEMPROXYD_HEAPWATCH_EXIT_WATCH_HPP
#define MEMPROXYD_HEAPWATCH_EXIT_WATCH_HPP

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "heapwatch/intake/process_handle.hpp"

namespace memproxy::heapwatch {

inline constexpr std::chrono::milliseconds kExitPoll{100};
inline constexpr std::chrono::milliseconds kExitPatience{10'000};

class ExitWatch {
 public:
  using Ended = std::function<void(const ProcessId&)>;
  // How it ended in words (end_words), once the kernel said.
  using EndKnown = std::function<void(const ProcessId&, const std::string&)>;
  ExitWatch(boost::asio::io_context& io, Ended ended, EndKnown end_known = nullptr)
      : io_(io), ended_(std::move(ended)), end_known_(std::move(end_known)) {}

  // `memory_cgroup` (memory_cgroup_of): its OOM kill count now is the
  // baseline a SIGKILL is judged against when the kernel log is silent.
  void watch(const ProcessHandle& process, const std::string& memory_cgroup = "");
  void forget(const ProcessId& id);
  size_t watching() const { return waits_.size(); }
  size_t asking() const { return asks_.size(); }

 private:
  // A watched process's memory cgroup and its OOM kill count when the
  // watch began; it travels with the wait, then with the Ask.
  struct OomBaseline {
    std::string cgroup;
    uint64_t kills = 0;
  };
  struct Wait {
    std::shared_ptr<boost::asio::posix::stream_descriptor> descriptor;
    std::optional<OomBaseline> baseline;
  };
  struct Ask;
  // Asks how the process of `ended` (whose wait is over) ended, taking its
  // descriptor.
  void ask_how(const ProcessId& id, Wait& ended);
  void ask(const std::shared_ptr<Ask>& a);

  boost::asio::io_context& io_;
  Ended ended_;
  EndKnown end_known_;
  std::map<ProcessId, Wait> waits_;
  std::map<ProcessId, std::shared_ptr<Ask>> asks_;
};

}  // namespace memproxy::heapwatch

#endif
