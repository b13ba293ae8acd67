#include "memproxy/status_record.hpp"

#include <charconv>
#include <functional>
#include <map>

namespace memproxy::status {
namespace {

std::string escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string unescape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) {
      ++i;
      out += value[i] == 'n' ? '\n' : value[i];
    } else {
      out += value[i];
    }
  }
  return out;
}

template <typename Number>
bool parse_number(std::string_view text, Number* out) {
  const char* end = text.data() + text.size();
  auto result = std::from_chars(text.data(), end, *out);
  return result.ec == std::errc() && result.ptr == end;
}

}  // namespace

std::string to_text(const Record& r) {
  std::string out;
  auto put = [&out](std::string_view key, std::string_view value) {
    out.append(key).append("=").append(escape(value)).append("\n");
  };
  put("pid", std::to_string(r.pid));
  put("state", r.state);
  put("config_path", r.config_path);
  put("config_mtime_ns", std::to_string(r.config_mtime_ns));
  put("table_path", r.table_path);
  put("allocator", r.allocator);
  put("generation", std::to_string(r.generation));
  put("entry_count", std::to_string(r.entry_count));
  put("started_unix_ns", std::to_string(r.started_unix_ns));
  put("ready_unix_ns", std::to_string(r.ready_unix_ns));
  put("last_publish_unix_ns", std::to_string(r.last_publish_unix_ns));
  put("last_publish_ms", std::to_string(r.last_publish_ms));
  put("rejected_count", std::to_string(r.rejected_count));
  put("last_rejection_unix_ns", std::to_string(r.last_rejection_unix_ns));
  put("last_error", r.last_error);
  put("history_state", r.history_state);
  put("history_path", r.history_path);
  put("history_problem", r.history_problem);
  put("history_dropped_samples", std::to_string(r.history_dropped_samples));
  return out;
}

std::optional<Record> from_text(std::string_view text, std::string* error) {
  std::map<std::string, std::string, std::less<>> values;
  while (!text.empty()) {
    auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    auto equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    values[std::string(line.substr(0, equals))] = unescape(line.substr(equals + 1));
  }
  for (const char* required : {"pid", "state", "generation"}) {
    if (!values.contains(required)) {
      if (error) *error = std::string("status record has no '") + required + "'";
      return std::nullopt;
    }
  }
  Record r;
  bool ok = true;
  auto text_of = [&values](const char* key) -> std::string {
    auto it = values.find(key);
    return it == values.end() ? std::string() : it->second;
  };
  auto number = [&](const char* key, auto* out) {
    auto it = values.find(key);
    if (it == values.end()) return;
    if (!parse_number(it->second, out)) {
      ok = false;
      if (error) *error = std::string("status record: '") + key + "' is not a number: " + it->second;
    }
  };
  number("pid", &r.pid);
  r.state = text_of("state");
  r.config_path = text_of("config_path");
  number("config_mtime_ns", &r.config_mtime_ns);
  r.table_path = text_of("table_path");
  r.allocator = text_of("allocator");
  number("generation", &r.generation);
  number("entry_count", &r.entry_count);
  number("started_unix_ns", &r.started_unix_ns);
  number("ready_unix_ns", &r.ready_unix_ns);
  number("last_publish_unix_ns", &r.last_publish_unix_ns);
  number("last_publish_ms", &r.last_publish_ms);
  number("rejected_count", &r.rejected_count);
  number("last_rejection_unix_ns", &r.last_rejection_unix_ns);
  r.last_error = text_of("last_error");
  r.history_state = text_of("history_state");
  r.history_path = text_of("history_path");
  r.history_problem = text_of("history_problem");
  number("history_dropped_samples", &r.history_dropped_samples);
  if (!ok) return std::nullopt;
  return r;
}

std::string status_path_for(const std::string& table_path) { return table_path + ".status"; }
std::string lock_path_for(const std::string& table_path) { return table_path + ".lock"; }

}  // namespace memproxy::status
