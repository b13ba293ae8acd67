// One sampling tick: every watched process's account read, with its RSS,
// into a Sample; processes found gone are ended. The daemon runs it every
// --sample-interval.
#ifndef MEMPROXYD_HEAPWATCH_SAMPLER_HPP
#define MEMPROXYD_HEAPWATCH_SAMPLER_HPP

#include <functional>
#include <vector>

#include "heapwatch/intake/registry.hpp"

namespace memproxy::heapwatch {

struct Reading {
  const WatchedProcess* process;
  Sample sample;
};

// One process's reading at `unix_ns`, and the totals it came from. The
// registry takes one when it takes a process, so that no process is ever
// shown without a reading (a daemon that adopted it at start would
// otherwise show 0 B until its first tick).
Sample read_sample(const Watched& w, int64_t unix_ns, heap::Totals* totals);

// Reads every process at `unix_ns`; returns the readings of this tick (valid
// until the registry changes).
std::vector<Reading> sample_all(Registry& registry, int64_t unix_ns);

}  // namespace memproxy::heapwatch

#endif
