// The times `memproxyctl history --since/--until` take: "now", a span
// before now ("90s", "15m", "1h30m", "2d", "1w"), "@SECONDS" since the
// epoch, or a date and time "YYYY-MM-DDTHH:MM[:SS]" (local time; UTC with
// a trailing Z).
#ifndef MEMPROXYCTL_TIME_SPEC_HPP
#define MEMPROXYCTL_TIME_SPEC_HPP

#include <cstdint>
#include <string>
#include <variant>

namespace memproxyctl {

// Nanoseconds since the epoch, or why `text` is not a time.
std::variant<int64_t, std::string> parse_time_spec(const std::string& text, int64_t now_unix_ns);

}  // namespace memproxyctl

#endif
