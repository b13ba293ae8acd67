// Freestanding table reader: no heap, no exceptions, no libstdc++ symbols
// (tests check the undefined symbols of a shared object built from this file).
//
// Trust is established block by block: a byte of a payload block is used only
// after that block's checksum was verified in the same call. Every loop runs
// over counts taken from the verified header, and the header's counts are
// checked against each other and against the mapping's size, so no input can
// make a call read outside the mapping or run unbounded.
#include "memproxy/table_reader.hpp"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace memproxy::table {
namespace {

bool block_is_sound(const unsigned char* block, uint32_t index) {
  BlockTrailer trailer;
  memcpy(&trailer, block + kBlockPayloadSize, sizeof trailer);
  return trailer.reserved == 0 && trailer.checksum == block_checksum(block, index);
}

bool is_power_of_two(uint32_t value) { return value != 0 && (value & (value - 1)) == 0; }

bool read_block(int fd, uint32_t index, unsigned char* out) {
  uint64_t offset = static_cast<uint64_t>(index) * kBlockSize;
  size_t done = 0;
  while (done < kBlockSize) {
    ssize_t n = pread(fd, out + done, kBlockSize - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Where a lookup's blocks come from: a mapped image, or a file read into one
// buffer. block() returns a verified block, valid until the next call, or
// nullptr with `failure` set. `verified` caches the last block proven sound,
// which is all a linear probe or a string compare needs.
class BlockCursor {
 public:
  explicit BlockCursor(const View* view) : view_(view) {}
  explicit BlockCursor(FileTable* file) : file_(file) {}

  const unsigned char* block(uint32_t index) {
    if (view_ != nullptr) {
      const unsigned char* at = view_->base + static_cast<uint64_t>(index) * kBlockSize;
      if (index != verified_) {
        if (!block_is_sound(at, index)) return fail(Status::bad_block_checksum);
        verified_ = index;
      }
      return at;
    }
    if (file_->buffered != index) {
      file_->buffered = UINT32_MAX;
      if (!read_block(file_->fd, index, file_->block)) return fail(Status::unreadable);
      if (!block_is_sound(file_->block, index)) return fail(Status::bad_block_checksum);
      file_->buffered = index;
    }
    return file_->block;
  }
  Status failure() const { return failure_; }

 private:
  const unsigned char* fail(Status status) {
    failure_ = status;
    return nullptr;
  }
  const View* view_ = nullptr;
  FileTable* file_ = nullptr;
  uint32_t verified_ = 0;  // block 0 (the header) is proven by open()
  Status failure_ = Status::ok;
};

uint32_t first_string_block(const Geometry& g) { return 1 + g.slot_block_count; }

Status read_slot(BlockCursor& cursor, uint32_t slot_index, Slot* out) {
  uint32_t block_index = 1 + slot_index / kSlotsPerBlock;
  const unsigned char* block = cursor.block(block_index);
  if (block == nullptr) return cursor.failure();
  memcpy(out, block + (slot_index % kSlotsPerBlock) * kSlotSize, sizeof *out);
  return Status::ok;
}

Status check_slot(const Geometry& h, const Slot& slot) {
  if (slot.length == 0) {
    bool all_zero = slot.hash == 0 && slot.string_offset == 0 && slot.flags == 0;
    return all_zero ? Status::ok : Status::bad_slot;
  }
  if (slot.length > kMaxKeyLength) return Status::bad_slot;
  if ((slot.flags & kSectionFlags) == 0 || (slot.flags & ~kKnownFlags) != 0) return Status::bad_slot;
  const uint32_t code = sample_code_of(slot.flags);
  if (code != kSampleCodeUnset) {
    if (h.format_version < kFormatVersion || !is_sample_code(code)) return Status::bad_slot;
    if ((slot.flags & kFlagMonitor) == 0) return Status::bad_slot;
  }
  if (static_cast<uint64_t>(slot.string_offset) + slot.length > h.string_bytes) return Status::bad_slot;
  // The builder never lets a key of at most one block's payload span two blocks.
  uint32_t within = slot.string_offset % kBlockPayloadSize;
  if (slot.length <= kBlockPayloadSize && within + slot.length > kBlockPayloadSize) return Status::bad_slot;
  return Status::ok;
}

// Visits the key bytes of `slot` chunk by chunk (a key may span blocks only
// when it is longer than a block's payload). `chunk` returns false to stop.
template <typename Chunk>
Status for_each_key_chunk(BlockCursor& cursor, const Geometry& h, const Slot& slot, Chunk chunk) {
  uint64_t logical = slot.string_offset;
  uint32_t remaining = slot.length;
  while (remaining > 0) {
    uint32_t block_index = first_string_block(h) + static_cast<uint32_t>(logical / kBlockPayloadSize);
    uint32_t within = static_cast<uint32_t>(logical % kBlockPayloadSize);
    const unsigned char* block = cursor.block(block_index);
    if (block == nullptr) return cursor.failure();
    uint32_t take = kBlockPayloadSize - within;
    if (take > remaining) take = remaining;
    if (!chunk(block + within, take)) return Status::ok;
    logical += take;
    remaining -= take;
  }
  return Status::ok;
}

Status key_equals(BlockCursor& cursor, const Geometry& h, const Slot& slot, const char* key, bool* equal) {
  const unsigned char* expected = reinterpret_cast<const unsigned char*>(key);
  *equal = true;
  return for_each_key_chunk(cursor, h, slot, [&](const unsigned char* bytes, uint32_t count) {
    if (memcmp(bytes, expected, count) != 0) {
      *equal = false;
      return false;
    }
    expected += count;
    return true;
  });
}

Status check_header_fields(const Header& h, uint64_t size) {
  if (h.block_size != kBlockSize) return Status::bad_layout;
  if (h.total_size != size) return Status::bad_size;
  if (static_cast<uint64_t>(h.block_count) * kBlockSize != h.total_size) return Status::bad_size;
  if (1ull + h.slot_block_count + h.string_block_count != h.block_count) return Status::bad_size;
  if (h.slot_count != 0 && !is_power_of_two(h.slot_count)) return Status::bad_layout;
  uint64_t slot_blocks = (static_cast<uint64_t>(h.slot_count) + kSlotsPerBlock - 1) / kSlotsPerBlock;
  if (slot_blocks != h.slot_block_count) return Status::bad_layout;
  if (h.entry_count > h.slot_count / 2) return Status::bad_layout;
  if (h.max_probe > kMaxProbe || (h.slot_count != 0 && h.max_probe >= h.slot_count)) return Status::bad_layout;
  if (static_cast<uint64_t>(h.string_bytes) > static_cast<uint64_t>(h.string_block_count) * kBlockPayloadSize)
    return Status::bad_layout;
  if (h.fail_policy != kFailSystem && h.fail_policy != kFailCustom) return Status::bad_layout;
  if (h.allocator_length > kMaxAllocatorLength) return Status::bad_layout;
  if (h.allocator[h.allocator_length] != '\0') return Status::bad_layout;
  if (memchr(h.allocator, '\0', h.allocator_length) != nullptr) return Status::bad_layout;
  for (uint32_t word : h.reserved) {
    if (word != 0) return Status::bad_layout;
  }
  return Status::ok;
}

// Block 0 at `base`: magic, version, checksum, then the fields' ranges.
Status check_header_block(const unsigned char* base, uint64_t size) {
  if (memcmp(base, MP_TABLE_MAGIC, kMagicSize) != 0) return Status::bad_magic;
  uint32_t version;
  memcpy(&version, base + offsetof(Header, format_version), sizeof version);
  if (version != kFormatVersion && version != kFormatVersionUnsampled) return Status::bad_version;
  if (!block_is_sound(base, 0)) return Status::bad_header_checksum;
  // Block 0 starts a mapping or FileTable::block, both aligned for Header.
  return check_header_fields(*reinterpret_cast<const Header*>(base), size);
}

// The probe: at most max_probe + 1 slots (<= kMaxProbe + 1, checked at
// open), and at most one key compared: the builder gives every key a
// distinct 64-bit hash, so the first slot whose hash and length match
// decides.
LookupResult lookup_with(BlockCursor& cursor, const Geometry& h, const char* key, size_t length) {
  if (h.slot_count == 0 || length == 0 || length > kMaxKeyLength) return {};
  uint64_t hash = key_hash(key, length, h.hash_seed);
  uint32_t mask = h.slot_count - 1;
  uint32_t index = static_cast<uint32_t>(hash) & mask;
  for (uint32_t probe = 0; probe <= h.max_probe; ++probe, index = (index + 1) & mask) {
    Slot slot;
    Status status = read_slot(cursor, index, &slot);
    if (status == Status::ok) status = check_slot(h, slot);
    if (status != Status::ok) return {status, 0};
    if (slot.length == 0) return {};
    if (slot.hash != hash || slot.length != length) continue;
    bool equal = false;
    status = key_equals(cursor, h, slot, key, &equal);
    if (status != Status::ok) return {status, 0};
    return equal ? LookupResult{Status::ok, slot.flags} : LookupResult{};
  }
  return {};
}

}  // namespace

const char* status_message(Status status) {
  switch (status) {
    case Status::ok: return "ok";
    case Status::too_small: return "too small to be a table";
    case Status::bad_magic: return "not a memproxy table (bad magic)";
    case Status::bad_version: return "unsupported table format version";
    case Status::bad_size: return "table size does not match its header";
    case Status::bad_header_checksum: return "header checksum mismatch";
    case Status::bad_layout: return "header fields out of range";
    case Status::bad_block_checksum: return "block checksum mismatch";
    case Status::bad_slot: return "corrupt index slot";
    case Status::bad_payload_checksum: return "payload checksum mismatch";
    case Status::unreadable: return "table cannot be read (changed in place?)";
  }
  return "unknown status";
}

uint64_t key_hash(const char* key, size_t length, uint64_t seed) {
  return XXH3_64bits_withSeed(key, length, seed);
}

uint64_t block_checksum(const unsigned char* block, uint32_t index) {
  return XXH3_64bits_withSeed(block, kBlockPayloadSize, index);
}

uint64_t chain_step(uint64_t chain, uint64_t checksum) {
  return XXH3_64bits_withSeed(&checksum, sizeof checksum, chain);
}

Status open(const void* data, uint64_t size, View* out) {
  if (data == nullptr || size < kBlockSize) return Status::too_small;
  const unsigned char* base = static_cast<const unsigned char*>(data);
  Status status = check_header_block(base, size);
  if (status != Status::ok) return status;
  out->base = base;
  out->size = size;
  out->header = reinterpret_cast<const Header*>(base);
  return Status::ok;
}

Status open_file(int fd, uint64_t size, FileTable* out) {
  out->fd = fd;
  out->size = size;
  out->buffered = UINT32_MAX;
  if (size < kBlockSize) return Status::too_small;
  if (!read_block(fd, 0, out->block)) return Status::unreadable;
  Status status = check_header_block(out->block, size);
  if (status != Status::ok) return status;
  out->geometry = geometry_of(out->header());
  out->buffered = 0;
  return Status::ok;
}

Geometry geometry_of(const Header& h) {
  Geometry g;
  g.hash_seed = h.hash_seed;
  g.slot_count = h.slot_count;
  g.max_probe = h.max_probe;
  g.slot_block_count = h.slot_block_count;
  g.string_bytes = h.string_bytes;
  g.format_version = h.format_version;
  return g;
}

LookupResult lookup(const View& view, const char* key, size_t length) {
  BlockCursor cursor(&view);
  return lookup_with(cursor, geometry_of(*view.header), key, length);
}

LookupResult lookup(FileTable* table, const char* key, size_t length) {
  BlockCursor cursor(table);
  return lookup_with(cursor, table->geometry, key, length);
}

Status verify_all(const View& view) {
  const Header& h = *view.header;
  uint64_t chain = 0;
  for (uint32_t index = 1; index < h.block_count; ++index) {
    const unsigned char* block = view.base + static_cast<uint64_t>(index) * kBlockSize;
    BlockTrailer trailer;
    memcpy(&trailer, block + kBlockPayloadSize, sizeof trailer);
    if (trailer.reserved != 0 || trailer.checksum != block_checksum(block, index)) return Status::bad_block_checksum;
    chain = chain_step(chain, trailer.checksum);
  }
  if (chain != h.payload_checksum) return Status::bad_payload_checksum;

  // Every slot well-formed, the occupied count as declared, and every key
  // within max_probe of its home slot, so that lookup() finds all of them.
  BlockCursor cursor(&view);
  const Geometry g = geometry_of(h);
  uint32_t occupied = 0;
  for (uint32_t index = 0; index < h.slot_count; ++index) {
    Slot slot;
    Status status = read_slot(cursor, index, &slot);
    if (status == Status::ok) status = check_slot(g, slot);
    if (status != Status::ok) return status;
    if (slot.length == 0) continue;
    ++occupied;
    uint32_t home = static_cast<uint32_t>(slot.hash) & (h.slot_count - 1);
    uint32_t distance = (index - home) & (h.slot_count - 1);
    if (distance > h.max_probe) return Status::bad_slot;
  }
  if (occupied != h.entry_count) return Status::bad_layout;
  return Status::ok;
}

Status for_each_entry(const View& view, EntryVisitor visit, void* context) {
  Status status = verify_all(view);
  if (status != Status::ok) return status;
  const Header& h = *view.header;
  BlockCursor cursor(&view);
  const Geometry g = geometry_of(h);
  char key[kMaxKeyLength + 1];
  for (uint32_t index = 0; index < h.slot_count; ++index) {
    Slot slot;
    status = read_slot(cursor, index, &slot);
    if (status != Status::ok) return status;
    if (slot.length == 0) continue;
    char* out = key;
    status = for_each_key_chunk(cursor, g, slot, [&out](const unsigned char* bytes, uint32_t count) {
      memcpy(out, bytes, count);
      out += count;
      return true;
    });
    if (status != Status::ok) return status;
    *out = '\0';
    if (!visit(context, key, slot.length, slot.flags)) break;
  }
  return Status::ok;
}

}  // namespace memproxy::table
