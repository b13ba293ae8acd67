#include "output.hpp"

#include <ctime>
#include <iostream>

namespace memproxyctl {

std::string format_unix_ns(int64_t unix_ns) {
  if (unix_ns <= 0) return "never";
  std::time_t seconds = static_cast<std::time_t>(unix_ns / 1000000000);
  std::tm utc {};
  ::gmtime_r(&seconds, &utc);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>((unix_ns / 1000000) % 1000));
  return std::string(text) + millis;
}

void print_json(const nlohmann::json& document) { std::cout << document.dump(2) << '\n'; }

}  // namespace memproxyctl
