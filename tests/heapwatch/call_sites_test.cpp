// Call-site aggregation on synthetic samples: exact sums with known
// weights, unbiased shares from simulated sampling, the order, and samples
// a hostile process could write.
#include "heapwatch/analysis/call_sites.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <vector>

namespace memproxy::heapwatch {
namespace {

heap::Sample sample(Stack pcs, uint64_t size, uint64_t mean, int64_t at = 1000, uint16_t flags = 0) {
  heap::Sample s;
  s.address = 0x10000;
  s.size = size;
  s.mean_bytes = mean;
  s.allocated_unix_ns = at;
  s.pcs = std::move(pcs);
  s.flags = flags;
  return s;
}

const CallSite* find(const SiteAggregate& a, const Stack& stack) {
  for (const CallSite& s : a.sites) {
    if (s.stack == stack) return &s;
  }
  return nullptr;
}

TEST(CallSites, SumsTheWeightsOfEachStack) {
  const uint64_t mean = 512 * 1024;
  std::vector<heap::Sample> samples{sample({1, 2, 3}, 4096, mean, 500), sample({1, 2, 3}, 1 << 20, mean, 700),
                                    sample({1, 2, 4}, 100, mean, 600), sample({1, 2, 3}, 4096, mean, 300)};
  SiteAggregate a = aggregate_sites(samples);
  ASSERT_EQ(a.sites.size(), 2u);
  EXPECT_EQ(a.samples, 4u);
  EXPECT_EQ(a.rejected_samples, 0u);

  const CallSite* first = find(a, {1, 2, 3});
  ASSERT_NE(first, nullptr);
  const double w4096 = heap::estimated_bytes(4096, mean);
  const double w1m = heap::estimated_bytes(1 << 20, mean);
  EXPECT_DOUBLE_EQ(first->estimated_bytes, 2 * w4096 + w1m);
  EXPECT_DOUBLE_EQ(first->estimated_blocks, 2 * w4096 / 4096 + w1m / (1 << 20));
  EXPECT_EQ(first->samples, 3u);
  EXPECT_EQ(first->oldest_allocation_unix_ns, 300);
  EXPECT_EQ(first->newest_allocation_unix_ns, 700);

  const CallSite* second = find(a, {1, 2, 4});
  ASSERT_NE(second, nullptr);
  EXPECT_DOUBLE_EQ(second->estimated_bytes, heap::estimated_bytes(100, mean));
  EXPECT_EQ(second->samples, 1u);
  EXPECT_DOUBLE_EQ(a.estimated_bytes, first->estimated_bytes + second->estimated_bytes);
}

TEST(CallSites, LargestFirstThenByStack) {
  std::vector<heap::Sample> samples{sample({9}, 100, 0), sample({5}, 300, 0), sample({7}, 100, 0),
                                    sample({3}, 200, 0)};
  SiteAggregate a = aggregate_sites(samples);
  ASSERT_EQ(a.sites.size(), 4u);
  EXPECT_EQ(a.sites[0].stack, Stack{5});
  EXPECT_EQ(a.sites[1].stack, Stack{3});
  EXPECT_EQ(a.sites[2].stack, Stack{7});  // 100 bytes each: by stack
  EXPECT_EQ(a.sites[3].stack, Stack{9});
}

// Three sites holding 1:2:4 of the bytes in blocks of different sizes,
// sampled as the library samples (each block with probability
// 1 - exp(-size / mean)): the estimates find the true bytes and blocks.
TEST(CallSites, SampledSharesAreUnbiased) {
  const uint64_t mean = 512 * 1024;
  struct Truth {
    Stack stack;
    uint64_t block;
    uint64_t blocks;
  };
  const std::vector<Truth> truth{{{0x401000, 0x402000}, 64 * 1024, 10000},
                                 {{0x401000, 0x403000}, 32 * 1024, 40000},
                                 {{0x404000}, 2 * 1024 * 1024, 1280}};
  std::mt19937_64 random(42);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::vector<heap::Sample> samples;
  for (const Truth& t : truth) {
    const double p = -std::expm1(-static_cast<double>(t.block) / mean);
    for (uint64_t i = 0; i < t.blocks; ++i) {
      if (uniform(random) < p) samples.push_back(sample(t.stack, t.block, mean));
    }
  }
  SiteAggregate a = aggregate_sites(samples);
  ASSERT_EQ(a.sites.size(), 3u);
  double total = 0;
  for (const Truth& t : truth) total += static_cast<double>(t.block * t.blocks);
  for (const Truth& t : truth) {
    const CallSite* s = find(a, t.stack);
    ASSERT_NE(s, nullptr);
    const double bytes = static_cast<double>(t.block * t.blocks);
    EXPECT_NEAR(s->estimated_bytes / bytes, 1.0, 0.08) << t.block;
    EXPECT_NEAR(s->estimated_blocks / static_cast<double>(t.blocks), 1.0, 0.08) << t.block;
    EXPECT_NEAR(s->estimated_bytes / a.estimated_bytes, bytes / total, 0.03) << t.block;
  }
  // Largest share first: the 2 MiB blocks hold 4/7.
  EXPECT_EQ(a.sites[0].stack, truth[2].stack);
}

TEST(CallSites, ZeroMeanCountsEachBlockOnce) {
  std::vector<heap::Sample> samples{sample({1}, 1000, 0), sample({1}, 24, 0)};
  SiteAggregate a = aggregate_sites(samples);
  ASSERT_EQ(a.sites.size(), 1u);
  EXPECT_DOUBLE_EQ(a.sites[0].estimated_bytes, 1024);
  EXPECT_DOUBLE_EQ(a.sites[0].estimated_blocks, 2);
}

TEST(CallSites, AbsurdSizesAreLeftOutAndCounted) {
  std::vector<heap::Sample> samples{sample({1}, 0, 512), sample({1}, UINT64_MAX, 512),
                                    sample({1}, kMaxPlausibleBytes + 1, 0), sample({1}, 64, 512)};
  SiteAggregate a = aggregate_sites(samples);
  EXPECT_EQ(a.rejected_samples, 3u);
  EXPECT_EQ(a.samples, 1u);
  ASSERT_EQ(a.sites.size(), 1u);
  EXPECT_EQ(a.sites[0].samples, 1u);
}

TEST(CallSites, AHugeMeanIsCappedAndSumsStayFinite) {
  // One byte taken with a mean of 2^64 would stand for ~1.8e19 bytes.
  std::vector<heap::Sample> samples(heap::kSampleCapacity, sample({1}, 1, UINT64_MAX));
  EXPECT_EQ(plausible_estimate(samples[0]), static_cast<double>(kMaxPlausibleBytes));
  SiteAggregate a = aggregate_sites(samples);
  ASSERT_EQ(a.sites.size(), 1u);
  EXPECT_TRUE(std::isfinite(a.estimated_bytes));
  EXPECT_DOUBLE_EQ(a.sites[0].estimated_bytes, static_cast<double>(kMaxPlausibleBytes) * heap::kSampleCapacity);
}

TEST(CallSites, StacksBeyondTheFrameLimitAreCutToTheInnermost) {
  Stack deep(1000);
  for (size_t i = 0; i < deep.size(); ++i) deep[i] = 0x1000 + i;
  Stack other = deep;
  other.back() = 1;  // differs only beyond the limit
  std::vector<heap::Sample> samples{sample(deep, 64, 0), sample(other, 64, 0), sample({0x1000}, 64, 0, 0, heap::kNoUnwinder)};
  SiteAggregate a = aggregate_sites(samples);
  ASSERT_EQ(a.sites.size(), 2u);
  EXPECT_EQ(a.sites[0].stack.size(), heap::kMaxFrames);
  EXPECT_EQ(a.sites[0].stack.front(), 0x1000u);
  EXPECT_EQ(a.sites[0].samples, 2u);
  EXPECT_EQ(a.sites[0].truncated_samples, 2u);
  EXPECT_EQ(a.sites[1].truncated_samples, 1u);
}

TEST(CallSites, AnEmptyStackIsASiteOfItsOwn) {
  std::vector<heap::Sample> samples{sample({}, 64, 0), sample({}, 64, 0), sample({1}, 64, 0)};
  SiteAggregate a = aggregate_sites(samples);
  ASSERT_EQ(a.sites.size(), 2u);
  EXPECT_EQ(a.sites[0].stack, Stack{});
  EXPECT_EQ(a.sites[0].samples, 2u);
}

TEST(CallSites, ManyStacksStayApart) {
  // Stacks that differ in one deep frame, as the callers of one function do.
  std::vector<heap::Sample> samples;
  for (uint64_t i = 0; i < heap::kSampleCapacity; ++i) samples.push_back(sample({0x7f0000001000, 0x7f0000002000, 0x400000 + 16 * i}, 64, 0));
  SiteAggregate a = aggregate_sites(samples);
  EXPECT_EQ(a.sites.size(), heap::kSampleCapacity);
  std::set<size_t> hashes;
  for (const CallSite& s : a.sites) hashes.insert(StackHash{}(s.stack));
  EXPECT_GT(hashes.size(), heap::kSampleCapacity - 2);
}

}  // namespace
}  // namespace memproxy::heapwatch
