// The leak verdict as the daemon runs it: its parameters at the daemon's
// timescale, and the summary of a verdict that the views show.
#ifndef MEMPROXYD_HEAPWATCH_DAEMON_VERDICT_HPP
#define MEMPROXYD_HEAPWATCH_DAEMON_VERDICT_HPP

#include <chrono>

#include "heapwatch/process_view.hpp"
#include "heapwatch/verdict.hpp"

namespace memproxy::heapwatch {

// How often the daemon judges each running process at timescale 1.
inline constexpr std::chrono::milliseconds kVerdictInterval{60'000};

// `parameters` with every duration divided by `scale` (>= 1; the window
// stays at least a second): what takes an hour takes an hour / scale, so
// tests can watch a leak being found in a minute.
VerdictParameters time_scaled(VerdictParameters parameters, int scale);
std::chrono::milliseconds time_scaled(std::chrono::milliseconds interval, int scale);

VerdictSummary summarize(const Verdict& verdict);

}  // namespace memproxy::heapwatch

#endif
