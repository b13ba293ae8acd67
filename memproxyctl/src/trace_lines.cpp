#include "trace_lines.hpp"

#include <cstdio>
#include <limits>

#include "human_units.hpp"
#include "memproxy/clock.hpp"
#include "memproxy/hex.hpp"
#include "terminal_text.hpp"

namespace memproxyctl {

using memproxy::kNsPerSecond;

namespace tq = memproxy::trace_query;

namespace {

using memproxy::hex;

std::string pad(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string pad_left(const std::string& text, size_t width) {
  return text.size() < width ? std::string(width - text.size(), ' ') + text : text;
}

// A C++ operator as its kind and variant, "new[](aligned,nothrow)", so it
// fits a column; C functions keep their names.
std::string short_op(const std::string& op) {
  const std::string prefix = "operator ";
  if (op.compare(0, prefix.size(), prefix) != 0) return op;
  size_t open = op.find('(');
  std::string name = op.substr(prefix.size(), open == std::string::npos ? std::string::npos : open - prefix.size());
  if (open == std::string::npos) return name;
  std::string params = op.substr(open);
  std::string variant;
  auto add = [&variant](const char* word) {
    if (!variant.empty()) variant += ',';
    variant += word;
  };
  const bool is_delete = name.compare(0, 6, "delete") == 0;
  if (is_delete && params.find("size_t") != std::string::npos) add("sized");
  if (params.find("align_val_t") != std::string::npos) add("aligned");
  if (params.find("nothrow_t") != std::string::npos) add("nothrow");
  return variant.empty() ? name : name + "(" + variant + ")";
}

std::string caller_text(const tq::Record& record, const tq::Caller* caller) {
  if (caller == nullptr) return hex(record.caller);
  for (const memproxy::heap_query::FrameView& f : caller->frames) {
    if (f.function.empty()) continue;
    std::string text = terminal_safe(f.function);
    if (!f.file.empty()) text += " " + terminal_safe(f.file) + (f.line != 0 ? ":" + std::to_string(f.line) : "");
    if (f.inlined) text += " (inlined)";
    return text;
  }
  std::string text = hex(record.caller);
  if (!caller->frames.empty() && !caller->frames[0].object.empty()) {
    text += " " + terminal_safe(caller->frames[0].object) + "+" + hex(caller->frames[0].object_offset);
  }
  if (!caller->error.empty()) text += " (" + terminal_safe(caller->error) + ")";
  return text;
}

// A call's size in the SIZE column: in bytes while it fits, else in binary
// units (a calloc whose product passed 64 bits is traced as UINT64_MAX:
// "16.0 EiB"); the JSON object keeps every size exact.
constexpr size_t kSizeWidth = 10;
std::string size_text(uint64_t size) {
  std::string digits = std::to_string(size);
  return digits.size() <= kSizeWidth ? digits : human_bytes(size);
}

}  // namespace

std::variant<uint64_t, std::string> parse_size_filter(const std::string& text) {
  const std::string why = "--filter takes size>=N (N bytes, or with K, KiB, M, MiB, G or GiB), not \"" + text + "\"";
  const std::string prefix = "size>=";
  if (text.compare(0, prefix.size(), prefix) != 0) return why;
  std::string number = text.substr(prefix.size());
  size_t digits = number.find_first_not_of("0123456789");
  if (digits == 0 || number.empty()) return why;
  std::string unit = digits == std::string::npos ? "" : number.substr(digits);
  uint64_t scale = 1;
  if (unit == "K" || unit == "KiB" || unit == "k") {
    scale = uint64_t{1} << 10;
  } else if (unit == "M" || unit == "MiB") {
    scale = uint64_t{1} << 20;
  } else if (unit == "G" || unit == "GiB") {
    scale = uint64_t{1} << 30;
  } else if (!unit.empty() && unit != "B") {
    return why;
  }
  std::string value_text = number.substr(0, digits);
  if (value_text.size() > 19) return why;
  uint64_t value = std::stoull(value_text);
  if (value > std::numeric_limits<uint64_t>::max() / scale) return why;
  return value * scale;
}

std::string started_text(const tq::Started& s) {
  std::string text = "tracing pid " + std::to_string(s.process.pid) + " (" + terminal_safe(s.process.program) +
                     ", user " + terminal_safe(s.process.user) + ") for " + std::to_string(s.seconds) + " s";
  text += s.min_size != 0 ? ", calls of at least " + std::to_string(s.min_size) + " bytes" : ", every call";
  return text + "; Ctrl-C ends it";
}

std::string column_heads() {
  return pad("TIME", 16) + " " + pad_left("TID", 7) + " " + pad("OP", 22) + " " + pad_left("SIZE", kSizeWidth) + " " +
         pad("POINTER", 14) + " " + pad("RESULT", 14) + " CALLER";
}

std::string record_text(const tq::Record& r, const tq::Caller* caller, int64_t utc_offset_s) {
  char micros[8];
  std::snprintf(micros, sizeof micros, ".%06d", static_cast<int>((r.unix_ns % kNsPerSecond + kNsPerSecond) %
                                                                 kNsPerSecond / 1000));
  const std::string result = r.result != 0 ? hex(r.result) : "-";
  return pad(clock_time(r.unix_ns, utc_offset_s, false) + micros, 16) + " " + pad_left(std::to_string(r.tid), 7) +
         " " + pad(terminal_safe(short_op(r.op)), 22) + " " + pad_left(size_text(r.size), kSizeWidth) + " " +
         pad(r.pointer != 0 ? hex(r.pointer) : "-", 14) + " " + pad(result, 14) + " " + caller_text(r, caller);
}

std::string summary_text(const tq::Summary& s) {
  std::string text = std::to_string(s.records) + " call" + (s.records == 1 ? "" : "s") + " traced, " +
                     std::to_string(s.dropped) + " dropped by the process (its trace ring was full)";
  if (s.undelivered != 0) {
    text += ", " + std::to_string(s.undelivered) + " not delivered (this client or the symbolizer was too slow)";
  }
  return text + "; ended: " + terminal_safe(s.reason);
}

nlohmann::json record_json(const tq::Record& r, const tq::Caller* caller) {
  nlohmann::json c = caller != nullptr ? nlohmann::json{{"address", caller->address},
                                                        {"frames", caller->frames},
                                                        {"error", caller->error}}
                                       : nlohmann::json{{"address", r.caller},
                                                        {"frames", nlohmann::json::array()},
                                                        {"error", "the daemon named no caller"}};
  return nlohmann::json{{"unix_ns", r.unix_ns}, {"tid", r.tid},       {"op", r.op},     {"size", r.size},
                        {"pointer", r.pointer}, {"result", r.result}, {"caller", std::move(c)}};
}

}  // namespace memproxyctl
