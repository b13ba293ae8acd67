// Section headers and their one option, sample=. The rate's range is the
// table's (table_format.h: kMinSampleShift..kMaxSampleShift), so that every
// rate the parser accepts has a sampling code.
#include "section_header.hpp"

#include <cstdint>
#include <vector>

#include "config_text.hpp"
#include "memproxy/table_format.h"

namespace memproxy::config {
namespace {

using text::quote;
using text::shorten;

constexpr uint64_t kMinSampleBytes = uint64_t{1} << table::kMinSampleShift;
constexpr uint64_t kMaxSampleBytes = uint64_t{1} << table::kMaxSampleShift;

std::vector<std::string_view> words_of(std::string_view s) {
  std::vector<std::string_view> words;
  std::size_t at = 0;
  while (at < s.size()) {
    while (at < s.size() && text::is_blank(s[at])) ++at;
    std::size_t end = at;
    while (end < s.size() && !text::is_blank(s[end])) ++end;
    if (end > at) words.push_back(s.substr(at, end - at));
    at = end;
  }
  return words;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

const char kSizeHelp[] = "a power of two from 16 to 1G, with an optional K, M or G suffix (e.g. 64K), or off";

// The value of sample=: the setting, or the reason it is not one in `error`.
SampleSetting sample_value(std::string_view value, std::string* error) {
  const std::string as_written = "sample=" + shorten(value);
  if (value == "off") return {true, 0};
  if (value.empty()) {
    *error = "sample= needs a value: " + std::string(kSizeHelp);
    return {};
  }
  std::size_t digits = 0;
  while (digits < value.size() && is_digit(value[digits])) ++digits;
  std::string_view suffix = value.substr(digits);
  uint32_t shift = 0;
  if (suffix == "K") shift = 10;
  else if (suffix == "M") shift = 20;
  else if (suffix == "G") shift = 30;
  if (digits == 0 || (!suffix.empty() && shift == 0)) {
    if (digits > 0 && (suffix == "k" || suffix == "m" || suffix == "g")) {
      std::string fixed(value);
      fixed.back() = static_cast<char>(fixed.back() - 'a' + 'A');
      *error = as_written + ": write the suffix as a capital K, M or G (sample=" + shorten(fixed) + ")";
    } else {
      *error = as_written + " is not a size; write " + kSizeHelp;
    }
    return {};
  }
  // Any number past the largest rate is only ever "too large": stop counting there.
  uint64_t number = 0;
  bool too_large = false;
  for (char c : value.substr(0, digits)) {
    number = number * 10 + static_cast<uint64_t>(c - '0');
    if (number > kMaxSampleBytes) {
      too_large = true;
      break;
    }
  }
  if (!too_large && number > (kMaxSampleBytes >> shift)) too_large = true;
  const uint64_t bytes = number << shift;
  if (too_large) {
    *error = as_written + " is above the largest rate, " + size_text(kMaxSampleBytes);
  } else if (bytes == 0) {
    *error = as_written + " samples nothing; write sample=off for no sampled stacks";
  } else if (bytes < kMinSampleBytes) {
    *error = as_written + " is below the smallest rate, " + std::to_string(kMinSampleBytes) + " bytes";
  } else if ((bytes & (bytes - 1)) != 0) {
    uint64_t lower = kMinSampleBytes;
    while (lower * 2 < bytes) lower *= 2;
    *error = as_written + " is not a power of two; use " + size_text(lower) + " or " + size_text(lower * 2);
  } else {
    return {true, bytes};
  }
  return {};
}

SectionHeader failed(SectionHeader header, Problem problem, std::string message) {
  header.problem = problem;
  header.error = std::move(message);
  return header;
}

}  // namespace

std::string size_text(uint64_t bytes) {
  static constexpr struct {
    uint32_t shift;
    char suffix;
  } kUnits[] = {{30, 'G'}, {20, 'M'}, {10, 'K'}};
  for (const auto& unit : kUnits) {
    const uint64_t scale = uint64_t{1} << unit.shift;
    if (bytes >= scale && bytes % scale == 0) return std::to_string(bytes / scale) + unit.suffix;
  }
  return std::to_string(bytes);
}

SectionHeader parse_section_header(std::string_view line) {
  SectionHeader header;
  if (line.back() != ']') {
    return failed(header, Problem::malformed_section,
                  "malformed section header " + quote(line) + ": expected [exclude] or [monitor]");
  }
  std::vector<std::string_view> words = words_of(line.substr(1, line.size() - 2));
  std::string_view name = words.empty() ? std::string_view() : words.front();
  if (name == "exclude") {
    header.section = Section::exclude;
  } else if (name == "monitor") {
    header.section = Section::monitor;
  } else {
    return failed(header, Problem::unknown_section,
                  "unknown section " + quote(line) + "; known sections are [exclude] and [monitor]");
  }
  header.known = true;
  bool sample_seen = false;
  for (std::size_t i = 1; i < words.size(); ++i) {
    std::string_view option = words[i];
    if (header.section == Section::exclude) {
      return failed(header, Problem::option_not_allowed,
                    "[exclude] takes no options, found " + quote(option) + " in " + quote(line) +
                        " (sample= belongs on a [monitor] header)");
    }
    std::size_t equals = option.find('=');
    std::string_view key = option.substr(0, equals);
    if (key != "sample") {
      return failed(header, Problem::unknown_option,
                    "unknown option " + quote(option) + " in " + quote(line) +
                        "; [monitor] takes sample=SIZE or sample=off");
    }
    if (equals == std::string_view::npos) {
      return failed(header, Problem::bad_sample_rate,
                    "sample needs a value, with no blanks around '=': sample=SIZE, " + std::string(kSizeHelp));
    }
    if (sample_seen) {
      return failed(header, Problem::repeated_option, "sample= is given twice in " + quote(line) + "; give it once");
    }
    sample_seen = true;
    std::string error;
    SampleSetting setting = sample_value(option.substr(equals + 1), &error);
    if (!error.empty()) return failed(header, Problem::bad_sample_rate, std::move(error));
    header.sample = setting;
  }
  return header;
}

}  // namespace memproxy::config
