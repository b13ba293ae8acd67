#include "time_spec.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace memproxyctl {
namespace {

constexpr int64_t kNs = 1000000000;

// Seconds in a span such as "1h30m", or -1.
int64_t span_seconds(const std::string& text) {
  int64_t total = 0;
  size_t i = 0;
  if (text.empty()) return -1;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return -1;
    int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      n = n * 10 + (text[i] - '0');
      if (n > 100LL * 365 * 86400) return -1;
      ++i;
    }
    if (i == text.size()) return -1;
    int64_t unit = 0;
    switch (text[i]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 7 * 86400; break;
      default: return -1;
    }
    ++i;
    total += n * unit;
    if (total > 100LL * 365 * 86400) return -1;
  }
  return total;
}

}  // namespace

std::variant<int64_t, std::string> parse_time_spec(const std::string& text, int64_t now_unix_ns) {
  if (text == "now") return now_unix_ns;
  if (int64_t span = span_seconds(text); span >= 0) return now_unix_ns - span * kNs;
  if (text.size() > 1 && text[0] == '@') {
    long long seconds = 0;
    int consumed = 0;
    if (std::sscanf(text.c_str() + 1, "%lld%n", &seconds, &consumed) == 1 &&
        static_cast<size_t>(consumed) == text.size() - 1 && seconds >= 0 && seconds < 4102444800LL) {
      return static_cast<int64_t>(seconds) * kNs;
    }
  }
  std::tm t{};
  int consumed = 0;
  int second = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%*1[T ]%2d:%2d%n", &t.tm_year, &t.tm_mon, &t.tm_mday, &t.tm_hour,
                  &t.tm_min, &consumed) == 5) {
    std::string rest = text.substr(static_cast<size_t>(consumed));
    int more = 0;
    if (!rest.empty() && rest[0] == ':' && std::sscanf(rest.c_str(), ":%2d%n", &second, &more) == 1) {
      rest = rest.substr(static_cast<size_t>(more));
    }
    const bool utc = rest == "Z";
    if ((rest.empty() || utc) && t.tm_mon >= 1 && t.tm_mon <= 12 && t.tm_mday >= 1 && t.tm_mday <= 31 &&
        t.tm_hour < 24 && t.tm_min < 60 && second < 61) {
      t.tm_year -= 1900;
      t.tm_mon -= 1;
      t.tm_sec = second;
      t.tm_isdst = -1;
      std::time_t seconds = utc ? ::timegm(&t) : std::mktime(&t);
      if (seconds != static_cast<std::time_t>(-1)) return static_cast<int64_t>(seconds) * kNs;
    }
  }
  return "\"" + text +
         "\" is not a time: give now, a span before now (90s, 15m, 1h30m, 2d, 1w), @SECONDS since the epoch, or "
         "YYYY-MM-DDTHH:MM[:SS][Z]";
}

}  // namespace memproxyctl
