// The daemon's heap watch: the heap socket, the processes found already
// running and, every rescan interval, those found since (a refused
// hand-over, finder.hpp), the wait for each one's end (its pidfd), and the
// sampling timer, on the daemon's event loop.
#ifndef MEMPROXYD_HEAPWATCH_HEAP_WATCH_HPP
#define MEMPROXYD_HEAPWATCH_HEAP_WATCH_HPP

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "heapwatch/intake/exit_watch.hpp"
#include "heapwatch/intake/finder.hpp"
#include "heapwatch/intake/intake.hpp"
#include "heapwatch/intake/registry.hpp"
#include "heapwatch/intake/poller.hpp"

namespace memproxy::heapwatch {

struct HeapWatchOptions {
  std::string socket_path;
  std::chrono::milliseconds sample_interval{1000};
  RegistryLimits limits;
  std::chrono::milliseconds rescan_interval{10000};
  IntakeLimits intake;
};

class HeapWatch {
 public:
  HeapWatch(boost::asio::io_context& io, HeapWatchOptions options);

  // Listens, finds the running processes, starts sampling. "" or why not.
  std::string start();

  Registry& registry() { return registry_; }
  // Called for each process the registry takes (not for a new image of one).
  std::function<void(const Watched&)> on_added;
  // Called after every tick with its readings (history, exporters).
  std::function<void(const std::vector<ProcessReading>&, int64_t unix_ns)> on_tick;
  // How a process that ended did, in words, once the kernel says (after its
  // end, which the registry's on_end announced; ExitWatch).
  std::function<void(const ProcessId&, const std::string& how)> on_end_known;

 private:
  void schedule();
  void tick();
  void schedule_rescan();

  HeapWatchOptions options_;
  Registry registry_;
  ExitWatch exits_;
  Intake intake_;
  Finder finder_;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer rescan_timer_;
  std::chrono::steady_clock::time_point next_;
};

}  // namespace memproxy::heapwatch

#endif
