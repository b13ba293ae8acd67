#include "heapwatch/analysis/site_history.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <unordered_map>

namespace memproxy::heapwatch {

namespace {

constexpr size_t kMaxSnapshots = 1440;

SiteHistoryLimits clamped(SiteHistoryLimits l) {
  l.snapshots = std::clamp<size_t>(l.snapshots, 2, kMaxSnapshots);
  l.tracked_sites = std::clamp<size_t>(l.tracked_sites, 1, heap::kSampleCapacity);
  l.snapshot_interval_ns = std::max<int64_t>(l.snapshot_interval_ns, 1);
  l.warm_up_ns = std::max<int64_t>(l.warm_up_ns, 0);
  return l;
}

bool all_zero(const std::vector<double>& values) {
  return std::all_of(values.begin(), values.end(), [](double v) { return v == 0; });
}

}  // namespace

SiteHistory::SiteHistory(SiteHistoryLimits limits, SiteGrowthParameters growth)
    : limits_(clamped(limits)), growth_(growth) {}

bool SiteHistory::snapshot_due(int64_t unix_ns) const {
  return times_.empty() || unix_ns < times_.back() || unix_ns - times_.back() >= limits_.snapshot_interval_ns;
}

bool SiteHistory::observe(const heap::SampleSection& section, int64_t unix_ns, bool fresh) {
  const bool due = snapshot_due(unix_ns);
  if (!due && !fresh) return false;
  // Loaded before the records: a record written while they are read raises
  // the count past this value, so the next reading takes it.
  const uint64_t changes = __atomic_load_n(&section.changes, __ATOMIC_ACQUIRE);
  if (read_ && changes == changes_) {
    if (due) {
      if (!times_.empty() && unix_ns < times_.back()) restart();
      snapshot(unix_ns);
    }
    return false;
  }
  const std::vector<heap::Sample> samples = heap::read_samples(section);
  update(samples, unix_ns);
  read_ = true;
  changes_ = changes;
  return true;
}

void SiteHistory::update(std::span<const heap::Sample> samples, int64_t unix_ns) {
  if (!times_.empty() && unix_ns < times_.back()) restart();
  const SiteAggregate reading = aggregate_sites(samples);
  samples_ = reading.samples;
  rejected_samples_ = reading.rejected_samples;
  estimated_bytes_ = reading.estimated_bytes;
  sites_ = reading.sites.size();
  read_unix_ns_ = unix_ns;
  refresh(reading, unix_ns);
  admit(reading, unix_ns);
  if (snapshot_due(unix_ns)) snapshot(unix_ns);
}

void SiteHistory::resume(std::span<const KeptSite> kept) {
  const int64_t before = times_.empty() ? std::numeric_limits<int64_t>::max() : times_.front();
  std::vector<int64_t> kept_times;
  for (const KeptSite& k : kept) {
    for (const SitePoint& p : k.series) {
      if (p.unix_ns < before) kept_times.push_back(p.unix_ns);
    }
  }
  std::sort(kept_times.begin(), kept_times.end());
  kept_times.erase(std::unique(kept_times.begin(), kept_times.end()), kept_times.end());
  if (kept_times.empty()) return;

  // A kept site's values over the last of kept_times; nullopt when its
  // series is not such a suffix (then it cannot go on).
  auto values_of = [&](const KeptSite& k) -> std::optional<std::vector<double>> {
    std::vector<SitePoint> points;
    for (const SitePoint& p : k.series) {
      if (p.unix_ns < before) points.push_back(p);
    }
    if (points.empty() || points.size() > kept_times.size()) return std::nullopt;
    const size_t offset = kept_times.size() - points.size();
    std::vector<double> values;
    values.reserve(points.size());
    for (size_t i = 0; i < points.size(); ++i) {
      const double v = points[i].estimated_bytes;
      if (points[i].unix_ns != kept_times[offset + i] || !(v >= 0) || v > static_cast<double>(kMaxPlausibleBytes)) {
        return std::nullopt;
      }
      values.push_back(v);
    }
    return values;
  };
  std::unordered_map<std::span<const uint64_t>, const KeptSite*, StackHash, StackEqual> by_stack;
  for (const KeptSite& k : kept) {
    if (!k.stack.empty() && k.stack.size() <= heap::kMaxFrames) by_stack.emplace(k.stack, &k);
  }

  const bool fresh = times_.empty();
  for (Tracked& t : tracked_) {
    // A site that joined after this history's first snapshot has a gap before it.
    if (t.values.size() != times_.size()) continue;
    auto it = by_stack.find(t.now.stack);
    if (it == by_stack.end()) continue;
    const std::optional<std::vector<double>> values = values_of(*it->second);
    if (!values) continue;
    t.values.insert(t.values.begin(), values->begin(), values->end());
    t.first_seen_unix_ns = std::min(t.first_seen_unix_ns, it->second->first_seen_unix_ns);
    by_stack.erase(it);
  }
  if (fresh) {
    // In the order kept (the growing first, then the largest), each stack once.
    for (const KeptSite& k : kept) {
      if (tracked_.size() >= limits_.tracked_sites) break;
      auto it = by_stack.find(k.stack);
      if (it == by_stack.end() || it->second != &k) continue;
      by_stack.erase(it);
      std::optional<std::vector<double>> values = values_of(k);
      if (!values) continue;
      Tracked t;
      t.now.stack = k.stack;
      t.first_seen_unix_ns = k.first_seen_unix_ns;
      t.values = std::move(*values);
      tracked_.push_back(std::move(t));
    }
    // Until the next reading a kept site stands at its last snapshot.
    for (Tracked& t : tracked_) t.now.estimated_bytes = t.values.back();
  }
  times_.insert(times_.begin(), kept_times.begin(), kept_times.end());
  // Within `snapshots`, dropping the oldest.
  if (times_.size() > limits_.snapshots) times_.erase(times_.begin(), times_.end() - static_cast<ptrdiff_t>(limits_.snapshots));
  for (Tracked& t : tracked_) {
    if (t.values.size() > times_.size()) t.values.erase(t.values.begin(), t.values.end() - static_cast<ptrdiff_t>(times_.size()));
  }
  drop_gone();
}

void SiteHistory::restart() {
  tracked_.clear();
  times_.clear();
}

// The tracked sites take the reading's values, 0 where it has no sample.
void SiteHistory::refresh(const SiteAggregate& reading, int64_t) {
  std::unordered_map<std::span<const uint64_t>, size_t, StackHash, StackEqual> in_reading;
  in_reading.reserve(reading.sites.size());
  for (size_t i = 0; i < reading.sites.size(); ++i) in_reading.emplace(reading.sites[i].stack, i);
  for (Tracked& t : tracked_) {
    auto it = in_reading.find(t.now.stack);
    if (it != in_reading.end()) {
      t.now = reading.sites[it->second];
    } else {
      Stack stack = std::move(t.now.stack);
      t.now = CallSite{};
      t.now.stack = std::move(stack);
    }
  }
  drop_gone();
}

// Gone for the whole window: nothing left to show or to judge.
void SiteHistory::drop_gone() {
  std::erase_if(tracked_, [](const Tracked& t) { return t.now.estimated_bytes == 0 && all_zero(t.values); });
}

void SiteHistory::admit(const SiteAggregate& reading, int64_t unix_ns) {
  std::unordered_map<std::span<const uint64_t>, size_t, StackHash, StackEqual> is_tracked;
  is_tracked.reserve(tracked_.size());
  for (size_t i = 0; i < tracked_.size(); ++i) is_tracked.emplace(tracked_[i].now.stack, i);

  // The tracked sites that may be displaced, fewest bytes first (and, of
  // equal bytes, the one with the shortest history).
  std::vector<size_t> victims(tracked_.size());
  for (size_t i = 0; i < victims.size(); ++i) victims[i] = i;
  std::sort(victims.begin(), victims.end(), [this](size_t a, size_t b) {
    const Tracked& x = tracked_[a];
    const Tracked& y = tracked_[b];
    if (x.now.estimated_bytes != y.now.estimated_bytes) return x.now.estimated_bytes < y.now.estimated_bytes;
    if (x.values.size() != y.values.size()) return x.values.size() < y.values.size();
    return x.now.stack < y.now.stack;
  });
  size_t next_victim = 0;

  const size_t candidates = std::min(reading.sites.size(), limits_.tracked_sites);
  for (size_t c = 0; c < candidates; ++c) {
    const CallSite& site = reading.sites[c];
    if (is_tracked.count(site.stack) != 0) continue;
    Tracked entry;
    entry.now = site;
    entry.now.stack.shrink_to_fit();
    entry.first_seen_unix_ns = unix_ns;
    entry.values.reserve(limits_.snapshots);
    if (tracked_.size() < limits_.tracked_sites) {
      if (tracked_.capacity() < limits_.tracked_sites) tracked_.reserve(limits_.tracked_sites);
      tracked_.push_back(std::move(entry));
      continue;
    }
    // Candidates come largest first and victims smallest first: once a
    // candidate cannot displace the next victim, none after it can.
    if (next_victim == victims.size() || tracked_[victims[next_victim]].now.estimated_bytes >= site.estimated_bytes) {
      break;
    }
    Tracked& victim = tracked_[victims[next_victim++]];
    is_tracked.erase(victim.now.stack);  // its key points into the stack about to be freed
    victim = std::move(entry);
  }
}

void SiteHistory::snapshot(int64_t unix_ns) {
  if (times_.capacity() < limits_.snapshots) times_.reserve(limits_.snapshots);
  if (times_.size() == limits_.snapshots) times_.erase(times_.begin());
  times_.push_back(unix_ns);
  for (Tracked& t : tracked_) {
    if (t.values.size() == limits_.snapshots) t.values.erase(t.values.begin());
    t.values.push_back(t.now.estimated_bytes);
  }
  drop_gone();
}

std::vector<RankedSite> SiteHistory::ranked(size_t limit) const {
  std::vector<RankedSite> out;
  for (const Tracked& t : tracked_) {
    RankedSite r;
    r.site = t.now;
    r.first_seen_unix_ns = t.first_seen_unix_ns;
    const size_t offset = times_.size() - t.values.size();
    r.series.reserve(t.values.size());
    for (size_t i = 0; i < t.values.size(); ++i) r.series.push_back({times_[offset + i], t.values[i]});
    // Past the warm-up; possibly none of them.
    size_t judged_from = 0;
    if (started_unix_ns_ != 0) {
      const int64_t warm = started_unix_ns_ + limits_.warm_up_ns;
      while (judged_from < r.series.size() && r.series[judged_from].unix_ns < warm) ++judged_from;
    }
    r.growth = estimate_growth(std::span<const SitePoint>(r.series).subspan(judged_from), growth_);
    if (r.site.estimated_bytes > 0) out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(), [](const RankedSite& a, const RankedSite& b) {
    if (a.growth.growing != b.growth.growing) return a.growth.growing;
    if (a.growth.growing && a.growth.bytes_per_hour != b.growth.bytes_per_hour) {
      return a.growth.bytes_per_hour > b.growth.bytes_per_hour;
    }
    if (a.site.estimated_bytes != b.site.estimated_bytes) return a.site.estimated_bytes > b.site.estimated_bytes;
    return a.site.stack < b.site.stack;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

size_t SiteHistory::memory_bytes() const {
  size_t bytes = sizeof(*this) + tracked_.capacity() * sizeof(Tracked) + times_.capacity() * sizeof(int64_t);
  for (const Tracked& t : tracked_) {
    bytes += t.now.stack.capacity() * sizeof(uint64_t) + t.values.capacity() * sizeof(double);
  }
  return bytes;
}

size_t SiteHistory::memory_bound(const SiteHistoryLimits& limits) {
  const SiteHistoryLimits l = clamped(limits);
  return sizeof(SiteHistory) + l.snapshots * sizeof(int64_t) +
         l.tracked_sites * (sizeof(Tracked) + heap::kMaxFrames * sizeof(uint64_t) + l.snapshots * sizeof(double));
}

}  // namespace memproxy::heapwatch
