// The cost of a lookup must not grow with the table: in a freshly mapped
// table, open() plus one lookup reads at most 4 pages, for 10 entries as for
// 1,000,000. Pages are counted by faults on a PROT_NONE mapping, not by the
// reader's own account.
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "page_touch_counter.hpp"
#include "table_test_util.hpp"
#include "temp_dir.hpp"

namespace mt = memproxy::table;

namespace {

class TablePages : public ::testing::TestWithParam<std::size_t> {
 protected:
  memproxy::testing::TempDir temp_;
};

std::size_t pages_for_lookup(const std::string& path, const std::string& key, mt::LookupResult* result) {
  memproxy::testing::PageTouchCounter counter(path);
  mt::View view;
  if (mt::open(counter.data(), counter.size(), &view) != mt::Status::ok) return SIZE_MAX;
  *result = mt::lookup(view, key.data(), key.size());
  return counter.pages_touched();
}

TEST_P(TablePages, FreshLookupTouchesAtMostFourPages) {
  std::size_t count = GetParam();
  std::vector<mt::BuildEntry> entries;
  entries.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::string key = i % 3 == 0 ? "/usr/lib/pkg" + std::to_string(i % 977) + "/prog" + std::to_string(i)
                                  : "prog" + std::to_string(i);
    entries.push_back({key, mt::kFlagExclude});
  }
  std::string path = temp_.file("table");
  {
    auto image = mt::build(entries, {"libjemalloc.so.2", mt::kFailSystem, 0}, 1);
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(image.data()),
                                                static_cast<std::streamsize>(image.size()));
  }
  std::mt19937_64 rng(count);
  std::size_t worst = 0;
  for (int i = 0; i < 200; ++i) {
    bool member = i % 2 == 0;
    std::string key = member ? entries[rng() % count].key : "absent" + std::to_string(rng());
    mt::LookupResult result;
    std::size_t pages = pages_for_lookup(path, key, &result);
    ASSERT_EQ(result.status, mt::Status::ok);
    ASSERT_EQ(result.flags, member ? static_cast<uint32_t>(mt::kFlagExclude) : 0u) << key;
    worst = std::max(worst, pages);
  }
  RecordProperty("worst_pages", static_cast<int>(worst));
  EXPECT_LE(worst, 4u) << "a lookup in a " << count << "-entry table touched " << worst << " pages";
}

INSTANTIATE_TEST_SUITE_P(Sizes, TablePages, ::testing::Values(10, 10000, 1000000));

// The worst table an attacker who can recompute checksums can make: every
// slot on the probe path holds the looked-up key's hash and length, with
// other bytes, and the longest chain the reader accepts. The lookup still
// reads the header, at most two slot blocks and one key: no more than a
// published table's worst, whatever the forgery.
TEST(TableForgery, ALookupCostsNoMoreThanInAPublishedTable) {
  memproxy::testing::TempDir temp;
  const std::string key(2000, 'k');  // long, so each compare could cost a block
  std::vector<mt::BuildEntry> entries;
  for (uint32_t i = 0; i < 2 * mt::kMaxProbe; ++i) entries.push_back({std::string(2000, 'a' + i % 26) + std::to_string(i), mt::kFlagExclude});
  auto image = mt::build(entries, {}, 1);
  auto* h = reinterpret_cast<mt::Header*>(image.data());
  const uint64_t hash = mt::key_hash(key.data(), key.size(), h->hash_seed);
  const uint32_t mask = h->slot_count - 1;
  const uint32_t home = static_cast<uint32_t>(hash) & mask;
  // Collect the occupied slots, then lay them out as one chain from `home`.
  std::vector<mt::Slot> occupied;
  unsigned char* slots = image.data() + mt::kBlockSize;
  auto slot_at = [&](uint32_t i) { return slots + (i / mt::kSlotsPerBlock) * mt::kBlockSize + (i % mt::kSlotsPerBlock) * mt::kSlotSize; };
  for (uint32_t i = 0; i < h->slot_count; ++i) {
    mt::Slot slot;
    std::memcpy(&slot, slot_at(i), sizeof slot);
    if (slot.length != 0) occupied.push_back(slot);
    std::memset(slot_at(i), 0, mt::kSlotSize);
  }
  ASSERT_GE(occupied.size(), mt::kMaxProbe + 1);
  for (uint32_t i = 0; i <= mt::kMaxProbe; ++i) {
    mt::Slot forged = occupied[i];
    forged.hash = hash;
    forged.length = static_cast<uint16_t>(key.size());
    std::memcpy(slot_at((home + i) & mask), &forged, sizeof forged);
  }
  h->max_probe = mt::kMaxProbe;
  h->entry_count = mt::kMaxProbe + 1;
  memproxy::testing::reseal(image);
  std::string path = temp.file("forged");
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(image.data()),
                                              static_cast<std::streamsize>(image.size()));
  mt::LookupResult result;
  std::size_t pages = pages_for_lookup(path, key, &result);
  EXPECT_EQ(result.status, mt::Status::ok);
  EXPECT_EQ(result.flags, 0u);
  // Header + two slot blocks + the two string blocks of one 2000-byte key.
  EXPECT_LE(pages, 5u) << "a forged table made one lookup touch " << pages << " pages";
}

}  // namespace
