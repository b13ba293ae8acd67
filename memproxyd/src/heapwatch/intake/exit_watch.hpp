// How the daemon learns that a watched process ended: its pidfd becomes
// readable. Nothing the process holds or passes on (a descriptor, a child)
// keeps its watch alive, and the process need hold nothing of ours.
//
// Invariants: one wait per watched process, on the loop; a wait whose
// process left the registry for another reason is cancelled (forget), so
// the daemon holds no descriptor of a process it no longer watches.
#ifndef MEMPROXYD_HEAPWATCH_EXIT_WATCH_HPP
#define MEMPROXYD_HEAPWATCH_EXIT_WATCH_HPP

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <map>
#include <memory>

#include "heapwatch/intake/process_handle.hpp"

namespace memproxy::heapwatch {

class ExitWatch {
 public:
  using Ended = std::function<void(const ProcessId&)>;
  ExitWatch(boost::asio::io_context& io, Ended ended) : io_(io), ended_(std::move(ended)) {}

  void watch(const ProcessHandle& process);
  void forget(const ProcessId& id);
  size_t watching() const { return waits_.size(); }

 private:
  boost::asio::io_context& io_;
  Ended ended_;
  std::map<ProcessId, std::shared_ptr<boost::asio::posix::stream_descriptor>> waits_;
};

}  // namespace memproxy::heapwatch

#endif
