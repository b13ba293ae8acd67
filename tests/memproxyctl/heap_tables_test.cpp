// The heap views' text: units, the top and leaks tables, the verdict line,
// the CSV, the sort orders and the times --since and --until take.
#include <gtest/gtest.h>

#include "heap_tables.hpp"
#include "human_units.hpp"
#include "time_spec.hpp"

namespace {

using namespace memproxyctl;
namespace hq = memproxy::heap_query;

hq::View view(pid_t pid, const std::string& program, uint64_t live) {
  hq::View v;
  v.process.pid = pid;
  v.process.user = "alice";
  v.process.program = program;
  v.latest.live_bytes = live;
  v.latest.peak_bytes = live * 2;
  v.latest.rss_bytes = live * 3;
  v.allocations_per_second = 12.4;
  return v;
}

TEST(HumanUnits, Bytes) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1024), "1.0 KiB");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(1000 * 1024), "1000 KiB");
  EXPECT_EQ(human_bytes(uint64_t{5} << 30), "5.0 GiB");
  EXPECT_EQ(human_bytes(UINT64_MAX), "16.0 EiB");
  EXPECT_EQ(human_signed_bytes(-2048), "-2.0 KiB");
  EXPECT_EQ(human_signed_bytes(1e300), "+16.0 EiB");
  EXPECT_EQ(human_signed_bytes(0.2), "0 B");
}

TEST(HumanUnits, RatesAndDurations) {
  EXPECT_EQ(human_rate(0), "0");
  EXPECT_EQ(human_rate(950), "950");
  EXPECT_EQ(human_rate(12345), "12.3k");
  EXPECT_EQ(human_rate(4.5e6), "4.5M");
  EXPECT_EQ(human_duration(45), "45s");
  EXPECT_EQ(human_duration(723), "12m 3s");
  EXPECT_EQ(human_duration(3 * 3600), "3h");
  EXPECT_EQ(human_duration(3 * 86400 + 4 * 3600 + 5), "3d 4h");
  EXPECT_EQ(clock_time(0, 0, false), "00:00:00");
  EXPECT_EQ(clock_time(86400LL * 1000000000 * 40, -3600, true), "02-09 23:00");
}

TEST(TopTable, HeaderAndOneLineExactly) {
  std::vector<std::string> lines = top_lines({view(42, "server", 1536)}, 80);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "    PID USER         LIVE     PEAK ALLOC/S  GROWTH/H         VERDICT PROGRAM");
  EXPECT_EQ(lines[1], "     42 alice     1.5 KiB  3.0 KiB      12         - not enough data server");
}

TEST(TopTable, ShowsTheResidentSetItCanBeSortedBy) {
  std::vector<hq::View> views{view(1, "small", 1024), view(2, "big", 4096)};
  sort_views(views, *top_order("rss"));
  const std::vector<std::string> lines = top_lines(views, 100, TopOrder::rss);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find(" RSS "), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find(" 12.0 KiB "), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("  3.0 KiB "), std::string::npos) << lines[2];
}

TEST(TopTable, LongProgramNamesAreShortenedToTheWidth) {
  std::vector<std::string> lines = top_lines({view(1, std::string(100, 'p'), 1)}, 80);
  EXPECT_EQ(lines[1].size(), 80u);
  EXPECT_EQ(lines[1].back(), '~');
}

TEST(TopTable, SortOrders) {
  std::vector<hq::View> views{view(3, "b", 10), view(1, "c", 30), view(2, "a", 20)};
  auto pids = [&] {
    std::vector<pid_t> out;
    for (const auto& v : views) out.push_back(v.process.pid);
    return out;
  };
  sort_views(views, *top_order("live"));
  EXPECT_EQ(pids(), (std::vector<pid_t>{1, 2, 3}));
  sort_views(views, *top_order("pid"));
  EXPECT_EQ(pids(), (std::vector<pid_t>{1, 2, 3}));
  sort_views(views, *top_order("program"));
  EXPECT_EQ(pids(), (std::vector<pid_t>{2, 3, 1}));
  views[0].verdict.slope_bytes_per_hour = 5;
  sort_views(views, *top_order("growth"));
  EXPECT_EQ(views[0].process.pid, 2);
  EXPECT_FALSE(top_order("size"));
}

TEST(Verdict, OneLineForEachTrend) {
  hq::Verdict v;
  v.observed_s = 303;
  EXPECT_EQ(verdict_line(v), "verdict: not enough data (watched 5m 3s)");
  v.trend = "growing";
  v.finding = "growing";
  v.slope_bytes_per_hour = 1 << 20;
  v.confidence = 0.999;
  v.analysed_s = 7200;
  v.live_at_start_bytes = 10 << 20;
  v.live_now_bytes = 12 << 20;
  EXPECT_EQ(verdict_line(v), "verdict: growing, +1.0 MiB/h (confidence 99.9%, over 2h; live 10.0 MiB -> 12.0 MiB)");
  v.trend = "stable";
  v.finding = "plateau";
  v.fragmentation_growing = true;
  v.fragmentation_slope_bytes_per_hour = 2048;
  v.slope_bytes_per_hour = 0;
  EXPECT_EQ(verdict_line(v),
            "verdict: stable, 0 B/h (confidence 99.9%, over 2h; live 10.0 MiB -> 12.0 MiB; plateau); RSS grows "
            "+2.0 KiB/h beyond a heap that does not: memory outside the allocator we watch (a runtime's own arenas, "
            "mmap, thread stacks) or fragmentation, not a leak of the heap");
  v.trend = "growing";
  v.finding = "growing";
  v.slope_bytes_per_hour = 1 << 20;
  EXPECT_EQ(verdict_line(v),
            "verdict: growing, +1.0 MiB/h (confidence 99.9%, over 2h; live 10.0 MiB -> 12.0 MiB); RSS beyond the "
            "heap grows +2.0 KiB/h, more than an allocator's usual overhead on a growing heap: fragmentation, or "
            "memory outside the allocator we watch");
  v.fragmentation_growing = false;
  EXPECT_EQ(rss_beyond_heap_words(v), "");
  // Of a process that ended: the last verdict made while it ran, or none.
  EXPECT_EQ(verdict_line(v, true), "last verdict before it ended: growing, +1.0 MiB/h (confidence 99.9%, over 2h; "
                                   "live 10.0 MiB -> 12.0 MiB)");
  EXPECT_EQ(verdict_line(std::nullopt, true), "verdict: none, the process ended before it was judged");
  EXPECT_EQ(verdict_line(std::nullopt), "verdict: none");
}

TEST(Leaks, NoneIsOnePlainLine) { EXPECT_EQ(leak_lines({}, 80), std::vector<std::string>{"no process is growing"}); }

TEST(Leaks, TheEvidenceOfEachLeak) {
  hq::View v = view(7, "leaky", 1);
  v.verdict.trend = "growing";
  v.verdict.slope_bytes_per_hour = 1 << 20;
  v.verdict.confidence = 0.95;
  v.verdict.analysed_s = 900;
  v.verdict.live_at_start_bytes = 1 << 20;
  v.verdict.live_now_bytes = 2 << 20;
  std::vector<std::string> lines = leak_lines({v}, 80);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "    PID USER      GROWTH/H CONFIDENCE    OVER LIVE START LIVE NOW PROGRAM");
  EXPECT_EQ(lines[1], "      7 alice     +1.0 MiB      95.0%     15m    1.0 MiB  2.0 MiB leaky");
}

// Nothing growing is not all clear while a process is not judged: leaks
// counts them and says when each first verdict comes.
TEST(Leaks, TheNotJudgedAreCountedWithTheirFirstVerdict) {
  hq::View young = view(8, "young", 1);
  young.verdict.observed_s = 300;
  young.verdict.first_verdict_unix_ns = 1'700'000'000LL * 1'000'000'000;  // 22:13:20 UTC
  young.verdict.first_verdict_in_s = 1800;
  hq::View nohistory = view(9, "unjudged", 1);
  nohistory.verdict.observed_s = 60;
  const std::vector<std::string> lines = leaks_report({}, std::vector<hq::View>{young, nohistory}, 80, 3600);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "no judged process is growing, but 2 watched processes are not judged yet:");
  EXPECT_EQ(lines[1], "    PID USER      WATCHED       FIRST VERDICT PROGRAM");
  EXPECT_EQ(lines[2], "      8 alice          5m    in 30m, 23:13:20 young");
  EXPECT_EQ(lines[3], "      9 alice          1m   none (no history) unjudged");
  EXPECT_EQ(leaks_report({}, std::vector<hq::View>{}, 80, 0), std::vector<std::string>{"no process is growing"});
  EXPECT_EQ(leaks_report({}, std::nullopt, 80, 0), std::vector<std::string>{"no process is growing"});
}

TEST(TopTable, ANotJudgedProcessShowsWhenItWillBe) {
  hq::View v = view(42, "server", 1536);
  v.verdict.first_verdict_in_s = 1741;
  EXPECT_EQ(verdict_text(v.verdict), "judged in 30m");
  EXPECT_EQ(top_lines({v}, 80)[1], "     42 alice     1.5 KiB  3.0 KiB      12         -   judged in 30m server");
  v.verdict.first_verdict_in_s = 0;
  EXPECT_EQ(verdict_text(v.verdict), "not enough data");
  v.verdict.trend = "stable";
  v.verdict.first_verdict_in_s = 1741;  // never sent with a verdict; the verdict wins
  EXPECT_EQ(verdict_text(v.verdict), "stable");
}

// The time until a process's memory reaches what it may use: a column in
// top and leaks once some process has a forecast, and words in history.
TEST(TopTable, TheTimeToExhaustionIsAColumnOnlyWhenSomeProcessHasOne) {
  hq::View doomed = view(42, "server", 1536);
  doomed.verdict.trend = "growing";
  doomed.verdict.exhaustion_unix_ns = 1;
  doomed.verdict.exhaustion_in_s = 2820;
  doomed.verdict.memory_limit_bytes = 256u << 20;
  doomed.verdict.memory_limit_source = "cgroup memory.max";
  hq::View calm = view(43, "calm", 1);
  std::vector<std::string> lines = top_lines({doomed, calm}, 100);
  EXPECT_EQ(lines[0], "    PID USER         LIVE     PEAK ALLOC/S  GROWTH/H         VERDICT EXHAUSTS PROGRAM");
  EXPECT_EQ(lines[1], "     42 alice     1.5 KiB  3.0 KiB      12       0 B         growing      47m server");
  EXPECT_EQ(lines[2], "     43 alice         1 B      2 B      12         - not enough data        - calm");
  EXPECT_EQ(top_lines({calm}, 100)[0].find("EXHAUSTS"), std::string::npos);
  const std::vector<std::string> leaks = leak_lines({doomed}, 100);
  EXPECT_NE(leaks[0].find(" EXHAUSTS "), std::string::npos) << leaks[0];
  EXPECT_NE(leaks[1].find(" 47m "), std::string::npos) << leaks[1];
  EXPECT_EQ(exhaustion_words(doomed.verdict),
            "at its present growth its memory reaches what it may use, 256 MiB (cgroup memory.max), in 47m");
  doomed.verdict.memory_limit_source = "host";
  doomed.verdict.exhaustion_in_s = 0;
  EXPECT_EQ(exhaustion_words(doomed.verdict), "its memory has reached what it may use, 256 MiB (what the host has available)");
  EXPECT_EQ(exhaustion_words(calm.verdict), "");
  EXPECT_NE(verdict_line(doomed.verdict).find("; its memory has reached"), std::string::npos) << verdict_line(doomed.verdict);
}

TEST(History, Csv) {
  hq::Reading s{1'700'000'000'123'000'000, 1, 2, 3, 4, 5};
  EXPECT_EQ(history_csv({s}),
            "unix_ns,time,live_bytes,peak_bytes,rss_bytes,allocations,frees\n"
            "1700000000123000000,2023-11-14T22:13:20.123Z,1,2,3,4,5\n");
}

TEST(TimeSpec, SpansAbsoluteTimesAndErrors) {
  const int64_t now = 1'700'000'000LL * 1'000'000'000;
  auto at = [&](const std::string& text) { return std::get<int64_t>(parse_time_spec(text, now)); };
  EXPECT_EQ(at("now"), now);
  EXPECT_EQ(at("90s"), now - 90'000'000'000LL);
  EXPECT_EQ(at("1h30m"), now - 5400'000'000'000LL);
  EXPECT_EQ(at("2d"), now - 2 * 86400'000'000'000LL);
  EXPECT_EQ(at("1w"), now - 7 * 86400'000'000'000LL);
  EXPECT_EQ(at("@1600000000"), 1'600'000'000LL * 1'000'000'000);
  EXPECT_EQ(at("2023-11-14T22:13:20Z"), now);
  EXPECT_EQ(at("2023-11-14T22:13Z"), now - 20'000'000'000LL);
  for (const char* bad : {"", "1", "h", "1x", "yesterday", "@", "@-5", "2023-13-01T00:00Z", "2023-11-14T22:13:20+01"}) {
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_time_spec(bad, now))) << bad;
  }
}

}  // namespace
