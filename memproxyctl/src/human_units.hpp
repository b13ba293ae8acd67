// Numbers as the heap views print them: bytes in binary units, rates,
// durations and clock times. Pure, so the views' output is testable.
#ifndef MEMPROXYCTL_HUMAN_UNITS_HPP
#define MEMPROXYCTL_HUMAN_UNITS_HPP

#include <cstdint>
#include <string>

namespace memproxyctl {

// "0 B", "1023 B", "1.0 KiB", "12.3 MiB", "1023 MiB", ... "16.0 EiB": at
// most 8 characters.
std::string human_bytes(uint64_t bytes);
// human_bytes with a sign for rates: "+1.5 MiB", "-12 B", "0 B".
std::string human_signed_bytes(double bytes);
// A count per second: "0", "950", "12.3k", "4.5M", "1.2G".
std::string human_rate(double per_second);
// "45s", "12m 3s", "5h 2m", "3d 4h".
std::string human_duration(int64_t seconds);
// A clock time `utc_offset_s` east of UTC: "HH:MM:SS", or "MM-DD HH:MM" when `with_date`.
std::string clock_time(int64_t unix_ns, int64_t utc_offset_s, bool with_date);
// The local time zone's offset from UTC at `unix_ns`, in seconds.
int64_t local_utc_offset_s(int64_t unix_ns);

}  // namespace memproxyctl

#endif
