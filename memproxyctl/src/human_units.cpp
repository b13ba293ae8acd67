#include "human_units.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace memproxyctl {

std::string human_bytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  long double value = static_cast<long double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < sizeof kUnits / sizeof kUnits[0]) {
    value /= 1024;
    ++unit;
  }
  // At most four digits: "1023 KiB", "11.3 MiB".
  char text[32];
  std::snprintf(text, sizeof text, value < 99.95L ? "%.1Lf %s" : "%.0Lf %s", value, kUnits[unit]);
  return text;
}

std::string human_signed_bytes(double bytes) {
  if (!std::isfinite(bytes)) return "?";
  const double magnitude = std::fabs(bytes);
  const uint64_t whole = magnitude >= 1.8e19 ? UINT64_MAX : static_cast<uint64_t>(std::llround(magnitude));
  if (whole == 0) return "0 B";
  return (bytes < 0 ? "-" : "+") + human_bytes(whole);
}

std::string human_rate(double per_second) {
  if (!std::isfinite(per_second) || per_second < 0) return "?";
  char text[32];
  if (per_second < 1000) {
    std::snprintf(text, sizeof text, "%.0f", per_second);
  } else if (per_second < 1e6) {
    std::snprintf(text, sizeof text, "%.1fk", per_second / 1e3);
  } else if (per_second < 1e9) {
    std::snprintf(text, sizeof text, "%.1fM", per_second / 1e6);
  } else {
    std::snprintf(text, sizeof text, "%.1fG", per_second / 1e9);
  }
  return text;
}

std::string human_duration(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  auto two = [](int64_t big, const char* big_unit, int64_t small, const char* small_unit) {
    std::string s = std::to_string(big) + big_unit;
    if (small != 0) s += " " + std::to_string(small) + small_unit;
    return s;
  };
  if (seconds < 60) return std::to_string(seconds) + "s";
  if (seconds < 3600) return two(seconds / 60, "m", seconds % 60, "s");
  if (seconds < 86400) return two(seconds / 3600, "h", seconds % 3600 / 60, "m");
  return two(seconds / 86400, "d", seconds % 86400 / 3600, "h");
}

std::string clock_time(int64_t unix_ns, int64_t utc_offset_s, bool with_date) {
  std::time_t t = static_cast<std::time_t>(unix_ns / 1000000000 - (unix_ns % 1000000000 < 0 ? 1 : 0) + utc_offset_s);
  std::tm shifted{};
  ::gmtime_r(&t, &shifted);
  char text[32];
  std::strftime(text, sizeof text, with_date ? "%m-%d %H:%M" : "%H:%M:%S", &shifted);
  return text;
}

int64_t local_utc_offset_s(int64_t unix_ns) {
  std::time_t t = static_cast<std::time_t>(unix_ns / 1000000000);
  std::tm local{};
  ::localtime_r(&t, &local);
  return local.tm_gmtoff;
}

}  // namespace memproxyctl
