// Holds a history keeper's worker inside a query until opened: a stalled
// disk that lasts exactly as long as the test needs, whatever the machine's
// speed, so a test asserts what happens meanwhile instead of how long it took.
// Opened when destroyed, before the keeper it holds can be.
#ifndef MEMPROXY_TESTS_HEAPWATCH_WORKER_GATE_HPP
#define MEMPROXY_TESTS_HEAPWATCH_WORKER_GATE_HPP

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "heapwatch/store/history_keeper.hpp"

namespace heapwatch_fixtures {

class WorkerGate {
 public:
  WorkerGate() = default;
  WorkerGate(const WorkerGate&) = delete;
  WorkerGate& operator=(const WorkerGate&) = delete;
  ~WorkerGate() { open(); }

  // Queues the query that holds the worker; true once the worker is inside
  // it (false when the query was refused or the worker never took it).
  bool close(memproxy::heapwatch::HistoryKeeper& keeper,
             std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    const bool queued = keeper.query([this](memproxy::heapwatch::HistoryStore*) {
      hold();
      return memproxy::heapwatch::HistoryKeeper::LoopContinuation{};
    });
    if (!queued) return false;
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, limit, [this] { return entered_; });
  }

  void open() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      open_ = true;
    }
    changed_.notify_all();
  }

 private:
  void hold() {
    std::unique_lock<std::mutex> lock(mutex_);
    entered_ = true;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  bool entered_ = false;
  bool open_ = false;
};

}  // namespace heapwatch_fixtures

#endif
