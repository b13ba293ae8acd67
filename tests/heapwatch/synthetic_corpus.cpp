#include "synthetic_corpus.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace memproxy::heapwatch::corpus {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kHour = 3600.0;

constexpr std::array<PatternInfo, 12> kPatterns{{
    {Pattern::steady, "steady", false},
    {Pattern::warmup_plateau, "warmup_plateau", false},
    {Pattern::sawtooth, "sawtooth", false},
    {Pattern::high_water, "high_water", false},
    {Pattern::step, "step", false},
    {Pattern::fragmentation, "fragmentation", false},
    {Pattern::fast_leak, "fast_leak", true},
    {Pattern::slow_leak, "slow_leak", true},
    {Pattern::thread_leak, "thread_leak", true},
    {Pattern::sawtooth_leak, "sawtooth_leak", true},
    {Pattern::late_leak, "late_leak", true},
    {Pattern::rapid_leak, "rapid_leak", true},
}};

// SplitMix64: tiny, and the same numbers on every platform and library
// (std::normal_distribution is not). The seed goes through the mixer first:
// SplitMix64 walks one sequence by a fixed increment, so seeds that set its
// position linearly would all read the same numbers a few steps apart.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(mix(seed + 0x9E3779B97F4A7C15ULL)) {}
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t next() { return mix(state_ += 0x9E3779B97F4A7C15ULL); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal() {
    double u1 = std::max(uniform(), 1e-300);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * uniform());
  }

 private:
  uint64_t state_;
};

// An Ornstein-Uhlenbeck fluctuation sampled once per step: correlated over
// `tau_s`, standard deviation `sigma`.
class Fluctuation {
 public:
  Fluctuation(double tau_s, double sigma, double step_s)
      : phi_(std::exp(-step_s / tau_s)), scale_(sigma * std::sqrt(1 - phi_ * phi_)), value_(0) {}
  double next(Rng& rng) { return value_ = phi_ * value_ + scale_ * rng.normal(); }

 private:
  double phi_, scale_, value_;
};

// The memory a busy process has in flight besides its steady heap: requests,
// buffers and the occasional large temporary, as a fraction of the heap.
class Churn {
 public:
  Churn(double heap_bytes, double step_s)
      : mean_(0.04 * heap_bytes),
        heap_(heap_bytes),
        step_s_(step_s),
        fast_(3.0, 0.005 * heap_bytes, step_s),
        slow_(120.0, 0.01 * heap_bytes, step_s) {}

  double next(Rng& rng) {
    double v = mean_ + fast_.next(rng) + slow_.next(rng);
    if (burst_left_s_ > 0) {
      burst_left_s_ -= step_s_;
      v += burst_bytes_;
    } else if (rng.uniform() < step_s_ / 300.0) {
      burst_bytes_ = rng.uniform(0.02, 0.10) * heap_;
      burst_left_s_ = rng.uniform(1, 5);
      v += burst_bytes_;
    }
    return std::max(0.0, v);
  }

 private:
  double mean_, heap_, step_s_;
  Fluctuation fast_, slow_;
  double burst_bytes_ = 0, burst_left_s_ = 0;
};

// A cache that grows steadily to `amplitude` over a period that varies by
// +-20% and is then trimmed to a few percent of it.
class Sawtooth {
 public:
  Sawtooth(Rng& rng, double amplitude, double period_s)
      : amplitude_(amplitude), period_s_(period_s), phase_s_(rng.uniform(0, period_s)) {
    begin_tooth(rng);
  }

  double at(Rng& rng, double step_s) {
    phase_s_ += step_s;
    if (phase_s_ >= tooth_s_) {
      phase_s_ -= tooth_s_;
      begin_tooth(rng);
    }
    return floor_ + (amplitude_ - floor_) * phase_s_ / tooth_s_;
  }

 private:
  void begin_tooth(Rng& rng) {
    tooth_s_ = period_s_ * rng.uniform(0.8, 1.2);
    floor_ = amplitude_ * rng.uniform(0.0, 0.05);
    phase_s_ = std::min(phase_s_, tooth_s_ * 0.999);
  }

  double amplitude_, period_s_, phase_s_;
  double tooth_s_ = 1, floor_ = 0;
};

// Resident memory: live bytes plus the allocator's fixed overhead, and freed
// memory returned to the system only gradually.
class Resident {
 public:
  Resident(double overhead, double decay_per_s) : overhead_(overhead), decay_per_s_(decay_per_s) {}
  double next(double live, double extra_overhead, double step_s) {
    rss_ = std::max(live + overhead_ + extra_overhead, rss_ - decay_per_s_ * step_s);
    return rss_;
  }

 private:
  double overhead_, decay_per_s_, rss_ = 0;
};

uint64_t bytes(double v) { return static_cast<uint64_t>(std::llround(std::max(0.0, v))); }

}  // namespace

std::span<const PatternInfo> all_patterns() { return kPatterns; }

const PatternInfo& info(Pattern pattern) {
  for (const PatternInfo& p : kPatterns) {
    if (p.pattern == pattern) return p;
  }
  throw std::invalid_argument("unknown pattern");
}

SyntheticSeries generate(Pattern pattern, uint64_t seed, int64_t duration_s, int64_t interval_s) {
  Rng rng(Rng::mix(seed) ^ (static_cast<uint64_t>(pattern) << 56));
  const double step = static_cast<double>(interval_s);
  const double duration = static_cast<double>(duration_s);
  SyntheticSeries series{pattern, seed, 0, 0, {}};
  series.started_unix_ns = (1'750'000'000LL + static_cast<int64_t>(seed % 60)) * 1'000'000'000LL + 250'000'000LL;

  double heap = rng.uniform(32, 256) * kMiB;
  if (pattern == Pattern::slow_leak) heap = 100 * kMiB;
  if (pattern == Pattern::sawtooth_leak) heap = rng.uniform(64, 128) * kMiB;

  const int threads = pattern == Pattern::thread_leak ? 8 : 1;
  std::vector<Churn> churn;
  for (int i = 0; i < threads; ++i) churn.emplace_back(heap / threads, step);
  Resident resident(rng.uniform(4, 16) * kMiB, 0.001 * heap);

  // Pattern parameters, drawn whether used or not so that a pattern's
  // parameters do not depend on another's.
  const double warmup_tau = rng.uniform(120, 600);
  const double sawtooth_period = rng.uniform(240, 720);
  Sawtooth cache(rng, rng.uniform(0.3, 1.0) * heap, sawtooth_period);
  Sawtooth big_cache(rng, rng.uniform(0.5, 1.0) * heap, sawtooth_period);
  const double burst_every = rng.uniform(60, 300);
  const double burst_bytes = rng.uniform(0.5, 2.0) * heap;
  const double burst_hold = rng.uniform(10, 60);
  const double step_at = rng.uniform(0.15, 0.45) * duration;
  const double step_bytes = rng.uniform(0.1, 0.5) * heap;
  const double fragmentation_rate = rng.uniform(20, 60) * kMiB / kHour;
  const double fast_rate = rng.uniform(20, 100) * kMiB / kHour;
  const double thread_rate = rng.uniform(2, 8) * kMiB / kHour;
  const double sawtooth_leak_rate = rng.uniform(5, 20) * kMiB / kHour;
  const double late_at = rng.uniform(0.3, 0.5) * duration;
  const double late_rate = rng.uniform(10, 40) * kMiB / kHour;
  const double rapid_rate = rng.uniform(0.10, 0.60) * heap / 600.0;
  double next_burst = rng.uniform(0, burst_every);
  if (pattern == Pattern::late_leak) series.leak_from_s = static_cast<int64_t>(late_at);

  uint64_t allocations = 0;
  uint64_t frees = 0;
  uint64_t peak = 0;
  series.samples.reserve(static_cast<std::size_t>(duration_s / interval_s + 1));
  for (double t = 0; t <= duration; t += step) {
    double noise = 0;
    for (Churn& c : churn) noise += c.next(rng);
    double live = heap + noise;
    double extra_overhead = 0;
    switch (pattern) {
      case Pattern::steady:
        break;
      case Pattern::warmup_plateau:
        live = heap * (1 - std::exp(-t / warmup_tau)) + noise;
        break;
      case Pattern::sawtooth:
        live += cache.at(rng, step);
        break;
      case Pattern::high_water:
        if (t >= next_burst + burst_hold) next_burst += rng.uniform(0.5, 1.5) * burst_every;
        if (t >= next_burst) live += burst_bytes;
        break;
      case Pattern::step:
        live += step_bytes * std::clamp((t - step_at) / 10.0, 0.0, 1.0);
        break;
      case Pattern::fragmentation:
        extra_overhead = fragmentation_rate * t;
        break;
      case Pattern::fast_leak:
        live += fast_rate * t;
        break;
      case Pattern::slow_leak:
        live += 1 * kMiB / kHour * t;
        break;
      case Pattern::thread_leak:
        live += thread_rate * t;
        break;
      case Pattern::sawtooth_leak:
        live += big_cache.at(rng, step) + sawtooth_leak_rate * t;
        break;
      case Pattern::late_leak:
        live += late_rate * std::max(0.0, t - late_at);
        break;
      case Pattern::rapid_leak:
        live += rapid_rate * t;
        break;
    }
    Reading s;
    s.unix_ns = series.started_unix_ns + static_cast<int64_t>(t * 1e9);
    s.live_bytes = bytes(live);
    s.rss_bytes = bytes(resident.next(live, extra_overhead, step));
    peak = std::max(peak, s.live_bytes);
    s.peak_bytes = peak;
    allocations += 1000 + rng.next() % 1000;
    s.allocations = allocations;
    frees = std::max(frees, allocations - std::min<uint64_t>(allocations, s.live_bytes / 4096));
    s.frees = frees;
    series.samples.push_back(s);
  }
  return series;
}

}  // namespace memproxy::heapwatch::corpus
