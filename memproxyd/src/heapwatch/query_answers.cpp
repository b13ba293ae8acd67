#include "heapwatch/query_answers.hpp"

#include <algorithm>
#include <optional>

namespace memproxy::heapwatch {

namespace hq = memproxy::heap_query;

hq::Process to_wire(const WatchedProcess& p) {
  hq::Process w;
  w.pid = p.id.pid;
  w.start_ticks = p.id.start_ticks;
  w.uid = p.uid;
  w.user = p.user;
  w.program = p.program;
  w.exe = p.exe;
  w.started_unix_ns = p.started_unix_ns;
  w.ended_unix_ns = p.ended_unix_ns;
  return w;
}

hq::Sample to_wire(const Sample& s) {
  return hq::Sample{s.unix_ns, s.live_bytes, s.peak_bytes, s.rss_bytes, s.allocations, s.frees};
}

hq::Verdict to_wire(const VerdictSummary& v) {
  hq::Verdict w;
  w.trend = v.trend;
  w.finding = v.finding;
  w.slope_bytes_per_hour = v.slope_bytes_per_hour;
  w.confidence = v.confidence;
  w.mann_kendall_z = v.mann_kendall_z;
  w.observed_s = v.observed_s;
  w.analysed_s = v.analysed_s;
  w.live_at_start_bytes = v.live_at_start_bytes;
  w.live_now_bytes = v.live_now_bytes;
  w.fragmentation_growing = v.fragmentation_growing;
  w.fragmentation_slope_bytes_per_hour = v.fragmentation_slope_bytes_per_hour;
  return w;
}

hq::View to_wire(const ProcessView& v) {
  hq::View w;
  w.process = to_wire(v.process);
  w.latest = to_wire(v.latest);
  w.allocations_per_second = v.allocations_per_second;
  w.frees_per_second = v.frees_per_second;
  w.verdict = to_wire(v.verdict);
  return w;
}

namespace {

std::vector<hq::View> visible_views(uid_t peer, const WatchState& state, bool leaks_only) {
  std::vector<hq::View> out;
  for (const ProcessView& v : state.views()) {
    if (!visible_to(peer, v.process.uid)) continue;
    if (leaks_only && v.verdict.trend != hq::trend::kGrowing) continue;
    out.push_back(to_wire(v));
  }
  return out;
}

// The newest process the request names that `peer` may see.
std::optional<WatchedProcess> named_process(const hq::Request& request, uid_t peer, const WatchState& state) {
  for (const WatchedProcess& p : state.known_processes()) {
    if (!visible_to(peer, p.uid)) continue;
    if (request.pid ? p.id.pid == *request.pid : p.program == *request.program) return p;
  }
  return std::nullopt;
}

Answer history(const hq::Request& request, uid_t peer, const WatchState& state) {
  std::optional<WatchedProcess> process = named_process(request, peer, state);
  if (!process) {
    return {request.pid ? "no watched process has pid " + std::to_string(*request.pid)
                        : "no watched process is called " + *request.program};
  }
  std::vector<Sample> samples = state.history(process->id, request.since_unix_ns, request.until_unix_ns);
  hq::History h;
  h.process = to_wire(*process);
  size_t skip = 0;
  if (samples.size() > hq::kMaxHistorySamples) {
    skip = samples.size() - hq::kMaxHistorySamples;
    h.truncated = true;
  }
  h.samples.reserve(samples.size() - skip);
  for (size_t i = skip; i < samples.size(); ++i) h.samples.push_back(to_wire(samples[i]));
  if (process->ended_unix_ns == 0) {
    for (const ProcessView& v : state.views()) {
      if (v.process.id == process->id) h.verdict = to_wire(v.verdict);
    }
  }
  return {std::move(h)};
}

}  // namespace

Answer collect(const hq::Request& request, uid_t peer, const WatchState& state) {
  if (request.name == hq::request::kTop) return {visible_views(peer, state, false)};
  if (request.name == hq::request::kLeaks) return {visible_views(peer, state, true)};
  if (request.name == hq::request::kHistory && (request.pid || request.program)) return history(request, peer, state);
  return {"unknown request \"" + request.name + "\""};
}

nlohmann::json to_json(const Answer& a) {
  if (const auto* views = std::get_if<std::vector<hq::View>>(&a.content)) return hq::views_answer(*views);
  if (const auto* h = std::get_if<hq::History>(&a.content)) return *h;
  return nlohmann::json{{hq::field::kError, std::get<std::string>(a.content)}};
}

size_t line_bytes_bound(const Answer& a) {
  constexpr size_t kFixed = 1024, kPerView = 600, kPerSample = 110;
  if (const auto* views = std::get_if<std::vector<hq::View>>(&a.content)) {
    size_t names = 0;
    for (const hq::View& v : *views) names += 6 * (v.process.user.size() + v.process.program.size() + v.process.exe.size());
    return kFixed + views->size() * kPerView + names;
  }
  if (const auto* h = std::get_if<hq::History>(&a.content)) return kFixed + h->samples.size() * kPerSample;
  return kFixed + 6 * std::get<std::string>(a.content).size();
}

nlohmann::json answer(const hq::Request& request, uid_t peer, const WatchState& state) {
  return to_json(collect(request, peer, state));
}

}  // namespace memproxy::heapwatch
