// Text helpers of the memproxy.conf parser: what a blank is, and how the
// file's own text is quoted in a diagnostic (bounded, whatever the line).
#ifndef MEMPROXY_CONFIG_TEXT_HPP
#define MEMPROXY_CONFIG_TEXT_HPP

#include <cstddef>
#include <string>
#include <string_view>

namespace memproxy::config::text {

inline constexpr std::size_t kQuoteMax = 64;

inline bool is_blank(char c) { return c == ' ' || c == '\t'; }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// At most kQuoteMax bytes of `s`, "..." marking a cut. (Built by append:
// GCC 12 raises a false -Wrestrict on chained operator+ at -O3.)
inline std::string shorten(std::string_view s) {
  std::string out(s.substr(0, kQuoteMax));
  if (s.size() > kQuoteMax) out.append("...");
  return out;
}

// 'text', shortened.
inline std::string quote(std::string_view s) {
  std::string out = "'";
  out.append(shorten(s));
  out.append("'");
  return out;
}

}  // namespace memproxy::config::text

#endif
