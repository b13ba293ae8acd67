// Table builder: lays out the blocks described in table_format.h.
//
// The image is deterministic for a given entry set, settings and generation:
// keys are inserted in sorted order and the hash seed derives from the
// generation (so a hostile key set cannot be tuned against a fixed seed across
// publishes, yet tests can reproduce a table exactly). Its format version is
// the oldest that holds its entries, so that older readers keep reading the
// tables they can (table_format.h, kFormatVersion).
#include "memproxy/table_builder.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include "memproxy/match.hpp"
#include "memproxy/table_reader.hpp"

namespace memproxy::table {
namespace {

// A load factor of at most 1/2 keeps linear probe sequences short.
uint32_t slot_count_for(std::size_t entries) {
  if (entries == 0) return 0;
  uint64_t wanted = std::max<uint64_t>(16, 2 * static_cast<uint64_t>(entries));
  uint64_t count = 1;
  while (count < wanted) count <<= 1;
  if (count > (1ull << 31)) throw BuildError("table: too many entries");
  return static_cast<uint32_t>(count);
}

uint64_t seed_for(uint64_t generation) {
  // splitmix64 finaliser: distinct, well-mixed seeds for consecutive generations.
  uint64_t z = generation + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The string area as logical bytes (block payloads without trailers).
class StringArea {
 public:
  // Places `key` followed by a NUL so that a key that fits in one block
  // payload never spans two: a lookup then reads exactly one string block.
  uint32_t add(std::string_view key) {
    std::size_t needed = key.size() + 1;
    std::size_t within = bytes_.size() % kBlockPayloadSize;
    if (needed <= kBlockPayloadSize && within + needed > kBlockPayloadSize) {
      bytes_.resize(bytes_.size() + (kBlockPayloadSize - within), '\0');
    }
    if (bytes_.size() + needed > UINT32_MAX) throw BuildError("table: string area over 4 GiB");
    uint32_t offset = static_cast<uint32_t>(bytes_.size());
    bytes_.insert(bytes_.end(), key.begin(), key.end());
    bytes_.push_back('\0');
    return offset;
  }
  const std::vector<char>& bytes() const { return bytes_; }

 private:
  std::vector<char> bytes_;
};

uint32_t blocks_for(uint64_t payload_bytes) {
  return static_cast<uint32_t>((payload_bytes + kBlockPayloadSize - 1) / kBlockPayloadSize);
}

unsigned char* block_at(std::vector<unsigned char>& image, uint32_t index) {
  return image.data() + static_cast<std::size_t>(index) * kBlockSize;
}

// Writes the block's trailer; returns its checksum.
uint64_t seal_block(std::vector<unsigned char>& image, uint32_t index) {
  unsigned char* block = block_at(image, index);
  BlockTrailer trailer{block_checksum(block, index), 0};
  std::memcpy(block + kBlockPayloadSize, &trailer, sizeof trailer);
  return trailer.checksum;
}

constexpr uint64_t kMaxSeedAttempts = 256;

// What the reader accepts (table_reader.cpp, check_slot): a section flag,
// and a sampling code only on a monitored key.
bool is_valid_entry(uint32_t flags) {
  if ((flags & kSectionFlags) == 0 || (flags & ~kKnownFlags) != 0) return false;
  const uint32_t code = sample_code_of(flags);
  return code == kSampleCodeUnset || (is_sample_code(code) && (flags & kFlagMonitor) != 0);
}

// One key's entries: section flags OR, sampling codes by the matching rule.
uint32_t merge_flags(uint32_t a, uint32_t b) {
  return with_sample_code((a | b) & kSectionFlags, match::combine_sample_codes(sample_code_of(a), sample_code_of(b)));
}

// Linear probing with `header.hash_seed`: false when a key lands more than
// kMaxProbe slots from home or two keys share a 64-bit hash.
bool place(const std::vector<std::pair<std::string_view, uint32_t>>& merged, const std::vector<uint32_t>& offsets,
           Header& header, std::vector<Slot>* out) {
  std::vector<Slot>& slots = *out;
  slots.assign(header.slot_count, Slot{});
  header.max_probe = 0;
  std::vector<uint64_t> hashes;
  hashes.reserve(merged.size());
  uint32_t mask = header.slot_count - 1;
  for (std::size_t i = 0; i < merged.size(); ++i) {
    Slot slot{};
    slot.hash = key_hash(merged[i].first.data(), merged[i].first.size(), header.hash_seed);
    slot.string_offset = offsets[i];
    slot.length = static_cast<uint16_t>(merged[i].first.size());
    slot.flags = static_cast<uint16_t>(merged[i].second);
    hashes.push_back(slot.hash);
    uint32_t index = static_cast<uint32_t>(slot.hash) & mask;
    uint32_t probe = 0;
    while (slots[index].length != 0) {
      index = (index + 1) & mask;
      if (++probe > kMaxProbe) return false;
    }
    slots[index] = slot;
    header.max_probe = std::max(header.max_probe, probe);
  }
  std::sort(hashes.begin(), hashes.end());
  return std::adjacent_find(hashes.begin(), hashes.end()) == hashes.end();
}

}  // namespace

std::vector<unsigned char> build(const std::vector<BuildEntry>& entries, const Settings& settings,
                                 uint64_t generation, uint64_t published_unix_ns) {
  if (settings.allocator.size() > kMaxAllocatorLength)
    throw BuildError("table: allocator name longer than " + std::to_string(kMaxAllocatorLength) + " bytes");
  if (settings.allocator.find('\0') != std::string::npos) throw BuildError("table: NUL in allocator name");

  std::vector<std::pair<std::string_view, uint32_t>> merged;
  merged.reserve(entries.size());
  for (const auto& entry : entries) {
    if (entry.key.empty() || entry.key.size() > kMaxKeyLength)
      throw BuildError("table: key length out of range: " + std::to_string(entry.key.size()));
    if (!is_valid_entry(entry.flags)) throw BuildError("table: bad flags for key " + entry.key);
    merged.emplace_back(entry.key, entry.flags);
  }
  std::sort(merged.begin(), merged.end());
  std::size_t unique = 0;
  bool sampled = false;
  for (std::size_t i = 0; i < merged.size(); ++i) {
    if (unique > 0 && merged[unique - 1].first == merged[i].first) {
      merged[unique - 1].second = merge_flags(merged[unique - 1].second, merged[i].second);
    } else {
      merged[unique++] = merged[i];
    }
    sampled = sampled || sample_code_of(merged[i].second) != kSampleCodeUnset;
  }
  merged.resize(unique);

  Header header{};
  std::memcpy(header.magic, MP_TABLE_MAGIC, kMagicSize);
  header.format_version = sampled ? kFormatVersion : kFormatVersionUnsampled;
  header.block_size = kBlockSize;
  header.generation = generation;
  header.published_unix_ns = published_unix_ns;
  header.slot_count = slot_count_for(merged.size());
  header.entry_count = static_cast<uint32_t>(merged.size());
  header.fail_policy = settings.fail_policy;
  header.monitor_flags = settings.monitor_flags;
  header.allocator_length = static_cast<uint32_t>(settings.allocator.size());
  std::memcpy(header.allocator, settings.allocator.data(), settings.allocator.size());

  StringArea strings;
  std::vector<uint32_t> offsets;
  offsets.reserve(merged.size());
  for (const auto& entry : merged) offsets.push_back(strings.add(entry.first));

  // The reader's bounds (kMaxProbe, distinct hashes) hold for the seed we
  // keep; another seed is tried until they do.
  std::vector<Slot> slots;
  bool placed = false;
  for (uint64_t attempt = 0; attempt < kMaxSeedAttempts && !placed; ++attempt) {
    header.hash_seed = seed_for(generation + attempt * 0x100000001b3ull);
    placed = place(merged, offsets, header, &slots);
  }
  if (!placed) throw BuildError("table: no hash seed keeps every probe within the reader's bound");

  header.slot_block_count = blocks_for(static_cast<uint64_t>(header.slot_count) * kSlotSize);
  header.string_bytes = static_cast<uint32_t>(strings.bytes().size());
  header.string_block_count = blocks_for(header.string_bytes);
  header.block_count = 1 + header.slot_block_count + header.string_block_count;
  header.total_size = static_cast<uint64_t>(header.block_count) * kBlockSize;

  std::vector<unsigned char> image(header.total_size, 0);
  for (uint32_t i = 0; i < header.slot_count; ++i) {
    unsigned char* block = block_at(image, 1 + i / kSlotsPerBlock);
    std::memcpy(block + (i % kSlotsPerBlock) * kSlotSize, &slots[i], kSlotSize);
  }
  const std::vector<char>& bytes = strings.bytes();
  for (std::size_t done = 0; done < bytes.size(); done += kBlockPayloadSize) {
    uint32_t block_index = 1 + header.slot_block_count + static_cast<uint32_t>(done / kBlockPayloadSize);
    std::size_t take = std::min<std::size_t>(kBlockPayloadSize, bytes.size() - done);
    std::memcpy(block_at(image, block_index), bytes.data() + done, take);
  }

  uint64_t chain = 0;
  for (uint32_t index = 1; index < header.block_count; ++index) chain = chain_step(chain, seal_block(image, index));
  header.payload_checksum = chain;
  std::memcpy(image.data(), &header, sizeof header);
  seal_block(image, 0);
  return image;
}

std::vector<BuildEntry> entries_from_config(const config::ParseResult& parsed) {
  std::vector<BuildEntry> out;
  out.reserve(parsed.entries.size());
  for (const auto& entry : parsed.entries) {
    if (entry.section == config::Section::exclude) {
      out.push_back({entry.text, kFlagExclude});
      continue;
    }
    const uint32_t code =
        entry.sample.specified ? sample_code_for_bytes(entry.sample.mean_bytes) : uint32_t{kSampleCodeUnset};
    out.push_back({entry.text, with_sample_code(kFlagMonitor, code)});
  }
  return out;
}

}  // namespace memproxy::table
