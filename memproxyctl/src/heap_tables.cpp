#include "heap_tables.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "human_units.hpp"
#include "output.hpp"
#include "terminal_text.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;

namespace {

std::string fit(const std::string& text, size_t width) {
  if (text.size() <= width) return text + std::string(width - text.size(), ' ');
  if (width == 0) return "";
  return std::string(utf8_prefix(text, width - 1)) + "~";
}

std::string right(const std::string& text, size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

std::string percent(double fraction) {
  char text[16];
  std::snprintf(text, sizeof text, "%.1f%%", fraction * 100);
  return text;
}

// Columns: PID and USER, right-aligned numbers, then PROGRAM last (as in
// top(1)), shortened to what the width leaves, never under 8.
struct Table {
  std::vector<std::pair<std::string, size_t>> columns;
  std::string line(const std::string& pid, const std::string& user, const std::vector<std::string>& values,
                   const std::string& program, int width) const {
    std::string l = right(pid, 7) + " " + fit(terminal_safe(user), 8);
    for (size_t i = 0; i < columns.size(); ++i) l += " " + right(terminal_safe(values[i]), columns[i].second);
    l += " ";
    const size_t room = width > static_cast<int>(l.size()) + 8 ? static_cast<size_t>(width) - l.size() : 8;
    l += fit(terminal_safe(program), room);
    while (!l.empty() && l.back() == ' ') l.pop_back();
    return l;
  }
  std::string header(int width) const {
    std::vector<std::string> names;
    for (const auto& [name, w] : columns) names.push_back(name);
    return line("PID", "USER", names, "PROGRAM", width);
  }
};

}  // namespace

std::optional<TopOrder> top_order(const std::string& name) {
  static const std::map<std::string, TopOrder> kNames{
      {"live", TopOrder::live},     {"peak", TopOrder::peak},     {"rss", TopOrder::rss},
      {"allocs", TopOrder::allocations}, {"growth", TopOrder::growth}, {"pid", TopOrder::pid},
      {"program", TopOrder::program}};
  auto it = kNames.find(name);
  if (it == kNames.end()) return std::nullopt;
  return it->second;
}

void sort_views(std::vector<hq::View>& views, TopOrder order) {
  auto key = [order](const hq::View& v) -> double {
    switch (order) {
      case TopOrder::live: return static_cast<double>(v.latest.live_bytes);
      case TopOrder::peak: return static_cast<double>(v.latest.peak_bytes);
      case TopOrder::rss: return static_cast<double>(v.latest.rss_bytes);
      case TopOrder::allocations: return v.allocations_per_second;
      case TopOrder::growth: return v.verdict.slope_bytes_per_hour;
      default: return 0;
    }
  };
  // Ties, and the ascending orders, fall back to the pid: a stable screen.
  std::stable_sort(views.begin(), views.end(), [&](const hq::View& a, const hq::View& b) {
    if (order == TopOrder::program && a.process.program != b.process.program) {
      return a.process.program < b.process.program;
    }
    if (order != TopOrder::pid && order != TopOrder::program && key(a) != key(b)) return key(a) > key(b);
    return a.process.pid < b.process.pid;
  });
}

std::string growth_text(const hq::Verdict& v) {
  if (v.trend == hq::trend::kNotEnoughData) return "-";
  return human_signed_bytes(v.slope_bytes_per_hour);
}

namespace {

// "45s", "35m" (rounded up), else human_duration's hours or days.
std::string time_to(int64_t seconds) {
  if (seconds < 60) return std::to_string(std::max<int64_t>(0, seconds)) + "s";
  if (seconds < 3600) return std::to_string((seconds + 59) / 60) + "m";
  return human_duration(seconds);
}

// The EXHAUSTS column is shown only when some process has a forecast: most
// screens have none, and 80 columns are full without it.
bool any_forecast(const std::vector<hq::View>& views) {
  return std::any_of(views.begin(), views.end(), [](const hq::View& v) { return v.verdict.exhaustion_unix_ns != 0; });
}

}  // namespace

std::string exhaustion_text(const hq::Verdict& v) {
  if (v.exhaustion_unix_ns == 0) return "-";
  return time_to(v.exhaustion_in_s);
}

std::string exhaustion_words(const hq::Verdict& v) {
  if (v.exhaustion_unix_ns == 0) return "";
  const std::string limit = human_bytes(v.memory_limit_bytes) + " (" +
                            (v.memory_limit_source == "host" ? std::string("what the host has available")
                                                             : terminal_safe(v.memory_limit_source)) +
                            ")";
  if (v.exhaustion_in_s == 0) return "its memory has reached what it may use, " + limit;
  return "at its present growth its memory reaches what it may use, " + limit + ", in " + time_to(v.exhaustion_in_s);
}

std::string verdict_text(const hq::Verdict& v) {
  if (v.trend == hq::trend::kNotEnoughData && v.first_verdict_in_s > 0) return "judged in " + time_to(v.first_verdict_in_s);
  return v.trend;
}

std::vector<std::string> top_lines(const std::vector<hq::View>& views, int width, TopOrder order) {
  const bool rss = order == TopOrder::rss;
  const bool forecast = any_forecast(views);
  Table t{{{"LIVE", 8}, {"PEAK", 8}, {"ALLOC/S", 7}, {"GROWTH/H", 9}, {"VERDICT", 15}}};
  if (rss) t.columns.insert(t.columns.begin() + 2, {"RSS", 8});
  if (forecast) t.columns.push_back({"EXHAUSTS", 8});
  std::vector<std::string> out{t.header(width)};
  for (const hq::View& v : views) {
    std::vector<std::string> values{human_bytes(v.latest.live_bytes), human_bytes(v.latest.peak_bytes),
                                    human_rate(v.allocations_per_second), growth_text(v.verdict), verdict_text(v.verdict)};
    if (rss) values.insert(values.begin() + 2, human_bytes(v.latest.rss_bytes));
    if (forecast) values.push_back(exhaustion_text(v.verdict));
    out.push_back(t.line(std::to_string(v.process.pid), v.process.user, values, v.process.program, width));
  }
  return out;
}

std::string rss_beyond_heap_words(const hq::Verdict& v) {
  if (!v.fragmentation_growing) return "";
  const std::string rate = human_signed_bytes(v.fragmentation_slope_bytes_per_hour) + "/h";
  if (v.trend == hq::trend::kGrowing) {
    return "RSS beyond the heap grows " + rate +
           ", more than an allocator's usual overhead on a growing heap: fragmentation, or memory outside the "
           "allocator we watch";
  }
  return "RSS grows " + rate +
         " beyond a heap that does not: memory outside the allocator we watch (a runtime's own arenas, mmap, "
         "thread stacks) or fragmentation, not a leak of the heap";
}

std::string verdict_line(const std::optional<hq::Verdict>& v, bool ended) {
  if (!v) return ended ? "verdict: none, the process ended before it was judged" : "verdict: none";
  std::string line = (ended ? "last verdict before it ended: " : "verdict: ") + terminal_safe(v->trend);
  if (v->trend == hq::trend::kNotEnoughData) {
    line += " (watched " + human_duration(v->observed_s);
    if (v->first_verdict_in_s > 0) line += "; first verdict in " + human_duration(v->first_verdict_in_s);
    line += ")";
    if (v->exhaustion_unix_ns != 0) line += "; " + exhaustion_words(*v);
    return line;
  }
  line += ", " + human_signed_bytes(v->slope_bytes_per_hour) + "/h (confidence " + percent(v->confidence) +
          ", over " + human_duration(v->analysed_s) + "; live " + human_bytes(v->live_at_start_bytes) + " -> " +
          human_bytes(v->live_now_bytes);
  if (!v->finding.empty() && v->finding != v->trend) line += "; " + terminal_safe(v->finding);
  line += ")";
  if (v->fragmentation_growing) line += "; " + rss_beyond_heap_words(*v);
  if (v->exhaustion_unix_ns != 0) line += "; " + exhaustion_words(*v);
  return line;
}

std::vector<std::string> leak_lines(const std::vector<hq::View>& leaks, int width) {
  if (leaks.empty()) return {"no process is growing"};
  const bool forecast = any_forecast(leaks);
  Table t{{{"GROWTH/H", 9}, {"CONFIDENCE", 10}, {"OVER", 7}, {"LIVE START", 10}, {"LIVE NOW", 8}}};
  if (forecast) t.columns.push_back({"EXHAUSTS", 8});
  std::vector<std::string> out{t.header(width)};
  for (const hq::View& v : leaks) {
    std::vector<std::string> values{human_signed_bytes(v.verdict.slope_bytes_per_hour), percent(v.verdict.confidence),
                                    human_duration(v.verdict.analysed_s), human_bytes(v.verdict.live_at_start_bytes),
                                    human_bytes(v.verdict.live_now_bytes)};
    if (forecast) values.push_back(exhaustion_text(v.verdict));
    out.push_back(t.line(std::to_string(v.process.pid), v.process.user, values, v.process.program, width));
  }
  return out;
}

std::vector<std::string> leaks_report(const std::vector<hq::View>& leaks,
                                      const std::optional<std::vector<hq::View>>& not_judged, int width,
                                      int64_t utc_offset_s) {
  if (!not_judged || not_judged->empty()) return leak_lines(leaks, width);
  const size_t n = not_judged->size();
  const std::string count = std::to_string(n) + " watched process" + (n == 1 ? " is" : "es are") + " not judged yet";
  std::vector<std::string> out;
  if (leaks.empty()) {
    out.push_back("no judged process is growing, but " + count + ":");
  } else {
    out = leak_lines(leaks, width);
    out.push_back(count + ":");
  }
  const bool forecast = any_forecast(*not_judged);
  Table t{{{"WATCHED", 8}, {"FIRST VERDICT", 19}}};
  if (forecast) t.columns.push_back({"EXHAUSTS", 8});
  out.push_back(t.header(width));
  for (const hq::View& v : *not_judged) {
    std::string when = "none (no history)";
    if (v.verdict.first_verdict_unix_ns != 0) {
      when = v.verdict.first_verdict_in_s > 0 ? "in " + time_to(v.verdict.first_verdict_in_s) + ", " : "due, ";
      when += clock_time(v.verdict.first_verdict_unix_ns, utc_offset_s, v.verdict.first_verdict_in_s >= 86400);
    }
    std::vector<std::string> values{human_duration(v.verdict.observed_s), when};
    if (forecast) values.push_back(exhaustion_text(v.verdict));
    out.push_back(t.line(std::to_string(v.process.pid), v.process.user, values, v.process.program, width));
  }
  return out;
}

std::vector<std::string> ended_growing_lines(const std::vector<hq::View>& ended, int64_t utc_offset_s) {
  if (ended.empty()) return {};
  const size_t n = ended.size();
  std::vector<std::string> out{std::to_string(n) + (n == 1 ? " process" : " processes") +
                               " ended while growing in the last day (memproxyctl leaks PID, history PID and report "
                               "PID examine them):"};
  for (const hq::View& v : ended) {
    std::string line = "  pid " + std::to_string(v.process.pid) + " (" + terminal_safe(v.process.program) + ", user " +
                       terminal_safe(v.process.user) + ") ended at " +
                       clock_time(v.process.ended_unix_ns, utc_offset_s, true);
    if (!v.process.ended_how.empty()) line += ", " + terminal_safe(v.process.ended_how);
    line += ", growing " + human_signed_bytes(v.verdict.slope_bytes_per_hour) + "/h";
    if (v.latest.unix_ns != 0) line += " with " + human_bytes(v.latest.live_bytes) + " live";
    out.push_back(line);
  }
  return out;
}

std::string history_heading(const hq::History& h) {
  std::string ended;
  if (h.process.ended_unix_ns != 0) {
    ended = h.process.ended_how.empty() ? ", ended" : ", ended: " + terminal_safe(h.process.ended_how);
  }
  std::string text = "pid " + std::to_string(h.process.pid) + " (" + terminal_safe(h.process.program) + ", user " +
                     terminal_safe(h.process.user) + ended + "): " + std::to_string(h.samples.size()) + " sample" +
                     (h.samples.size() == 1 ? "" : "s");
  if (!h.samples.empty()) {
    text += " from " + format_unix_ns(h.samples.front().unix_ns) + " to " + format_unix_ns(h.samples.back().unix_ns);
  }
  if (h.truncated) text += " (the oldest left out: at most " + std::to_string(hq::kMaxHistorySamples) + ")";
  return text;
}

std::string history_csv(const std::vector<hq::Reading>& samples) {
  std::ostringstream out;
  out << "unix_ns,time,live_bytes,peak_bytes,rss_bytes,allocations,frees\n";
  for (const hq::Reading& s : samples) {
    out << s.unix_ns << ',' << format_unix_ns(s.unix_ns) << ',' << s.live_bytes << ',' << s.peak_bytes << ','
        << s.rss_bytes << ',' << s.allocations << ',' << s.frees << '\n';
  }
  return out.str();
}

}  // namespace memproxyctl
