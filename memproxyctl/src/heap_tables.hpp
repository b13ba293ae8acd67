// The heap views' text: the rows of `memproxyctl top` and `leaks`, a
// verdict in one line, history as CSV. Pure, so their output is tested
// exactly.
#ifndef MEMPROXYCTL_HEAP_TABLES_HPP
#define MEMPROXYCTL_HEAP_TABLES_HPP

#include <optional>
#include <string>
#include <vector>

#include "memproxy/heap_query.hpp"

namespace memproxyctl {

// What `top --sort` orders by: bytes, rates and growth biggest first; pid
// and program ascending.
enum class TopOrder { live, peak, rss, allocations, growth, pid, program };
inline constexpr const char* kTopOrderNames = "live, peak, rss, allocs, growth, pid, program";
std::optional<TopOrder> top_order(const std::string& name);
void sort_views(std::vector<memproxy::heap_query::View>& views, TopOrder order);

// The header and one line per process, each at most `width` columns (the
// program's name is shortened to fit); sorted by RSS, with an RSS column
// (left out otherwise, so that the table fits 80 columns).
std::vector<std::string> top_lines(const std::vector<memproxy::heap_query::View>& views, int width,
                                   TopOrder order = TopOrder::live);

// The growth column: the verdict's slope per hour, or "-" without enough data.
std::string growth_text(const memproxy::heap_query::Verdict& v);

// The verdict column of top: the trend, or for a process not judged yet
// whose first verdict is ahead, "judged in 35m" (minutes rounded up).
std::string verdict_text(const memproxy::heap_query::Verdict& v);

// What the growth of RSS beyond the live heap means, when the verdict says
// it grows ("" when not): beside a growing heap, more than an allocator's
// usual overhead; beside one that does not grow, memory outside the
// allocator we watch or fragmentation. Never a leak of the heap. The one
// wording of every view (top's verdict line, leaks, the report).
std::string rss_beyond_heap_words(const memproxy::heap_query::Verdict& v);

// The time until the process's memory reaches what it may use ("23m"),
// "-" without a forecast; and the same in words with the limit ("" without).
std::string exhaustion_text(const memproxy::heap_query::Verdict& v);
std::string exhaustion_words(const memproxy::heap_query::Verdict& v);

// "verdict: growing, +1.0 MiB/h (...)" and the like. Of a process that
// `ended`, the verdict is its last, made while it ran ("last verdict before
// it ended: ..."), and none when it ended before it was judged.
std::string verdict_line(const std::optional<memproxy::heap_query::Verdict>& v, bool ended = false);

// The leaks table (header and one line per process), or the one line
// saying that none grows.
std::vector<std::string> leak_lines(const std::vector<memproxy::heap_query::View>& leaks, int width);

// What `leaks` prints: the leaks table, or that no judged process grows;
// then, when the daemon says so, how many watched processes are not judged
// yet and when each first will be (clock times `utc_offset_s` east of
// UTC), soonest first. Without them, leak_lines().
std::vector<std::string> leaks_report(const std::vector<memproxy::heap_query::View>& leaks,
                                      const std::optional<std::vector<memproxy::heap_query::View>>& not_judged,
                                      int width, int64_t utc_offset_s);

// Then, of the processes that ended recently while growing (latest end
// first): a count, and a line each: "pid N (PROGRAM, user U) ended at
// TIME, HOW, growing +R/h with L live". Nothing when there are none.
std::vector<std::string> ended_growing_lines(const std::vector<memproxy::heap_query::View>& ended,
                                             int64_t utc_offset_s);

// "pid N (PROGRAM, user U): S samples from T to T", and whether the
// oldest were left out: the line above history's chart.
std::string history_heading(const memproxy::heap_query::History& h);

// unix_ns,time,live_bytes,peak_bytes,rss_bytes,allocations,frees with a header line.
std::string history_csv(const std::vector<memproxy::heap_query::Reading>& samples);

}  // namespace memproxyctl

#endif
