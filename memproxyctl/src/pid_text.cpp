#include "pid_text.hpp"

#include <limits>

#include "terminal_text.hpp"

namespace memproxyctl {

std::optional<pid_t> parse_pid(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const size_t first = text.find_first_not_of('0');
  if (first == std::string::npos) return std::nullopt;  // 0
  // More digits than the largest pid_t has cannot be one, however many.
  if (text.size() - first > std::numeric_limits<pid_t>::digits10 + 1) return std::nullopt;
  const long long value = std::stoll(text.substr(first));
  if (value > std::numeric_limits<pid_t>::max()) return std::nullopt;
  return static_cast<pid_t>(value);
}

std::string not_a_pid(const std::string& text) { return "not a pid: " + terminal_safe(text); }

}  // namespace memproxyctl
