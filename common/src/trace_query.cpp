#include "memproxy/trace_query.hpp"
#include "memproxy/json_integer.hpp"

#include <limits>
#include <optional>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace memproxy::trace_query {

using memproxy::exact_integer;
using nlohmann::json;
namespace hq = memproxy::heap_query;

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

void limit_caller(Caller& c) {
  if (c.frames.size() > kMaxCallerFrames) c.frames.resize(kMaxCallerFrames);
  for (hq::FrameView& f : c.frames) {
    cut_text(f.function, hq::kMaxFrameTextBytes);
    cut_text(f.file, hq::kMaxFrameTextBytes);
    cut_text(f.object, hq::kMaxFrameTextBytes);
    cut_text(f.build_id, hq::kMaxBuildIdBytes);
  }
  cut_text(c.error, hq::kMaxFrameTextBytes);
}

void limit_batch(Batch& b) {
  if (b.records.size() > kMaxBatchRecords) b.records.resize(kMaxBatchRecords);
  if (b.callers.size() > kMaxBatchRecords) b.callers.resize(kMaxBatchRecords);
  for (Record& r : b.records) cut_text(r.op, hq::kMaxFrameTextBytes);
  for (Caller& c : b.callers) limit_caller(c);
}

std::string line_of(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json record_json(const Record& r) {
  return json{{"unix_ns", r.unix_ns}, {"tid", r.tid},         {"op", r.op},          {"size", r.size},
              {"pointer", r.pointer}, {"result", r.result},   {"caller", r.caller}};
}

Record record_from(const json& j) {
  Record r;
  j.at("unix_ns").get_to(r.unix_ns);
  j.at("tid").get_to(r.tid);
  j.at("op").get_to(r.op);
  j.at("size").get_to(r.size);
  j.at("pointer").get_to(r.pointer);
  j.at("result").get_to(r.result);
  j.at("caller").get_to(r.caller);
  return r;
}

json caller_json(const Caller& c) { return json{{"address", c.address}, {"frames", c.frames}, {"error", c.error}}; }

Caller caller_from(const json& j) {
  Caller c;
  j.at("address").get_to(c.address);
  const json& frames = j.at("frames");
  if (!frames.is_array()) throw std::invalid_argument("\"frames\" is not an array");
  for (size_t i = 0; i < frames.size() && i < kMaxCallerFrames; ++i) c.frames.push_back(frames[i].get<hq::FrameView>());
  j.at("error").get_to(c.error);
  return c;
}

}  // namespace

std::variant<TraceRequest, std::string> parse_trace_request(const std::string& line) {
  return trace_request_from(json::parse(line, nullptr, false));
}

std::variant<TraceRequest, std::string> trace_request_from(const json& j) {
  if (j.is_discarded()) return std::string("the request is not JSON");
  if (!j.is_object()) return std::string("the request is not a JSON object");
  auto name = j.find(hq::field::kRequest);
  if (name == j.end() || !name->is_string() || name->get<std::string>() != request::kTrace) {
    return std::string("not a \"trace\" request");
  }
  TraceRequest r;
  auto pid = j.find(hq::field::kPid);
  if (pid == j.end()) return std::string("trace needs \"pid\"");
  auto pid_value = exact_integer<pid_t>(*pid);
  if (!pid_value || *pid_value <= 0) return std::string("\"pid\" must be a positive integer");
  r.pid = *pid_value;
  auto seconds = j.find(field::kSeconds);
  if (seconds != j.end()) {
    auto value = exact_integer<uint32_t>(*seconds);
    if (!value || *value < kMinSeconds || *value > kMaxSeconds) {
      return "\"seconds\" must be an integer from " + std::to_string(kMinSeconds) + " to " +
             std::to_string(kMaxSeconds);
    }
    r.seconds = *value;
  }
  auto min_size = j.find(field::kMinSize);
  if (min_size != j.end()) {
    auto value = exact_integer<uint64_t>(*min_size);
    if (!value) return std::string("\"min_size\" must be a non-negative integer (bytes)");
    r.min_size = *value;
  }
  return r;
}

std::string trace_request_line(const TraceRequest& request) {
  json j = {{hq::field::kRequest, request::kTrace}, {hq::field::kPid, request.pid}, {field::kSeconds, request.seconds}};
  if (request.min_size != 0) j[field::kMinSize] = request.min_size;
  return j.dump();
}

std::string started_line(const Started& started) {
  return line_of(json{{field::kTracing, started.process},
                      {field::kSeconds, started.seconds},
                      {field::kMinSize, started.min_size}});
}

std::string batch_line(const Batch& given) {
  Batch b = given;
  limit_batch(b);
  json records = json::array();
  for (const Record& r : b.records) records.push_back(record_json(r));
  json callers = json::array();
  for (const Caller& c : b.callers) callers.push_back(caller_json(c));
  return line_of(json{{field::kRecords, std::move(records)}, {field::kCallers, std::move(callers)}});
}

std::string summary_line(const Summary& s) {
  return line_of(json{{field::kSummary,
                       {{"records", s.records}, {"dropped", s.dropped}, {"undelivered", s.undelivered},
                        {"reason", s.reason}}}});
}

std::variant<Line, std::string> parse_line(const std::string& line) {
  if (line.size() > kMaxLineBytes) return std::string("a line longer than ") + std::to_string(kMaxLineBytes) + " bytes";
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::string("a line that is not a JSON object");
  try {
    if (auto e = j.find(hq::field::kError); e != j.end()) {
      return Line{Refused{e->is_string() ? e->get<std::string>() : e->dump()}};
    }
    if (auto t = j.find(field::kTracing); t != j.end()) {
      Started s;
      s.process = t->get<hq::Process>();
      j.at(field::kSeconds).get_to(s.seconds);
      j.at(field::kMinSize).get_to(s.min_size);
      return Line{std::move(s)};
    }
    if (auto r = j.find(field::kRecords); r != j.end()) {
      const json& callers = j.at(field::kCallers);
      if (!r->is_array() || !callers.is_array()) return std::string("a batch whose records or callers are not arrays");
      Batch b;
      for (size_t i = 0; i < r->size() && i < kMaxBatchRecords; ++i) b.records.push_back(record_from((*r)[i]));
      for (size_t i = 0; i < callers.size() && i < kMaxBatchRecords; ++i) b.callers.push_back(caller_from(callers[i]));
      limit_batch(b);
      return Line{std::move(b)};
    }
    if (auto s = j.find(field::kSummary); s != j.end()) {
      Summary out;
      s->at("records").get_to(out.records);
      s->at("dropped").get_to(out.dropped);
      s->at("undelivered").get_to(out.undelivered);
      s->at("reason").get_to(out.reason);
      return Line{std::move(out)};
    }
  } catch (const std::exception& e) {
    return std::string("a malformed line: ") + e.what();
  }
  return std::string("a line of no known kind");
}

std::map<uint64_t, const Caller*> callers_by_address(const Batch& batch) {
  std::map<uint64_t, const Caller*> index;
  for (const Caller& c : batch.callers) index.emplace(c.address, &c);
  return index;
}

}  // namespace memproxy::trace_query
