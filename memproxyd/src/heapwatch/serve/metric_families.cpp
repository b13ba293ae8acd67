#include "heapwatch/serve/metric_families.hpp"

#include <prometheus/text_serializer.h>

#include <sstream>

#include "heapwatch/analysis/daemon_verdict.hpp"

namespace memproxy::heapwatch {
namespace {

constexpr size_t kMaxLabelBytes = 256;

// The length of the valid UTF-8 sequence at s[i], or 0.
size_t utf8_sequence(const std::string& s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  }
  // Overlong forms, surrogates and code points past U+10FFFF are invalid too.
  if (n == 2 && c < 0xc2) return 0;
  if (n == 3 && c == 0xe0 && byte(i + 1) < 0xa0) return 0;
  if (n == 3 && c == 0xed && byte(i + 1) >= 0xa0) return 0;
  if (n == 4 && c == 0xf0 && byte(i + 1) < 0x90) return 0;
  if (n == 4 && (c > 0xf4 || (c == 0xf4 && byte(i + 1) >= 0x90))) return 0;
  return n;
}

struct Labelled {
  std::vector<prometheus::ClientMetric::Label> labels;
  const ProcessView* view;
};

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type,
                                const std::vector<Labelled>& processes, double (*value)(const ProcessView&)) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  f.metric.reserve(processes.size());
  for (const Labelled& p : processes) {
    prometheus::ClientMetric m;
    m.label = p.labels;
    if (type == prometheus::MetricType::Counter) {
      m.counter.value = value(*p.view);
    } else {
      m.gauge.value = value(*p.view);
    }
    f.metric.push_back(std::move(m));
  }
  return f;
}

}  // namespace

std::string label_value(const std::string& raw) {
  static const std::string kReplacement = "\xef\xbf\xbd";
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size();) {
    size_t n = utf8_sequence(raw, i);
    const std::string piece = n == 0 ? kReplacement : raw.substr(i, n);
    if (out.size() + piece.size() > kMaxLabelBytes) break;
    out += piece;
    i += n == 0 ? 1 : n;
  }
  return out;
}

std::vector<prometheus::MetricFamily> heap_metric_families(const std::vector<ProcessView>& views) {
  using prometheus::MetricType;
  std::vector<Labelled> processes;
  processes.reserve(views.size());
  for (const ProcessView& v : views) {
    processes.push_back({{{"pid", std::to_string(v.process.pid)},
                          {"program", label_value(v.process.program)},
                          {"user", label_value(v.process.user)}},
                         &v});
  }
  std::vector<prometheus::MetricFamily> out;
  out.push_back(family(metric::kLiveBytes, "Bytes the process holds allocated (usable sizes), at the last sample",
                       MetricType::Gauge, processes,
                       [](const ProcessView& v) { return static_cast<double>(v.latest.live_bytes); }));
  out.push_back(family(metric::kPeakBytes, "Highest live heap bytes the process has held", MetricType::Gauge,
                       processes, [](const ProcessView& v) { return static_cast<double>(v.latest.peak_bytes); }));
  out.push_back(family(metric::kRssBytes, "Resident set size of the process", MetricType::Gauge, processes,
                       [](const ProcessView& v) { return static_cast<double>(v.latest.rss_bytes); }));
  out.push_back(family(metric::kAllocationsTotal, "Allocation calls since the process started", MetricType::Counter,
                       processes, [](const ProcessView& v) { return static_cast<double>(v.latest.allocations); }));
  out.push_back(family(metric::kFreesTotal, "Free calls since the process started", MetricType::Counter, processes,
                       [](const ProcessView& v) { return static_cast<double>(v.latest.frees); }));
  // The verdict's families leave out a process whose verdict is pending (a
  // daemon's first pass after its start): neither "not judged" nor
  // leak_suspected 0 would be true of a leak the history already judged.
  std::vector<Labelled> judged;
  for (const Labelled& p : processes) {
    if (!p.view->verdict_pending) judged.push_back(p);
  }
  out.push_back(family(metric::kGrowthBytesPerHour,
                       "Robust growth rate of live heap bytes judged by the leak verdict (0 without a verdict)",
                       MetricType::Gauge, judged,
                       [](const ProcessView& v) { return v.verdict.slope_bytes_per_hour; }));
  out.push_back(family(metric::kLeakSuspected, "1 when the leak verdict is growing, else 0 (also when not judged yet: see memproxy_heap_verdict)", MetricType::Gauge,
                       judged, [](const ProcessView& v) { return v.verdict.trend == heap_query::trend::kGrowing ? 1.0 : 0.0; }));
  // A state label rather than a series per state: a process has one state,
  // and an alert selects it (state="growing") without mistaking a process
  // not judged yet for a stable one, as leak_suspected 0 would.
  prometheus::MetricFamily verdict;
  verdict.name = metric::kVerdict;
  verdict.help = "1 for the leak verdict's state of the process: not_judged (not yet, or no history kept), stable or growing";
  verdict.type = MetricType::Gauge;
  verdict.metric.reserve(judged.size());
  for (const Labelled& p : judged) {
    prometheus::ClientMetric m;
    m.label = p.labels;
    m.label.push_back({"state", state_label(state_of(p.view->verdict))});
    m.gauge.value = 1;
    verdict.metric.push_back(std::move(m));
  }
  out.push_back(std::move(verdict));
  // Only the processes with a forecast: a steady process has no time to
  // exhaustion, and 0 would read as "now".
  std::vector<Labelled> forecast;
  std::vector<Labelled> limited;
  for (const Labelled& p : judged) {
    if (p.view->verdict.exhaustion_unix_ns != 0) forecast.push_back(p);
    if (p.view->verdict.memory_limit_bytes != 0) limited.push_back(p);
  }
  out.push_back(family(metric::kExhaustionSeconds,
                       "Seconds until the process's memory reaches what it may use, at its present growth (only "
                       "for processes whose memory certainly grows)",
                       MetricType::Gauge, forecast,
                       [](const ProcessView& v) { return static_cast<double>(v.verdict.exhaustion_in_s); }));
  out.push_back(family(metric::kMemoryLimitBytes,
                       "What the process may use: its cgroup's lowest memory limit, else the host's available "
                       "memory plus its resident set",
                       MetricType::Gauge, limited,
                       [](const ProcessView& v) { return static_cast<double>(v.verdict.memory_limit_bytes); }));
  prometheus::MetricFamily watched;
  watched.name = metric::kWatchedProcesses;
  watched.help = "Monitored processes memproxyd watches now";
  watched.type = MetricType::Gauge;
  prometheus::ClientMetric count;
  count.gauge.value = static_cast<double>(views.size());
  watched.metric.push_back(count);
  out.push_back(std::move(watched));
  return out;
}

std::string exposition_text(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace memproxy::heapwatch
