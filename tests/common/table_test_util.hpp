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

// `count` distinct keys with random flags.
inline std::vector<table::BuildEntry> random_entries(std::mt19937_64& rng, std::size_t count) {
  std::unordered_set<std::string> seen;
  std::vector<table::BuildEntry> out;
  while (out.size() < count) {
    std::string key = random_key(rng);
    if (!seen.insert(key).second) continue;
    out.push_back({key, static_cast<uint32_t>(1 + rng() % 3)});
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
