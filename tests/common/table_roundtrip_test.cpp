// Property tests: whatever set of names and paths is built into a table, the
// reader finds exactly those keys with exactly their flags.
#include <cstring>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "table_test_util.hpp"

namespace mt = memproxy::table;
using memproxy::testing::open_or_die;
using memproxy::testing::random_entries;
using memproxy::testing::random_key;

namespace {

uint32_t flags_of(const mt::View& view, const std::string& key) {
  auto result = mt::lookup(view, key.data(), key.size());
  EXPECT_EQ(result.status, mt::Status::ok) << key;
  return result.flags;
}

class TableRoundTrip : public ::testing::TestWithParam<std::size_t> {};

TEST_P(TableRoundTrip, EveryMemberFoundAndNoNonMember) {
  std::size_t count = GetParam();
  std::mt19937_64 rng(count * 7919 + 1);
  auto entries = random_entries(rng, count, true);
  std::unordered_map<std::string, uint32_t> truth;
  bool sampled = false;
  for (const auto& e : entries) {
    truth[e.key] = e.flags;
    sampled = sampled || mt::sample_code_of(e.flags) != mt::kSampleCodeUnset;
  }

  auto image = mt::build(entries, {"libjemalloc.so.2", mt::kFailSystem, 0}, 42);
  mt::View view = open_or_die(image);
  ASSERT_EQ(mt::verify_all(view), mt::Status::ok);
  EXPECT_EQ(view.header->entry_count, count);
  EXPECT_EQ(view.header->format_version, sampled ? mt::kFormatVersion : mt::kFormatVersionUnsampled);
  EXPECT_EQ(view.header->generation, 42u);
  EXPECT_STREQ(view.header->allocator, "libjemalloc.so.2");

  for (const auto& e : entries) ASSERT_EQ(flags_of(view, e.key), e.flags) << e.key;

  // Random non-members, and members changed in one byte.
  std::size_t checked = 0;
  while (checked < 100000) {
    std::string probe = random_key(rng);
    if (checked % 2 == 1 && !entries.empty()) {
      probe = entries[rng() % entries.size()].key;
      probe[rng() % probe.size()] ^= static_cast<char>(1 + rng() % 127);
    }
    auto it = truth.find(probe);
    ASSERT_EQ(flags_of(view, probe), it == truth.end() ? 0u : it->second) << probe;
    ++checked;
  }

  struct Visit {
    const std::unordered_map<std::string, uint32_t>* truth;
    std::size_t seen = 0;
    std::size_t wrong = 0;
  } visit{&truth};
  auto status = mt::for_each_entry(
      view,
      [](void* ctx, const char* key, size_t length, uint32_t flags) {
        auto* v = static_cast<Visit*>(ctx);
        auto it = v->truth->find(std::string(key, length));
        if (it == v->truth->end() || it->second != flags || key[length] != '\0') ++v->wrong;
        ++v->seen;
        return true;
      },
      &visit);
  EXPECT_EQ(status, mt::Status::ok);
  EXPECT_EQ(visit.seen, count);
  EXPECT_EQ(visit.wrong, 0u);
}

INSTANTIATE_TEST_SUITE_P(Sizes, TableRoundTrip,
                         ::testing::Values(0, 1, 2, 7, 16, 254, 255, 256, 1000, 4099, 10000, 100000));

TEST(TableRoundTrip, NonMembersSharingAMembersHomeSlotAreNotFound) {
  std::mt19937_64 rng(99);
  auto entries = random_entries(rng, 1000);
  auto image = mt::build(entries, {}, 3);
  mt::View view = open_or_die(image);
  uint32_t mask = view.header->slot_count - 1;
  std::unordered_map<uint32_t, std::string> home_of_member;
  std::unordered_map<std::string, bool> member;
  for (const auto& e : entries) {
    home_of_member[static_cast<uint32_t>(mt::key_hash(e.key.data(), e.key.size(), view.header->hash_seed)) & mask] =
        e.key;
    member[e.key] = true;
  }
  std::size_t colliding = 0;
  while (colliding < 10000) {
    std::string probe = random_key(rng);
    uint32_t home = static_cast<uint32_t>(mt::key_hash(probe.data(), probe.size(), view.header->hash_seed)) & mask;
    if (!home_of_member.contains(home) || member.contains(probe)) continue;
    ++colliding;
    ASSERT_EQ(flags_of(view, probe), 0u) << probe << " shares its home slot with " << home_of_member[home];
  }
}

TEST(TableRoundTrip, AKeyWithAMembersFullHashButOtherBytesIsNotFound) {
  // A full 64-bit collision cannot be searched for; forge one instead: give a
  // member's slot the hash of a different key and re-seal the table.
  auto image = mt::build({{"target", mt::kFlagExclude}}, {}, 1);
  // "tarhet" has the member's length (the string compare decides), "impostor" does not.
  for (const std::string& other : {std::string("tarhet"), std::string("impostor")}) {
    auto forged = image;
    mt::View v = open_or_die(forged);
    uint64_t other_hash = mt::key_hash(other.data(), other.size(), v.header->hash_seed);
    uint32_t mask = v.header->slot_count - 1;
    // Move the single occupied slot to the impostor's home with the impostor's hash.
    unsigned char* slots = forged.data() + mt::kBlockSize;
    mt::Slot slot{};
    for (uint32_t i = 0; i < v.header->slot_count; ++i) {
      std::memcpy(&slot, slots + i * mt::kSlotSize, sizeof slot);
      if (slot.length != 0) {
        std::memset(slots + i * mt::kSlotSize, 0, mt::kSlotSize);
        break;
      }
    }
    slot.hash = other_hash;
    std::memcpy(slots + (static_cast<uint32_t>(other_hash) & mask) * mt::kSlotSize, &slot, sizeof slot);
    memproxy::testing::reseal(forged);
    mt::View fv = open_or_die(forged);
    ASSERT_EQ(mt::verify_all(fv), mt::Status::ok);
    EXPECT_EQ(flags_of(fv, other), 0u) << other;
  }
}

TEST(TableRoundTrip, SameKeyInBothSectionsCarriesBothFlags) {
  auto image = mt::build({{"top", mt::kFlagExclude}, {"top", mt::kFlagMonitor}, {"/bin/ls", mt::kFlagMonitor}}, {}, 1);
  mt::View view = open_or_die(image);
  EXPECT_EQ(view.header->entry_count, 2u);
  EXPECT_EQ(flags_of(view, "top"), static_cast<uint32_t>(mt::kFlagExclude | mt::kFlagMonitor));
  EXPECT_EQ(flags_of(view, "/bin/ls"), static_cast<uint32_t>(mt::kFlagMonitor));
  EXPECT_EQ(flags_of(view, "ls"), 0u);
}

uint32_t sampled(uint32_t flags, uint32_t code) { return mt::with_sample_code(flags, code); }

// One key's entries merge as a process's matching entries combine: section
// flags OR, the smallest sampling code given, off only when all say off.
TEST(TableRoundTrip, SameKeyInSeveralEntriesMergesSampleCodesByTheMatchingRule) {
  const uint32_t monitor = mt::kFlagMonitor, exclude = mt::kFlagExclude, off = mt::kSampleCodeOff;
  auto image = mt::build({{"top", exclude},
                          {"top", sampled(monitor, 20)},
                          {"top", sampled(monitor, 16)},
                          {"top", sampled(monitor, off)},
                          {"off-and-plain", sampled(monitor, off)},
                          {"off-and-plain", monitor},
                          {"off-twice", sampled(monitor, off)},
                          {"off-twice", sampled(monitor, off)},
                          {"off-then-rate", sampled(monitor, off)},
                          {"off-then-rate", sampled(monitor, mt::kMaxSampleShift)},
                          {"/bin/plain", monitor},
                          {"/bin/plain", exclude}},
                         {}, 1);
  mt::View view = open_or_die(image);
  ASSERT_EQ(mt::verify_all(view), mt::Status::ok);
  EXPECT_EQ(view.header->entry_count, 5u);
  EXPECT_EQ(flags_of(view, "top"), sampled(exclude | monitor, 16));
  EXPECT_EQ(flags_of(view, "off-and-plain"), sampled(monitor, off));
  EXPECT_EQ(flags_of(view, "off-twice"), sampled(monitor, off));
  EXPECT_EQ(flags_of(view, "off-then-rate"), sampled(monitor, mt::kMaxSampleShift));
  EXPECT_EQ(flags_of(view, "/bin/plain"), exclude | monitor);
}

TEST(TableRoundTrip, AConfigsSampleSettingsBecomeItsEntriesCodes) {
  auto parsed = memproxy::config::parse(
      "[exclude]\ntop\n[monitor sample=64K]\ntop\n/bin/a\n[monitor sample=off]\nquiet\n/bin/a\n[monitor]\nplain\n",
      "t.conf");
  ASSERT_TRUE(parsed.publishable());
  auto image = mt::build(mt::entries_from_config(parsed), {}, 1);
  mt::View view = open_or_die(image);
  EXPECT_EQ(view.header->format_version, mt::kFormatVersion);
  EXPECT_EQ(flags_of(view, "top"), sampled(mt::kFlagExclude | mt::kFlagMonitor, 16));
  EXPECT_EQ(flags_of(view, "/bin/a"), sampled(mt::kFlagMonitor, 16));
  EXPECT_EQ(flags_of(view, "quiet"), sampled(mt::kFlagMonitor, mt::kSampleCodeOff));
  EXPECT_EQ(flags_of(view, "plain"), static_cast<uint32_t>(mt::kFlagMonitor));
}

// A table no entry of which samples is what every earlier reader reads.
TEST(TableRoundTrip, FormatVersionIsTheOldestThatHoldsTheEntries) {
  auto plain = mt::build({{"top", mt::kFlagExclude}, {"top", mt::kFlagMonitor}}, {}, 1);
  EXPECT_EQ(open_or_die(plain).header->format_version, mt::kFormatVersionUnsampled);
  EXPECT_EQ(mt::kFormatVersionUnsampled, 1u);
  auto off = mt::build({{"top", mt::kFlagExclude}, {"leaky", sampled(mt::kFlagMonitor, mt::kSampleCodeOff)}}, {}, 1);
  EXPECT_EQ(open_or_die(off).header->format_version, mt::kFormatVersion);
  EXPECT_EQ(mt::kFormatVersion, 2u);
}

TEST(TableFormat, SampleCodesAreLog2OfTheMeanAndOffIsTheLargest) {
  for (uint32_t shift = mt::kMinSampleShift; shift <= mt::kMaxSampleShift; ++shift) {
    const uint64_t bytes = uint64_t{1} << shift;
    EXPECT_EQ(mt::sample_code_for_bytes(bytes), shift);
    EXPECT_EQ(mt::sample_bytes_of_code(shift), bytes);
    EXPECT_TRUE(mt::is_sample_code(shift));
    EXPECT_LT(shift, mt::kSampleCodeOff);
  }
  EXPECT_EQ(mt::kMinSampleShift, 4u);   // 16 bytes
  EXPECT_EQ(mt::kMaxSampleShift, 30u);  // 1 GiB
  EXPECT_EQ(mt::sample_code_for_bytes(0), mt::kSampleCodeOff);
  EXPECT_EQ(mt::sample_code_for_bytes(8), mt::kSampleCodeUnset);
  EXPECT_EQ(mt::sample_code_for_bytes(uint64_t{1} << 31), mt::kSampleCodeUnset);
  EXPECT_EQ(mt::sample_code_for_bytes(3 << 10), mt::kSampleCodeUnset);
  EXPECT_FALSE(mt::is_sample_code(3));
  EXPECT_FALSE(mt::is_sample_code(31));
  EXPECT_FALSE(mt::is_sample_code(62));
  EXPECT_EQ(mt::sample_code_of(0x3f00u | mt::kFlagMonitor), mt::kSampleCodeOff);
  EXPECT_EQ(mt::with_sample_code(mt::kFlagMonitor, 16), 0x1002u);
}

TEST(TableRoundTrip, LongestKeysRoundTrip) {
  std::string longest_path = "/" + std::string(mt::kMaxKeyLength - 1, 'p');
  std::string long_name(255, 'n');
  auto image = mt::build({{longest_path, mt::kFlagExclude}, {long_name, mt::kFlagExclude}, {"x", mt::kFlagMonitor}},
                         {}, 1);
  mt::View view = open_or_die(image);
  ASSERT_EQ(mt::verify_all(view), mt::Status::ok);
  EXPECT_EQ(flags_of(view, longest_path), static_cast<uint32_t>(mt::kFlagExclude));
  EXPECT_EQ(flags_of(view, long_name), static_cast<uint32_t>(mt::kFlagExclude));
  EXPECT_EQ(flags_of(view, "x"), static_cast<uint32_t>(mt::kFlagMonitor));
  std::string too_long = longest_path + "q";
  EXPECT_EQ(flags_of(view, too_long), 0u);
}

TEST(TableBuilder, RejectsWhatAValidConfigCannotProduce) {
  EXPECT_THROW(mt::build({{"", mt::kFlagExclude}}, {}, 1), mt::BuildError);
  EXPECT_THROW(mt::build({{std::string(mt::kMaxKeyLength + 1, 'k'), mt::kFlagExclude}}, {}, 1), mt::BuildError);
  EXPECT_THROW(mt::build({{"k", 0}}, {}, 1), mt::BuildError);
  EXPECT_THROW(mt::build({{"k", 0x80}}, {}, 1), mt::BuildError);
  EXPECT_THROW(mt::build({{"k", sampled(0, 16)}}, {}, 1), mt::BuildError);
  EXPECT_THROW(mt::build({{"k", sampled(mt::kFlagExclude, 16)}}, {}, 1), mt::BuildError);
  for (uint32_t code : {1u, 3u, 31u, 62u}) {
    EXPECT_THROW(mt::build({{"k", sampled(mt::kFlagMonitor, code)}}, {}, 1), mt::BuildError) << code;
  }
  EXPECT_THROW(mt::build({}, {std::string(mt::kMaxAllocatorLength + 1, 'a'), mt::kFailSystem, 0}, 1),
               mt::BuildError);
}

TEST(TableBuilder, ImageIsDeterministicAndSeedFollowsGeneration) {
  std::mt19937_64 rng(5);
  auto entries = random_entries(rng, 500);
  EXPECT_EQ(mt::build(entries, {}, 9), mt::build(entries, {}, 9));
  EXPECT_NE(open_or_die(mt::build(entries, {}, 9)).header->hash_seed,
            open_or_die(mt::build(entries, {}, 10)).header->hash_seed);
}

}  // namespace
