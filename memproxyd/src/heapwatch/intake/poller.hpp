// One poll: every watched process's account read, with its RSS, into a
// Reading; processes found gone are ended. The daemon polls every
// --sample-interval (the option keeps its name; a reading is not a sampled
// allocation).
#ifndef MEMPROXYD_HEAPWATCH_POLLER_HPP
#define MEMPROXYD_HEAPWATCH_POLLER_HPP

#include <functional>
#include <vector>

#include "heapwatch/intake/registry.hpp"

namespace memproxy::heapwatch {

struct ProcessReading {
  const WatchedProcess* process;
  Reading reading;
};

// One process's reading at `unix_ns`, and the totals it came from. The
// registry takes one when it takes a process, so that no process is ever
// shown without a reading (a daemon that adopted it at start would
// otherwise show 0 B until its first tick).
Reading take_reading(const Watched& w, int64_t unix_ns, heap::Totals* totals);

// Reads every process at `unix_ns`; returns the readings of this tick (valid
// until the registry changes).
std::vector<ProcessReading> poll_all(Registry& registry, int64_t unix_ns);

}  // namespace memproxy::heapwatch

#endif
