// A damaged table must be rejected or answered correctly: never a crash, an
// out-of-bounds read (ASan in the sanitizer build), an unbounded loop, or a
// wrong answer. Each candidate is copied into a buffer of exactly its size so
// that any read past the end is caught.
#include <cstring>
#include <memory>
#include <utility>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "table_test_util.hpp"

namespace mt = memproxy::table;
using memproxy::testing::random_entries;
using memproxy::testing::random_key;

namespace {

struct Fixture {
  std::vector<mt::BuildEntry> entries;
  std::vector<std::string> non_members;
  std::vector<unsigned char> image;
};

Fixture make_fixture(std::size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Fixture f;
  f.entries = random_entries(rng, count);
  std::unordered_map<std::string, bool> member;
  for (const auto& e : f.entries) member[e.key] = true;
  while (f.non_members.size() < 32) {
    std::string k = random_key(rng);
    if (!member.contains(k)) f.non_members.push_back(k);
  }
  f.image = mt::build(f.entries, {"libjemalloc.so.2", mt::kFailSystem, 0}, 7);
  return f;
}

// Opens `bytes` (a vector allocated at exactly its size, so ASan sees any
// read past its end) and asks every question whose answer is known. Returns
// true when open() accepted the table; any answer it gives must be right or
// an explicit error status.
bool answers_safely(const Fixture& f, const std::vector<unsigned char>& bytes, std::size_t sample) {
  mt::View view;
  if (mt::open(bytes.data(), bytes.size(), &view) != mt::Status::ok) return false;
  std::size_t step = f.entries.size() <= sample ? 1 : f.entries.size() / sample;
  for (std::size_t i = 0; i < f.entries.size(); i += step) {
    const auto& e = f.entries[i];
    auto r = mt::lookup(view, e.key.data(), e.key.size());
    if (r.status == mt::Status::ok) {
      EXPECT_EQ(r.flags, e.flags) << "wrong answer for member " << e.key;
    }
  }
  for (std::size_t i = 0; i < f.non_members.size() && i < sample; ++i) {
    const auto& k = f.non_members[i];
    auto r = mt::lookup(view, k.data(), k.size());
    if (r.status == mt::Status::ok) {
      EXPECT_EQ(r.flags, 0u) << "wrong answer for non-member " << k;
    }
  }
  (void)mt::verify_all(view);
  return true;
}

TEST(TableCorruption, EveryTruncationIsRejected) {
  Fixture f = make_fixture(40, 1);
  for (std::size_t length = 0; length < f.image.size(); ++length) {
    auto exact = std::make_unique<unsigned char[]>(length == 0 ? 1 : length);
    std::memcpy(exact.get(), f.image.data(), length);
    mt::View view;
    ASSERT_NE(mt::open(exact.get(), length, &view), mt::Status::ok) << "truncated to " << length;
  }
  // And a table with bytes appended is not the published one either.
  auto longer = f.image;
  longer.resize(longer.size() + mt::kBlockSize);
  mt::View view;
  EXPECT_EQ(mt::open(longer.data(), longer.size(), &view), mt::Status::bad_size);
}

TEST(TableCorruption, EverySingleBitFlipInTheHeaderBlockIsRejected) {
  Fixture f = make_fixture(40, 2);
  for (std::size_t bit = 0; bit < std::size_t{mt::kBlockSize} * 8; ++bit) {
    auto copy = f.image;
    copy[bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
    mt::View view;
    ASSERT_NE(mt::open(copy.data(), copy.size(), &view), mt::Status::ok) << "bit " << bit;
  }
}

TEST(TableCorruption, EverySingleBitFlipInThePayloadIsRejectedOrAnsweredSafely) {
  // Header-block flips are covered above; here every payload bit, flipped in
  // place and restored, so each round costs no copy.
  Fixture f = make_fixture(40, 3);
  std::vector<unsigned char> copy = f.image;
  for (std::size_t bit = std::size_t{mt::kBlockSize} * 8; bit < copy.size() * 8; ++bit) {
    unsigned char mask = static_cast<unsigned char>(1u << (bit % 8));
    copy[bit / 8] ^= mask;
    if (answers_safely(f, copy, 8)) {
      mt::View view;
      ASSERT_EQ(mt::open(copy.data(), copy.size(), &view), mt::Status::ok);
      EXPECT_NE(mt::verify_all(view), mt::Status::ok) << "a flipped bit passed full verification: " << bit;
    }
    copy[bit / 8] ^= mask;
  }
}

TEST(TableCorruption, RandomMutationsOfALargeTableAreRejectedOrAnsweredSafely) {
  Fixture f = make_fixture(5000, 4);
  std::mt19937_64 rng(1234);
  std::size_t accepted = 0;
  std::vector<unsigned char> copy = f.image;
  for (int round = 0; round < 10000; ++round) {
    int edits = 1 + static_cast<int>(rng() % 8);
    std::vector<std::pair<std::size_t, unsigned char>> undo;
    bool changed = false;
    for (int e = 0; e < edits; ++e) {
      std::size_t at = rng() % copy.size();
      unsigned char value = static_cast<unsigned char>(rng());
      undo.emplace_back(at, copy[at]);
      changed |= copy[at] != value;
      copy[at] = value;
    }
    // Undone in reverse, so overlapping edits restore the original byte.
    struct Restore {
      std::vector<unsigned char>& bytes;
      std::vector<std::pair<std::size_t, unsigned char>>& undo;
      ~Restore() {
        for (auto it = undo.rbegin(); it != undo.rend(); ++it) bytes[it->first] = it->second;
      }
    } restore{copy, undo};
    if (answers_safely(f, copy, 16)) {
      ++accepted;
      mt::View view;
      ASSERT_EQ(mt::open(copy.data(), copy.size(), &view), mt::Status::ok);
      if (changed) {
        EXPECT_NE(mt::verify_all(view), mt::Status::ok) << "round " << round;
      }
    }
  }
  // Most mutations land in payload blocks, which open() does not read; the
  // assertions above checked each of those tables' answers.
  EXPECT_GT(accepted, 0u);
}

TEST(TableCorruption, ForgedHeaderFieldsWithValidChecksumsAreRejected) {
  // An attacker who can recompute checksums still cannot make the reader
  // leave the mapping or loop: the header's fields are range-checked.
  Fixture f = make_fixture(300, 5);
  auto forge = [&](auto edit) {
    auto copy = f.image;
    auto* header = reinterpret_cast<mt::Header*>(copy.data());
    edit(*header);
    memproxy::testing::reseal(copy);
    mt::View view;
    return mt::open(copy.data(), copy.size(), &view);
  };
  EXPECT_EQ(forge([](mt::Header& h) { h.slot_count = 3; }), mt::Status::bad_layout);
  EXPECT_EQ(forge([](mt::Header& h) { h.slot_count *= 2; }), mt::Status::bad_layout);
  EXPECT_EQ(forge([](mt::Header& h) { h.max_probe = h.slot_count + 1; }), mt::Status::bad_layout);
  EXPECT_EQ(forge([](mt::Header& h) { h.max_probe = mt::kMaxProbe + 1; }), mt::Status::bad_layout);
  EXPECT_EQ(forge([](mt::Header& h) { h.entry_count = h.slot_count / 2 + 1; }), mt::Status::bad_layout);
  EXPECT_EQ(forge([](mt::Header& h) { h.string_bytes = 0xffffffffu; }), mt::Status::bad_layout);
  EXPECT_EQ(forge([](mt::Header& h) { h.block_count += 1; }), mt::Status::bad_size);
  EXPECT_EQ(forge([](mt::Header& h) { h.total_size += mt::kBlockSize; }), mt::Status::bad_size);
  EXPECT_EQ(forge([](mt::Header& h) { h.fail_policy = 9; }), mt::Status::bad_layout);
  EXPECT_EQ(forge([](mt::Header& h) { h.allocator_length = 5000; }), mt::Status::bad_layout);
  EXPECT_EQ(forge([](mt::Header& h) { h.allocator_length = 3; }), mt::Status::bad_layout);
  EXPECT_EQ(forge([](mt::Header& h) { h.reserved[2] = 1; }), mt::Status::bad_layout);
  EXPECT_EQ(forge([](mt::Header& h) { h.format_version = 0; }), mt::Status::bad_version);
  EXPECT_EQ(forge([](mt::Header& h) { h.format_version = mt::kFormatVersion + 1; }), mt::Status::bad_version);
}

TEST(TableCorruption, ForgedSlotsPointingOutsideAreRejectedNotFollowed) {
  auto image = mt::build({{"victim", mt::kFlagExclude}}, {}, 1);
  mt::View original;
  ASSERT_EQ(mt::open(image.data(), image.size(), &original), mt::Status::ok);
  uint64_t hash = mt::key_hash("victim", 6, original.header->hash_seed);
  uint32_t home = static_cast<uint32_t>(hash) & (original.header->slot_count - 1);
  auto forge = [&](auto edit) {
    auto copy = image;
    mt::Slot slot;
    unsigned char* at = copy.data() + mt::kBlockSize + home * mt::kSlotSize;
    std::memcpy(&slot, at, sizeof slot);
    edit(slot);
    std::memcpy(at, &slot, sizeof slot);
    memproxy::testing::reseal(copy);
    mt::View view;
    EXPECT_EQ(mt::open(copy.data(), copy.size(), &view), mt::Status::ok);
    return mt::lookup(view, "victim", 6).status;
  };
  EXPECT_EQ(forge([](mt::Slot& s) { s.string_offset = 0xfffffff0u; }), mt::Status::bad_slot);
  EXPECT_EQ(forge([](mt::Slot& s) { s.flags = 0x80; }), mt::Status::bad_slot);
  EXPECT_EQ(forge([](mt::Slot& s) { s.flags = 0; }), mt::Status::bad_slot);
  EXPECT_EQ(forge([](mt::Slot& s) { s.length = mt::kMaxKeyLength + 1; }), mt::Status::bad_slot);
  EXPECT_EQ(forge([](mt::Slot& s) { s.string_offset = mt::kBlockPayloadSize - 2; }), mt::Status::bad_slot);
}

// A slot's sampling code is read only where the format defines it: a
// version-2 table, a monitored key, one of the codes the builder writes.
TEST(TableCorruption, ForgedSampleCodesAreRejected) {
  auto forge = [](uint32_t version, uint32_t flags) {
    auto image = mt::build({{"victim", mt::with_sample_code(mt::kFlagMonitor, 16)}}, {}, 1);
    mt::View original = memproxy::testing::open_or_die(image);
    EXPECT_EQ(original.header->format_version, mt::kFormatVersion);
    uint64_t hash = mt::key_hash("victim", 6, original.header->hash_seed);
    uint32_t home = static_cast<uint32_t>(hash) & (original.header->slot_count - 1);
    mt::Slot slot;
    unsigned char* at = image.data() + mt::kBlockSize + home * mt::kSlotSize;
    std::memcpy(&slot, at, sizeof slot);
    EXPECT_EQ(slot.flags, mt::with_sample_code(mt::kFlagMonitor, 16));
    slot.flags = static_cast<uint16_t>(flags);
    std::memcpy(at, &slot, sizeof slot);
    std::memcpy(image.data() + offsetof(mt::Header, format_version), &version, sizeof version);
    memproxy::testing::reseal(image);
    mt::View view;
    EXPECT_EQ(mt::open(image.data(), image.size(), &view), mt::Status::ok);
    mt::LookupResult r = mt::lookup(view, "victim", 6);
    mt::Status all = mt::verify_all(view);
    EXPECT_EQ(all, r.status) << "a full verification judges the slot as a lookup does";
    return r;
  };
  const uint32_t monitor = mt::kFlagMonitor, exclude = mt::kFlagExclude;
  for (uint32_t code : {uint32_t{mt::kMinSampleShift}, 20u, uint32_t{mt::kMaxSampleShift}, uint32_t{mt::kSampleCodeOff}}) {
    mt::LookupResult r = forge(mt::kFormatVersion, mt::with_sample_code(monitor | exclude, code));
    EXPECT_EQ(r.status, mt::Status::ok) << code;
    EXPECT_EQ(r.flags, mt::with_sample_code(monitor | exclude, code)) << code;
  }
  for (uint32_t code : {1u, 2u, 3u, 31u, 40u, 62u}) {
    EXPECT_EQ(forge(mt::kFormatVersion, mt::with_sample_code(monitor, code)).status, mt::Status::bad_slot) << code;
  }
  EXPECT_EQ(forge(mt::kFormatVersion, mt::with_sample_code(exclude, 16)).status, mt::Status::bad_slot)
      << "a code on a key that is not monitored";
  EXPECT_EQ(forge(mt::kFormatVersion, mt::with_sample_code(0, 16)).status, mt::Status::bad_slot);
  EXPECT_EQ(forge(mt::kFormatVersion, monitor | 0x4000u).status, mt::Status::bad_slot);
  EXPECT_EQ(forge(mt::kFormatVersion, monitor | 0x0080u).status, mt::Status::bad_slot);
  EXPECT_EQ(forge(mt::kFormatVersionUnsampled, mt::with_sample_code(monitor, 16)).status, mt::Status::bad_slot)
      << "version 1 has no sampling codes";
  mt::LookupResult v1 = forge(mt::kFormatVersionUnsampled, monitor);
  EXPECT_EQ(v1.status, mt::Status::ok);
  EXPECT_EQ(v1.flags, monitor);
}

}  // namespace
