// The daemon's WatchState: what the query socket and the exporters see,
// read from the registry of running processes on the event loop's thread.
//
// Until the leak verdict and the history store are wired in, every
// verdict is "not enough data", and the history of a process is the
// registry's recent one-second samples, while it runs.
#ifndef MEMPROXYD_HEAPWATCH_WATCH_STATE_HPP
#define MEMPROXYD_HEAPWATCH_WATCH_STATE_HPP

#include "heapwatch/process_view.hpp"
#include "heapwatch/registry.hpp"

namespace memproxy::heapwatch {

// The window allocations_per_second and frees_per_second are measured over.
inline constexpr int64_t kRateWindowNs = 60'000'000'000;

class RegistryWatchState : public WatchState {
 public:
  explicit RegistryWatchState(const Registry& registry) : registry_(registry) {}

  std::vector<ProcessView> views() const override;
  std::vector<Sample> history(const ProcessId& id, int64_t since_unix_ns, int64_t until_unix_ns) const override;
  std::vector<WatchedProcess> known_processes() const override;

 private:
  const Registry& registry_;
};

// The call rates of the newest sample against the oldest one within
// kRateWindowNs before it, per second; 0 with fewer than two samples.
struct CallRates {
  double allocations_per_second = 0;
  double frees_per_second = 0;
};
CallRates call_rates(const std::deque<Sample>& recent);

}  // namespace memproxy::heapwatch

#endif
