// The heap watch's Prometheus metrics, built from the views of one update:
// what the pull exporter serves and the textfile exporter writes.
//
// One series per metric and watched process, labelled program, pid and
// user (and the verdict's state); a process that ended is simply absent from the next update, so the
// number of series is bounded by the registry's limits. Stacks and call
// sites never go into labels.
#ifndef MEMPROXYD_HEAPWATCH_METRIC_FAMILIES_HPP
#define MEMPROXYD_HEAPWATCH_METRIC_FAMILIES_HPP

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "heapwatch/analysis/process_view.hpp"

namespace memproxy::heapwatch {

namespace metric {
inline constexpr const char* kLiveBytes = "memproxy_heap_live_bytes";
inline constexpr const char* kPeakBytes = "memproxy_heap_peak_bytes";
inline constexpr const char* kRssBytes = "memproxy_heap_rss_bytes";
inline constexpr const char* kAllocationsTotal = "memproxy_heap_allocations_total";
inline constexpr const char* kFreesTotal = "memproxy_heap_frees_total";
inline constexpr const char* kGrowthBytesPerHour = "memproxy_heap_growth_bytes_per_hour";
inline constexpr const char* kLeakSuspected = "memproxy_heap_leak_suspected";
inline constexpr const char* kExhaustionSeconds = "memproxy_heap_exhaustion_seconds";
inline constexpr const char* kMemoryLimitBytes = "memproxy_heap_memory_limit_bytes";
// 1, labelled state="not_judged|stable|growing" besides the process's
// labels: one series per process, in its current state.
inline constexpr const char* kVerdict = "memproxy_heap_verdict";
inline constexpr const char* kWatchedProcesses = "memproxy_watched_processes";
}  // namespace metric

// A label value Prometheus accepts: valid UTF-8 (each invalid byte becomes
// U+FFFD), at most 256 bytes. Quotes, backslashes and newlines stay: the
// text serializer escapes them.
std::string label_value(const std::string& raw);

std::vector<prometheus::MetricFamily> heap_metric_families(const std::vector<ProcessView>& views);

// The families in the text exposition format (what /metrics serves).
std::string exposition_text(const std::vector<prometheus::MetricFamily>& families);

}  // namespace memproxy::heapwatch

#endif
