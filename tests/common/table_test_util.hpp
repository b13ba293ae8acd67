// Shared helpers of the table tests: random key sets and re-sealing an image
// after a deliberate edit (so a test can forge a table whose checksums are
// right but whose content is adversarial).
#ifndef MEMPROXY_TESTS_TABLE_TEST_UTIL_HPP
#define MEMPROXY_TESTS_TABLE_TEST_UTIL_HPP

#include <cstring>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "memproxy/table_builder.hpp"
#include "memproxy/table_reader.hpp"

namespace memproxy::testing {

inline std::string random_name(std::mt19937_64& rng) {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+";
  std::size_t length = 1 + rng() % 24;
  std::string out;
  for (std::size_t i = 0; i < length; ++i) out += alphabet[rng() % (sizeof alphabet - 1)];
  return out;
}

inline std::string random_key(std::mt19937_64& rng) {
  if (rng() % 3 == 0) return "/usr/lib/" + random_name(rng) + "/" + random_name(rng);
  return random_name(rng);
}

// A valid sampling code: unset, off, or a rate within the range.
inline uint32_t random_sample_code(std::mt19937_64& rng) {
  const uint32_t pick = static_cast<uint32_t>(rng() % (table::kMaxSampleShift - table::kMinSampleShift + 3));
  if (pick == 0) return table::kSampleCodeUnset;
  if (pick == 1) return table::kSampleCodeOff;
  return table::kMinSampleShift + pick - 2;
}

// `count` distinct keys with random section flags and, with `sample_codes`,
// a random sampling code on every monitored one.
inline std::vector<table::BuildEntry> random_entries(std::mt19937_64& rng, std::size_t count,
                                                     bool sample_codes = false) {
  std::unordered_set<std::string> seen;
  std::vector<table::BuildEntry> out;
  while (out.size() < count) {
    std::string key = random_key(rng);
    if (!seen.insert(key).second) continue;
    uint32_t flags = static_cast<uint32_t>(1 + rng() % 3);
    if (sample_codes && (flags & table::kFlagMonitor) != 0) flags = table::with_sample_code(flags, random_sample_code(rng));
    out.push_back({key, flags});
  }
  return out;
}

inline table::View open_or_die(const std::vector<unsigned char>& image) {
  table::View view;
  if (table::open(image.data(), image.size(), &view) != table::Status::ok) std::abort();
  return view;
}

// Recomputes every block checksum, the payload chain and the header seal.
inline void reseal(std::vector<unsigned char>& image) {
  using namespace memproxy::table;
  uint32_t blocks = static_cast<uint32_t>(image.size() / kBlockSize);
  uint64_t chain = 0;
  for (uint32_t i = 1; i < blocks; ++i) {
    unsigned char* block = image.data() + static_cast<std::size_t>(i) * kBlockSize;
    uint64_t checksum = block_checksum(block, i);
    std::memcpy(block + kBlockPayloadSize, &checksum, sizeof checksum);
    chain = chain_step(chain, checksum);
  }
  std::memcpy(image.data() + offsetof(Header, payload_checksum), &chain, sizeof chain);
  uint64_t header_checksum = block_checksum(image.data(), 0);
  std::memcpy(image.data() + kBlockPayloadSize, &header_checksum, sizeof header_checksum);
}

}  // namespace memproxy::testing

#endif
