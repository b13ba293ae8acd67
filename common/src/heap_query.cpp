#include "memproxy/heap_query.hpp"
#include "memproxy/json_integer.hpp"

#include <cmath>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace memproxy::heap_query {

using memproxy::exact_integer;
using nlohmann::json;

namespace {

// JSON has no NaN or infinity (nlohmann writes null, which no reader takes
// for a number): a rate or slope that is not finite is sent as 0.
double finite(double x) { return std::isfinite(x) ? x : 0.0; }

}  // namespace

std::string request_name(const json& j) {
  if (!j.is_object()) return "";
  auto name = j.find(field::kRequest);
  return name != j.end() && name->is_string() ? name->get<std::string>() : "";
}

std::string unknown_request(const std::string& name) {
  return "unknown request \"" + name + "\" (top, leaks or history)";
}

std::variant<Request, std::string> parse_request(const std::string& line) {
  return request_from(json::parse(line, nullptr, false));
}

std::variant<Request, std::string> request_from(const json& j) {
  if (j.is_discarded()) return std::string("the request is not JSON");
  if (!j.is_object()) return std::string("the request is not a JSON object");
  auto name = j.find(field::kRequest);
  if (name == j.end() || !name->is_string()) {
    return std::string("the request has no \"request\" string (top, leaks or history)");
  }
  Request r;
  r.name = name->get<std::string>();
  if (r.name == request::kTop || r.name == request::kLeaks) return r;
  if (r.name != request::kHistory) return unknown_request(r.name);

  auto pid = j.find(field::kPid);
  auto program = j.find(field::kProgram);
  if ((pid == j.end()) == (program == j.end())) return std::string("history needs exactly one of \"pid\" and \"program\"");
  if (pid != j.end()) {
    auto value = exact_integer<pid_t>(*pid);
    if (!value || *value <= 0) return std::string("\"pid\" must be a positive integer");
    r.pid = *value;
  } else {
    if (!program->is_string() || program->get<std::string>().empty()) {
      return std::string("\"program\" must be a non-empty string");
    }
    r.program = program->get<std::string>();
  }
  for (auto [key, target] : {std::pair{field::kSince, &r.since_unix_ns}, std::pair{field::kUntil, &r.until_unix_ns}}) {
    auto it = j.find(key);
    if (it == j.end()) continue;
    auto value = exact_integer<int64_t>(*it);
    if (!value) return std::string("\"") + key + "\" must be an integer (nanoseconds since the epoch)";
    *target = *value;
  }
  if (r.since_unix_ns > r.until_unix_ns) return std::string("\"since_unix_ns\" is after \"until_unix_ns\"");
  return r;
}

std::string request_line(const Request& request) {
  json j = {{field::kRequest, request.name}};
  if (request.pid) j[field::kPid] = *request.pid;
  if (request.program) j[field::kProgram] = *request.program;
  if (request.since_unix_ns != 0) j[field::kSince] = request.since_unix_ns;
  if (request.until_unix_ns != std::numeric_limits<int64_t>::max()) j[field::kUntil] = request.until_unix_ns;
  return j.dump();
}

// Program names and users come from processes: invalid UTF-8 is replaced,
// never a reason to fail an answer.
std::string answer_line(const json& answer) { return answer.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string error_line(const std::string& why) { return answer_line(json{{field::kError, why}}); }

void to_json(json& j, const Process& p) {
  j = json{{"pid", p.pid},
           {"start_ticks", p.start_ticks},
           {"uid", p.uid},
           {"user", p.user},
           {"program", p.program},
           {"exe", p.exe},
           {"started_unix_ns", p.started_unix_ns},
           {"ended_unix_ns", p.ended_unix_ns},
           {"ended_how", p.ended_how}};
}

void to_json(json& j, const Reading& s) {
  j = json{{"unix_ns", s.unix_ns},       {"live_bytes", s.live_bytes},   {"peak_bytes", s.peak_bytes},
           {"rss_bytes", s.rss_bytes},   {"allocations", s.allocations}, {"frees", s.frees}};
}

void to_json(json& j, const Verdict& v) {
  j = json{{"trend", v.trend},
           {"finding", v.finding},
           {"slope_bytes_per_hour", finite(v.slope_bytes_per_hour)},
           {"confidence", finite(v.confidence)},
           {"mann_kendall_z", finite(v.mann_kendall_z)},
           {"observed_s", v.observed_s},
           {"analysed_s", v.analysed_s},
           {"live_at_start_bytes", v.live_at_start_bytes},
           {"live_now_bytes", v.live_now_bytes},
           {"fragmentation_growing", v.fragmentation_growing},
           {"fragmentation_slope_bytes_per_hour", finite(v.fragmentation_slope_bytes_per_hour)},
           {"first_verdict_unix_ns", v.first_verdict_unix_ns},
           {"first_verdict_in_s", v.first_verdict_in_s},
           {"exhaustion_unix_ns", v.exhaustion_unix_ns},
           {"exhaustion_in_s", v.exhaustion_in_s},
           {"memory_limit_bytes", v.memory_limit_bytes},
           {"memory_limit_source", v.memory_limit_source}};
}

void to_json(json& j, const View& v) {
  j = json{{field::kProcess, v.process},
           {"latest", v.latest},
           {"allocations_per_second", finite(v.allocations_per_second)},
           {"frees_per_second", finite(v.frees_per_second)},
           {field::kVerdict, v.verdict}};
}

void to_json(json& j, const History& h) {
  j = json{{field::kProcess, h.process}, {field::kSamples, h.samples}, {field::kTruncated, h.truncated}};
  j[field::kVerdict] = h.verdict ? json(*h.verdict) : json(nullptr);
}

void from_json(const json& j, Process& p) {
  j.at("pid").get_to(p.pid);
  j.at("start_ticks").get_to(p.start_ticks);
  j.at("uid").get_to(p.uid);
  j.at("user").get_to(p.user);
  j.at("program").get_to(p.program);
  j.at("exe").get_to(p.exe);
  j.at("started_unix_ns").get_to(p.started_unix_ns);
  j.at("ended_unix_ns").get_to(p.ended_unix_ns);
  // Absent from an older daemon's answers.
  p.ended_how = j.value("ended_how", std::string());
}

void from_json(const json& j, Reading& s) {
  j.at("unix_ns").get_to(s.unix_ns);
  j.at("live_bytes").get_to(s.live_bytes);
  j.at("peak_bytes").get_to(s.peak_bytes);
  j.at("rss_bytes").get_to(s.rss_bytes);
  j.at("allocations").get_to(s.allocations);
  j.at("frees").get_to(s.frees);
}

void from_json(const json& j, Verdict& v) {
  j.at("trend").get_to(v.trend);
  j.at("finding").get_to(v.finding);
  j.at("slope_bytes_per_hour").get_to(v.slope_bytes_per_hour);
  j.at("confidence").get_to(v.confidence);
  j.at("mann_kendall_z").get_to(v.mann_kendall_z);
  j.at("observed_s").get_to(v.observed_s);
  j.at("analysed_s").get_to(v.analysed_s);
  j.at("live_at_start_bytes").get_to(v.live_at_start_bytes);
  j.at("live_now_bytes").get_to(v.live_now_bytes);
  j.at("fragmentation_growing").get_to(v.fragmentation_growing);
  j.at("fragmentation_slope_bytes_per_hour").get_to(v.fragmentation_slope_bytes_per_hour);
  // Later additions: a daemon before them does not send them.
  v.first_verdict_unix_ns = j.value("first_verdict_unix_ns", int64_t{0});
  v.first_verdict_in_s = j.value("first_verdict_in_s", int64_t{0});
  v.exhaustion_unix_ns = j.value("exhaustion_unix_ns", int64_t{0});
  v.exhaustion_in_s = j.value("exhaustion_in_s", int64_t{0});
  v.memory_limit_bytes = j.value("memory_limit_bytes", uint64_t{0});
  v.memory_limit_source = j.value("memory_limit_source", std::string());
}

void from_json(const json& j, View& v) {
  j.at(field::kProcess).get_to(v.process);
  j.at("latest").get_to(v.latest);
  j.at("allocations_per_second").get_to(v.allocations_per_second);
  j.at("frees_per_second").get_to(v.frees_per_second);
  j.at(field::kVerdict).get_to(v.verdict);
}

void from_json(const json& j, History& h) {
  j.at(field::kProcess).get_to(h.process);
  j.at(field::kSamples).get_to(h.samples);
  j.at(field::kTruncated).get_to(h.truncated);
  const json& verdict = j.at(field::kVerdict);
  if (verdict.is_null()) {
    h.verdict.reset();
  } else {
    h.verdict = verdict.get<Verdict>();
  }
}

json views_answer(const std::vector<View>& views) { return json{{field::kProcesses, views}}; }

std::vector<View> views_from_answer(const json& answer) {
  return answer.at(field::kProcesses).get<std::vector<View>>();
}

json leaks_answer(const std::vector<View>& growing, const std::vector<View>& not_judged,
                 const std::vector<View>& ended_growing) {
  return json{{field::kProcesses, growing}, {field::kNotJudged, not_judged}, {field::kEndedGrowing, ended_growing}};
}

std::vector<View> ended_growing_from_answer(const json& answer) {
  auto it = answer.find(field::kEndedGrowing);
  if (it == answer.end()) return {};
  return it->get<std::vector<View>>();
}

std::optional<std::vector<View>> not_judged_from_answer(const json& answer) {
  auto it = answer.find(field::kNotJudged);
  if (it == answer.end()) return std::nullopt;
  return it->get<std::vector<View>>();
}

// --- Call sites -------------------------------------------------------

namespace {

// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence;
// a cut text ends in "..." so that a reader sees it was cut.
void cut_text(std::string& text, size_t max) {
  if (text.size() <= max) return;
  size_t end = max >= 3 ? max - 3 : 0;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  if (max >= 3) text += "...";
}

}  // namespace

std::variant<SitesRequest, std::string> parse_sites_request(const std::string& line) {
  return sites_request_from(json::parse(line, nullptr, false));
}

std::variant<SitesRequest, std::string> sites_request_from(const json& j) {
  if (j.is_discarded()) return std::string("the request is not JSON");
  if (!j.is_object()) return std::string("the request is not a JSON object");
  auto name = j.find(field::kRequest);
  if (name == j.end() || !name->is_string() || name->get<std::string>() != request::kSites) {
    return std::string("not a \"sites\" request");
  }
  SitesRequest r;
  auto pid = j.find(field::kPid);
  if (pid == j.end()) return std::string("sites needs \"pid\"");
  auto pid_value = exact_integer<pid_t>(*pid);
  if (!pid_value || *pid_value <= 0) return std::string("\"pid\" must be a positive integer");
  r.pid = *pid_value;
  auto limit = j.find(field::kLimit);
  if (limit != j.end()) {
    auto value = exact_integer<size_t>(*limit);
    if (!value || *value == 0 || *value > kMaxSites) {
      return "\"limit\" must be an integer from 1 to " + std::to_string(kMaxSites);
    }
    r.limit = *value;
  }
  return r;
}

std::string sites_request_line(const SitesRequest& request) {
  json j = {{field::kRequest, request::kSites}, {field::kPid, request.pid}};
  if (request.limit != kDefaultSites) j[field::kLimit] = request.limit;
  return j.dump();
}

void limit_site(SiteView& site) {
  if (site.frames.size() > kMaxSiteFrames) site.frames.resize(kMaxSiteFrames);
  for (FrameView& f : site.frames) {
    cut_text(f.function, kMaxFrameTextBytes);
    cut_text(f.file, kMaxFrameTextBytes);
    cut_text(f.object, kMaxFrameTextBytes);
    cut_text(f.build_id, kMaxBuildIdBytes);
  }
  // The newest points are the ones that say where the site is going.
  if (site.series.size() > kMaxSitePoints) {
    site.series.erase(site.series.begin(), site.series.end() - static_cast<std::ptrdiff_t>(kMaxSitePoints));
  }
}

size_t site_bytes_bound(const SiteView& site) {
  // Field names and numbers at their longest (20 digits, 24 for a double):
  // measured 330 bytes for a frame with empty texts, 95 for a point, 420
  // for a site's own fields; rounded up.
  constexpr size_t kFrame = 400, kPoint = 100, kSite = 600;
  size_t bytes = kSite + site.series.size() * kPoint;
  for (const FrameView& f : site.frames) {
    bytes += kFrame + 6 * (f.function.size() + f.file.size() + f.object.size() + f.build_id.size());
  }
  return bytes;
}

void to_json(json& j, const FrameView& f) {
  j = json{{"address", f.address}, {"function", f.function}, {"file", f.file},
           {"line", f.line},       {"column", f.column},     {"object", f.object},
           {"build_id", f.build_id}, {"object_offset", f.object_offset}, {"inlined", f.inlined}};
}

void to_json(json& j, const SitePointView& p) { j = json{{"unix_ns", p.unix_ns}, {"estimated_bytes", p.estimated_bytes}}; }

void to_json(json& j, const SiteView& given) {
  SiteView s = given;
  limit_site(s);
  j = json{{"frames", s.frames},
           {"estimated_bytes", s.estimated_bytes},
           {"estimated_blocks", s.estimated_blocks},
           {"samples", s.samples},
           {"truncated_samples", s.truncated_samples},
           {"growth_bytes_per_hour", finite(s.growth_bytes_per_hour)},
           {"growth_confidence", finite(s.growth_confidence)},
           {"growing", s.growing},
           {"shrinking", s.shrinking},
           {"first_seen_unix_ns", s.first_seen_unix_ns},
           {"oldest_allocation_unix_ns", s.oldest_allocation_unix_ns},
           {"newest_allocation_unix_ns", s.newest_allocation_unix_ns},
           {"series", s.series}};
}

void to_json(json& j, const SitesAnswer& a) { j = sites_answer(a); }

void from_json(const json& j, FrameView& f) {
  j.at("address").get_to(f.address);
  j.at("function").get_to(f.function);
  j.at("file").get_to(f.file);
  j.at("line").get_to(f.line);
  j.at("column").get_to(f.column);
  j.at("object").get_to(f.object);
  j.at("build_id").get_to(f.build_id);
  j.at("object_offset").get_to(f.object_offset);
  j.at("inlined").get_to(f.inlined);
}

void from_json(const json& j, SitePointView& p) {
  j.at("unix_ns").get_to(p.unix_ns);
  j.at("estimated_bytes").get_to(p.estimated_bytes);
}

void from_json(const json& j, SiteView& s) {
  // Cut before converting: a long list is never copied whole.
  const json& frames = j.at("frames");
  const json& series = j.at("series");
  if (!frames.is_array() || !series.is_array()) {
    throw json::type_error::create(302, "\"frames\" and \"series\" must be arrays", &j);
  }
  s.frames.clear();
  for (size_t i = 0; i < frames.size(); ++i) s.frames.push_back(frames[i].get<FrameView>());
  s.series.clear();
  const size_t skip = series.size() > kMaxSitePoints ? series.size() - kMaxSitePoints : 0;
  for (size_t i = skip; i < series.size(); ++i) s.series.push_back(series[i].get<SitePointView>());
  j.at("estimated_bytes").get_to(s.estimated_bytes);
  j.at("estimated_blocks").get_to(s.estimated_blocks);
  j.at("samples").get_to(s.samples);
  j.at("truncated_samples").get_to(s.truncated_samples);
  j.at("growth_bytes_per_hour").get_to(s.growth_bytes_per_hour);
  j.at("growth_confidence").get_to(s.growth_confidence);
  j.at("growing").get_to(s.growing);
  j.at("shrinking").get_to(s.shrinking);
  j.at("first_seen_unix_ns").get_to(s.first_seen_unix_ns);
  j.at("oldest_allocation_unix_ns").get_to(s.oldest_allocation_unix_ns);
  j.at("newest_allocation_unix_ns").get_to(s.newest_allocation_unix_ns);
  limit_site(s);
}

void from_json(const json& j, SitesAnswer& a) {
  j.at(field::kProcess).get_to(a.process);
  j.at("unix_ns").get_to(a.unix_ns);
  j.at("sample_mean_bytes").get_to(a.sample_mean_bytes);
  j.at(field::kSamples).get_to(a.samples);
  j.at("rejected_samples").get_to(a.rejected_samples);
  j.at("estimated_bytes").get_to(a.estimated_bytes);
  j.at("sites_total").get_to(a.sites_total);
  j.at(field::kTruncated).get_to(a.truncated);
  j.at("symbols_error").get_to(a.symbols_error);
  cut_text(a.symbols_error, kMaxFrameTextBytes);
  const json& sites = j.at(field::kSites);
  if (!sites.is_array()) throw json::type_error::create(302, "\"sites\" must be an array", &j);
  a.sites.clear();
  for (size_t i = 0; i < sites.size() && i < kMaxSites; ++i) a.sites.push_back(sites[i].get<SiteView>());
  if (sites.size() > kMaxSites) a.truncated = true;
}

json sites_answer(const SitesAnswer& answer) {
  json sites = json::array();
  bool truncated = answer.truncated;
  size_t budget = kMaxSitesAnswerBytes;
  for (const SiteView& given : answer.sites) {
    if (sites.size() == kMaxSites) {
      truncated = true;
      break;
    }
    SiteView site = given;
    limit_site(site);
    const size_t bytes = site_bytes_bound(site);
    if (bytes > budget) {
      truncated = true;
      break;
    }
    budget -= bytes;
    sites.push_back(site);
  }
  std::string symbols_error = answer.symbols_error;
  cut_text(symbols_error, kMaxFrameTextBytes);
  return json{{field::kProcess, answer.process},
              {"unix_ns", answer.unix_ns},
              {"sample_mean_bytes", answer.sample_mean_bytes},
              {field::kSamples, answer.samples},
              {"rejected_samples", answer.rejected_samples},
              {"estimated_bytes", answer.estimated_bytes},
              {"sites_total", answer.sites_total},
              {field::kTruncated, truncated},
              {"symbols_error", std::move(symbols_error)},
              {field::kSites, std::move(sites)}};
}

SitesAnswer sites_from_answer(const json& answer) { return answer.get<SitesAnswer>(); }

}  // namespace memproxy::heap_query
