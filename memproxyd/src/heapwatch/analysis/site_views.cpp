#include "heapwatch/analysis/site_views.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace memproxy::heapwatch {

namespace hq = memproxy::heap_query;

namespace {

uint64_t rounded(double x) {
  if (!(x > 0)) return 0;
  // 2^64 as a double; every double below it converts.
  if (x >= 18446744073709551616.0) return UINT64_MAX;
  return static_cast<uint64_t>(x + 0.5);
}

}  // namespace

std::vector<hq::FrameView> address_frames(const Stack& stack) {
  std::vector<hq::FrameView> frames;
  frames.reserve(stack.size());
  for (uint64_t pc : stack) {
    hq::FrameView f;
    f.address = pc;
    frames.push_back(std::move(f));
  }
  return frames;
}

hq::SiteView to_site_view(const RankedSite& r, std::vector<hq::FrameView> frames) {
  hq::SiteView v;
  v.frames = std::move(frames);
  v.estimated_bytes = rounded(r.site.estimated_bytes);
  v.estimated_blocks = rounded(r.site.estimated_blocks);
  v.samples = r.site.samples;
  v.truncated_samples = r.site.truncated_samples;
  v.growth_bytes_per_hour = std::isfinite(r.growth.bytes_per_hour) ? r.growth.bytes_per_hour : 0;
  v.growth_confidence = std::isfinite(r.growth.confidence) ? r.growth.confidence : 0;
  v.growing = r.growth.growing;
  v.shrinking = r.growth.shrinking;
  v.first_seen_unix_ns = r.first_seen_unix_ns;
  v.oldest_allocation_unix_ns = r.site.oldest_allocation_unix_ns;
  v.newest_allocation_unix_ns = r.site.newest_allocation_unix_ns;
  v.series.reserve(r.series.size());
  for (const SitePoint& p : r.series) v.series.push_back({p.unix_ns, rounded(p.estimated_bytes)});
  hq::limit_site(v);
  return v;
}

std::vector<KeptSite> kept_sites_of(const hq::SitesAnswer& answer) {
  std::vector<KeptSite> kept;
  kept.reserve(answer.sites.size());
  for (const hq::SiteView& v : answer.sites) {
    KeptSite k;
    for (const hq::FrameView& f : v.frames) {
      if (!f.inlined) k.stack.push_back(f.address);
    }
    k.first_seen_unix_ns = v.first_seen_unix_ns;
    k.series.reserve(v.series.size());
    for (const hq::SitePointView& p : v.series) k.series.push_back({p.unix_ns, static_cast<double>(p.estimated_bytes)});
    kept.push_back(std::move(k));
  }
  return kept;
}

void reconcile_with_verdict(std::vector<RankedSite>& sites, VerdictState process) {
  if (process != VerdictState::stable) {
    for (RankedSite& r : sites) r.growth.shrinking = false;
    return;
  }
  double added = 0, taken_back = 0;
  for (const RankedSite& r : sites) {
    if (r.growth.growing) added += r.growth.bytes_per_hour;
    if (r.growth.shrinking) taken_back -= r.growth.bytes_per_hour;
  }
  // The heap is measured exactly, the sites' slopes are sampled estimates:
  // a migration from one site to another shows them a few percent apart.
  if (added <= 0 || taken_back < kOffsetShare * added) {
    for (RankedSite& r : sites) r.growth.growing = r.growth.shrinking = false;
  }
  std::stable_partition(sites.begin(), sites.end(), [](const RankedSite& r) { return r.growth.growing; });
}

hq::SitesAnswer sites_answer(const hq::Process& process, const SiteHistory& history, uint64_t sample_mean_bytes,
                             size_t limit, const Symbolize& symbolize, VerdictState verdict) {
  hq::SitesAnswer a;
  a.process = process;
  a.unix_ns = history.read_unix_ns();
  a.sample_mean_bytes = sample_mean_bytes;
  a.samples = history.samples();
  a.rejected_samples = history.rejected_samples();
  a.estimated_bytes = rounded(history.estimated_bytes());
  a.sites_total = history.sites();
  std::vector<RankedSite> ranked = history.ranked(std::min(limit, hq::kMaxSites));
  reconcile_with_verdict(ranked, verdict);
  a.truncated = ranked.size() < history.sites();
  a.sites.reserve(ranked.size());
  for (const RankedSite& r : ranked) {
    a.sites.push_back(to_site_view(r, symbolize ? symbolize(r.site.stack) : address_frames(r.site.stack)));
  }
  return a;
}

}  // namespace memproxy::heapwatch
