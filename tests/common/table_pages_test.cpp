// The cost of a lookup must not grow with the table: in a freshly mapped
// table, open() plus one lookup reads at most 4 pages, for 10 entries as for
// 1,000,000. Pages are counted by faults on a PROT_NONE mapping, not by the
// reader's own account.
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

}  // namespace
