// Answers of the daemon as the report's tests feed them to the renderer:
// a process, its samples, a verdict and call sites, all made up.
#ifndef MEMPROXY_TESTS_MEMPROXYCTL_REPORT_TEST_DATA_HPP
#define MEMPROXY_TESTS_MEMPROXYCTL_REPORT_TEST_DATA_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "memproxy/heap_query.hpp"

namespace report_test_data {

namespace hq = memproxy::heap_query;

inline constexpr int64_t kSecond = 1'000'000'000;
inline constexpr int64_t kStart = 1'790'000'000 * kSecond;  // 2026-09-21T14:13:20Z

// `count` samples a second apart from kStart, live growing by `step` a
// sample from 1 MiB, RSS 2 MiB above it.
inline hq::History history(size_t count, uint64_t step = 64 * 1024) {
  hq::History h;
  h.process.pid = 4242;
  h.process.start_ticks = 777;
  h.process.uid = 1000;
  h.process.user = "alice";
  h.process.program = "leaky";
  h.process.exe = "/usr/local/bin/leaky";
  h.process.started_unix_ns = kStart - 5 * kSecond;
  for (size_t i = 0; i < count; ++i) {
    hq::Reading s;
    s.unix_ns = kStart + static_cast<int64_t>(i) * kSecond;
    s.live_bytes = (1u << 20) + i * step;
    s.peak_bytes = s.live_bytes;
    s.rss_bytes = s.live_bytes + (2u << 20);
    h.samples.push_back(s);
  }
  hq::Verdict v;
  v.trend = hq::trend::kGrowing;
  v.finding = "growing";
  v.slope_bytes_per_hour = 1u << 20;
  v.confidence = 0.99;
  v.mann_kendall_z = 4.2;
  v.observed_s = 3600;
  v.analysed_s = 3000;
  v.live_at_start_bytes = 1u << 20;
  v.live_now_bytes = 3u << 20;
  h.verdict = v;
  return h;
}

inline hq::FrameView frame(const std::string& function, const std::string& file, uint32_t line, bool inlined = false) {
  hq::FrameView f;
  f.address = 0x401000 + line;
  f.function = function;
  f.file = file;
  f.line = line;
  f.object = "/usr/local/bin/leaky";
  f.object_offset = 0x1000 + line;
  f.inlined = inlined;
  return f;
}

// A site whose series has `points` snapshots a minute apart, growing by
// `growth` each.
inline hq::SiteView site(const std::string& function, const std::string& file, uint32_t line, size_t points,
                         uint64_t growth, bool growing) {
  hq::SiteView s;
  s.frames = {frame(function, file, line), frame("main", "main.c", 10)};
  s.estimated_bytes = (1u << 20) + points * growth;
  s.estimated_blocks = 64;
  s.samples = 3;
  s.growth_bytes_per_hour = static_cast<double>(growth) * 60;
  s.growth_confidence = growing ? 0.999 : 0.2;
  s.growing = growing;
  for (size_t i = 0; i < points; ++i) {
    s.series.push_back({kStart + static_cast<int64_t>(i) * 60 * kSecond, (1u << 20) + i * growth});
  }
  return s;
}

inline hq::SitesAnswer sites(const hq::History& h, std::vector<hq::SiteView> list) {
  hq::SitesAnswer a;
  a.process = h.process;
  a.unix_ns = kStart + 60 * kSecond;
  a.sample_mean_bytes = 512 * 1024;
  a.samples = 9;
  a.estimated_bytes = 5u << 20;
  a.sites_total = list.size();
  a.sites = std::move(list);
  return a;
}

}  // namespace report_test_data

#endif
