#include "heapwatch/analysis/call_sites.hpp"

#include <algorithm>
#include <unordered_map>

namespace memproxy::heapwatch {

namespace {

// The frames a stack is keyed by: the innermost heap::kMaxFrames.
std::span<const uint64_t> key_of(const heap::Sample& s) {
  return std::span<const uint64_t>(s.pcs).first(std::min<size_t>(s.pcs.size(), heap::kMaxFrames));
}

bool incomplete(const heap::Sample& s) {
  return (s.flags & (heap::kStackTruncated | heap::kNoUnwinder)) != 0 || s.pcs.size() > heap::kMaxFrames;
}

}  // namespace

size_t StackHash::operator()(std::span<const uint64_t> stack) const {
  // splitmix64's finaliser per word: return addresses share their high bits,
  // so the low bits of a plain sum would collide.
  uint64_t h = 0x9e3779b97f4a7c15u ^ stack.size();
  for (uint64_t pc : stack) {
    uint64_t z = pc + 0x9e3779b97f4a7c15u + (h << 6) + (h >> 2);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    h ^= z ^ (z >> 31);
  }
  return static_cast<size_t>(h);
}

bool StackEqual::operator()(std::span<const uint64_t> a, std::span<const uint64_t> b) const {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

double plausible_estimate(const heap::Sample& sample) {
  if (sample.size == 0 || sample.size > kMaxPlausibleBytes) return 0;
  return std::min(heap::estimated_bytes(sample.size, sample.mean_bytes), static_cast<double>(kMaxPlausibleBytes));
}

SiteAggregate aggregate_sites(std::span<const heap::Sample> samples) {
  SiteAggregate out;
  std::unordered_map<std::span<const uint64_t>, size_t, StackHash, StackEqual> index;
  index.reserve(samples.size());
  for (const heap::Sample& s : samples) {
    const double bytes = plausible_estimate(s);
    if (bytes <= 0) {
      ++out.rejected_samples;
      continue;
    }
    const std::span<const uint64_t> key = key_of(s);
    auto [it, added] = index.try_emplace(key, out.sites.size());
    if (added) {
      CallSite site;
      site.stack.assign(key.begin(), key.end());
      site.oldest_allocation_unix_ns = s.allocated_unix_ns;
      site.newest_allocation_unix_ns = s.allocated_unix_ns;
      out.sites.push_back(std::move(site));
    }
    CallSite& site = out.sites[it->second];
    site.estimated_bytes += bytes;
    site.estimated_blocks += bytes / static_cast<double>(s.size);
    ++site.samples;
    if (incomplete(s)) ++site.truncated_samples;
    site.oldest_allocation_unix_ns = std::min(site.oldest_allocation_unix_ns, s.allocated_unix_ns);
    site.newest_allocation_unix_ns = std::max(site.newest_allocation_unix_ns, s.allocated_unix_ns);
    ++out.samples;
    out.estimated_bytes += bytes;
  }
  std::sort(out.sites.begin(), out.sites.end(), [](const CallSite& a, const CallSite& b) {
    if (a.estimated_bytes != b.estimated_bytes) return a.estimated_bytes > b.estimated_bytes;
    return a.stack < b.stack;
  });
  return out;
}

}  // namespace memproxy::heapwatch
