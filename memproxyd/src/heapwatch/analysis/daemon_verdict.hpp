// The leak verdict as the daemon runs it: its parameters at the daemon's
// timescale, and the summary of a verdict that the views show.
#ifndef MEMPROXYD_HEAPWATCH_DAEMON_VERDICT_HPP
#define MEMPROXYD_HEAPWATCH_DAEMON_VERDICT_HPP

#include <chrono>
#include <string>

#include "heapwatch/analysis/exhaustion.hpp"
#include "heapwatch/analysis/process_view.hpp"
#include "heapwatch/analysis/verdict.hpp"

namespace memproxy::heapwatch {

// How often the daemon judges each running process at timescale 1.
inline constexpr std::chrono::milliseconds kVerdictInterval{60'000};

// `parameters` with every duration divided by `scale` (>= 1; the window
// stays at least a second): what takes an hour takes an hour / scale, so
// tests can watch a leak being found in a minute.
VerdictParameters time_scaled(VerdictParameters parameters, int scale);
std::chrono::milliseconds time_scaled(std::chrono::milliseconds interval, int scale);
ExhaustionParameters time_scaled(ExhaustionParameters parameters, int scale);

heap_query::Verdict summarize(const LeakAnalysis& verdict);

// What a view says of a process: judged growing, judged stable, or not
// judged yet (too little history, or none kept). "stable" is never said of
// a process that was not judged.
enum class VerdictState { not_judged, stable, growing };
VerdictState state_of(const heap_query::Verdict& summary);
// "not_judged", "stable", "growing": the state label of the verdict metric.
const char* state_label(VerdictState state);
// "not judged", "stable", "growing": the words of the daemon's log.
const char* state_words(VerdictState state);

// A growth rate as the log gives it: "+210 MiB/h", "-3.5 KiB/h", "+0 B/h".
std::string growth_rate_text(double bytes_per_hour);

}  // namespace memproxy::heapwatch

#endif
