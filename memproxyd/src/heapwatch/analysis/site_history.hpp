// One process's call sites over time: the sites of its latest reading, a
// bounded history of snapshots of the largest ones (one per
// snapshot_interval, the last `snapshots`), and from it each site's growth,
// so that the sites responsible for a growing heap can be named.
//
// Bounds, whatever the process writes:
// - at most `tracked_sites` sites are kept, each with one stack of at most
//   heap::kMaxFrames addresses and at most `snapshots` values; memory_bytes()
//   never exceeds memory_bound(limits), about 300 KiB for the defaults (and
//   a tenth of that for stacks of a usual depth). A reading holds up to
//   heap::kSampleCapacity samples and their sites while it is taken, never
//   longer.
// - After every reading the tracked sites include the `tracked_sites`
//   largest of it (up to ties): a site enters by displacing the tracked
//   site with the fewest bytes now, if it has more. A displaced site loses its history
//   (it was the smallest); a site whose values are all 0 leaves on its own.
//
// Cost: observe() is one load of the section's change count unless a
// snapshot is due or a fresh reading is asked for; then it reads the
// records only if that count moved since the last reading (the process's
// library raises it after each record it writes), otherwise the last
// reading stands for the snapshot. Owned by one thread: nothing here locks.
#ifndef MEMPROXYD_HEAPWATCH_SITE_HISTORY_HPP
#define MEMPROXYD_HEAPWATCH_SITE_HISTORY_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "heapwatch/analysis/call_sites.hpp"
#include "heapwatch/analysis/site_growth.hpp"
#include "memproxy/heap_reader.hpp"

namespace memproxy::heapwatch {

struct SiteHistoryLimits {
  int64_t snapshot_interval_ns = int64_t{60} * 1000000000;
  size_t snapshots = 60;       // per site, clamped to [2, 1440]: the growth is judged over the last hour
  size_t tracked_sites = 256;  // clamped to [1, heap::kSampleCapacity]
  // Snapshots this soon after the process started do not count toward a
  // site's growth (they are still shown): the verdict's fast warm-up.
  int64_t warm_up_ns = 0;
};

struct RankedSite {
  CallSite site;                   // as of the latest reading
  SiteGrowth growth;
  int64_t first_seen_unix_ns = 0;  // when this history started tracking it
  std::vector<SitePoint> series;   // its snapshots, oldest first
};

// A site as an earlier history of the same process had it (kept in the
// store): its stack, since when it was tracked, its snapshots oldest first.
struct KeptSite {
  Stack stack;
  int64_t first_seen_unix_ns = 0;
  std::vector<SitePoint> series;
};

class SiteHistory {
 public:
  explicit SiteHistory(SiteHistoryLimits limits = {}, SiteGrowthParameters growth = {});

  // Reads `section` when a snapshot is due or `fresh` (a query wants the
  // sites as they are now), unless its change count is the one of the last
  // reading; takes the snapshot when due. True when the records were read.
  bool observe(const heap::SampleSection& section, int64_t unix_ns, bool fresh = false);

  // Takes a reading made by the caller at `unix_ns`, and the snapshot when
  // due. A clock that stepped back before the last snapshot restarts the
  // history: snapshot times stay strictly increasing.
  void update(std::span<const heap::Sample> samples, int64_t unix_ns);

  bool snapshot_due(int64_t unix_ns) const;

  // When the process started (0: unknown, no warm-up).
  void set_started(int64_t unix_ns) { started_unix_ns_ = unix_ns; }

  // Goes on from an earlier history of the same process (a restarted
  // daemon's): the kept snapshots older than this history's first one come
  // before it, for the sites tracked since this history's first snapshot
  // (or, while it has none, for every kept site, within tracked_sites).
  // What does not fit the invariants (times strictly increasing, each
  // site's values the last of them, at most `snapshots`) is left out, so
  // whatever was kept cannot break this history. O(K log K + T) for K kept
  // points.
  void resume(std::span<const KeptSite> kept);

  // The sites with live bytes now, each's growth estimated from its
  // snapshots after the warm-up: the growing ones first,
  // fastest first, then the others by estimated bytes, largest first; equal
  // keys by stack. At most `limit`. O(T * n^2) for T tracked sites of n snapshots.
  std::vector<RankedSite> ranked(size_t limit) const;

  // The latest reading's totals, of every site (tracked or not).
  uint64_t samples() const { return samples_; }
  uint64_t rejected_samples() const { return rejected_samples_; }
  double estimated_bytes() const { return estimated_bytes_; }
  size_t sites() const { return sites_; }
  int64_t read_unix_ns() const { return read_unix_ns_; }

  size_t tracked() const { return tracked_.size(); }
  size_t snapshots() const { return times_.size(); }
  // What this history holds on the heap and in itself, in bytes.
  size_t memory_bytes() const;
  static size_t memory_bound(const SiteHistoryLimits& limits);

 private:
  struct Tracked {
    CallSite now;                  // the latest reading's values, 0 when it had no sample here
    int64_t first_seen_unix_ns = 0;
    std::vector<double> values;    // one per snapshot, the last values.size() of times_
  };

  void refresh(const SiteAggregate& reading, int64_t unix_ns);
  void admit(const SiteAggregate& reading, int64_t unix_ns);
  void snapshot(int64_t unix_ns);
  void drop_gone();
  void restart();

  SiteHistoryLimits limits_;
  SiteGrowthParameters growth_;
  std::vector<Tracked> tracked_;
  std::vector<int64_t> times_;  // snapshot times, oldest first, strictly increasing
  bool read_ = false;
  uint64_t changes_ = 0;        // the section's change count at the last reading
  uint64_t samples_ = 0;
  uint64_t rejected_samples_ = 0;
  double estimated_bytes_ = 0;
  size_t sites_ = 0;
  int64_t read_unix_ns_ = 0;
  int64_t started_unix_ns_ = 0;
};

}  // namespace memproxy::heapwatch

#endif
