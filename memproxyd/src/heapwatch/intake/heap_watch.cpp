#include "heapwatch/intake/heap_watch.hpp"
#include "memproxy/clock.hpp"

#include <spdlog/spdlog.h>

namespace memproxy::heapwatch {
namespace {

using memproxy::unix_now_ns;

}  // namespace

HeapWatch::HeapWatch(boost::asio::io_context& io, HeapWatchOptions options)
    : options_(std::move(options)),
      registry_(options_.limits),
      exits_(
          io, [this](const ProcessId& id) { registry_.end(id, unix_now_ns()); },
          [this](const ProcessId& id, const std::string& how) {
            if (on_end_known) on_end_known(id, how);
          }),
      intake_(io, registry_, options_.intake),
      finder_(registry_, options_.socket_path),
      timer_(io),
      rescan_timer_(io) {
  registry_.on_added = [this](const Watched& w) {
    if (w.handle) exits_.watch(*w.handle, w.process.memory_cgroup);
    if (on_added) on_added(w);
  };
  registry_.on_removed = [this](const ProcessId& id) { exits_.forget(id); };
}

std::string HeapWatch::start() {
  std::string error = intake_.listen(options_.socket_path);
  if (!error.empty()) return error;
  size_t found = finder_.scan(false);
  spdlog::info("heap watch: listening on {}, sampling every {} ms; {} monitored process{} already running",
               options_.socket_path, options_.sample_interval.count(), found, found == 1 ? "" : "es");
  next_ = std::chrono::steady_clock::now();
  schedule();
  schedule_rescan();
  return "";
}

void HeapWatch::schedule_rescan() {
  rescan_timer_.expires_after(options_.rescan_interval);
  rescan_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    size_t found = finder_.scan();
    if (found != 0) {
      spdlog::info("heap watch: rescan found {} monitored process{} not handed over", found, found == 1 ? "" : "es");
    }
    schedule_rescan();
  });
}

// Ticks keep to a fixed cadence: a slow tick delays the next one, it does
// not shift every later one.
void HeapWatch::schedule() {
  next_ += options_.sample_interval;
  auto now = std::chrono::steady_clock::now();
  if (next_ < now) next_ = now;
  timer_.expires_at(next_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    tick();
    schedule();
  });
}

void HeapWatch::tick() {
  const int64_t now = unix_now_ns();
  std::vector<ProcessReading> readings = poll_all(registry_, now);
  if (on_tick) on_tick(readings, now);
}

}  // namespace memproxy::heapwatch
