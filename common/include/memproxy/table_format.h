// The on-disk layout of the exclusion table: the contract between memproxyd
// (which writes it) and libmemproxy (which maps it in every process).
//
// Invariants of the layout:
// - Bitness-neutral: only fixed-width integers, file offsets instead of
//   pointers, explicit padding; every struct has a static_assert on its size and
//   on the offsets a reader relies on. A 32-bit reader reads a 64-bit writer's table.
// - Native little-endian (the platforms built here: x86, x86_64, aarch64); the
//   magic is a byte string, so a big-endian reader rejects the table as
//   bad_version rather than misreading it.
// - The file is a sequence of kBlockSize blocks. Every block ends in a
//   BlockTrailer whose checksum covers the block's other bytes, seeded by the
//   block's index. A reader verifies each block it touches before using a byte
//   of it, so a lookup is safe without reading the whole file, and touches only
//   the header block, the slot block(s) on its probe path and the block(s) of
//   the string it compares: at most 4 pages for keys shorter than a block.
// - Block 0 is the header. Then slot_block_count blocks of Slots (an
//   open-addressed, linearly probed hash index), then string_block_count
//   blocks of string data. Strings are addressed by a logical offset into the
//   concatenated payload bytes of the string blocks (trailers excluded) and may
//   span blocks.
// - The header's payload_checksum hashes the sequence of every payload block's
//   checksum: a full verification (daemon, memproxyctl, tests) proves the whole
//   file; a process's lookup proves what it used.
#ifndef MEMPROXY_TABLE_FORMAT_H
#define MEMPROXY_TABLE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

namespace memproxy::table {

#define MP_TABLE_MAGIC "MPXTABLE"
inline constexpr uint32_t kMagicSize = 8;
// Version 2 adds the sampling code to Slot::flags (bits 8..13). Its only
// change is what a slot may carry, so the builder writes version 1 whenever
// no entry has a sampling code, and a table that does not use the option
// reads in every earlier library. A version-1 reader refuses a
// version-2 table at open (bad_version: every process it serves takes the
// system allocator, and says why). Left at version 1, it would refuse
// instead each lookup whose probe path crosses a sampled slot (bad_slot):
// a hash-dependent set of unrelated programs would take the fail policy,
// under kFailCustom [exclude]d ones too. Readers accept both versions; a
// version-1 slot with a sampling code is a bad slot, as it was.
inline constexpr uint32_t kFormatVersion = 2;            // the newest; written when an entry samples
inline constexpr uint32_t kFormatVersionUnsampled = 1;   // written otherwise
inline constexpr uint32_t kBlockSize = 4096;
inline constexpr uint32_t kBlockTrailerSize = 16;
inline constexpr uint32_t kBlockPayloadSize = kBlockSize - kBlockTrailerSize;
inline constexpr uint32_t kSlotSize = 16;
inline constexpr uint32_t kSlotsPerBlock = kBlockPayloadSize / kSlotSize;  // 255
inline constexpr uint32_t kMaxAllocatorLength = 1023;                      // bytes, without the NUL
inline constexpr uint32_t kMaxKeyLength = 4095;                            // PATH_MAX - 1
// The builder reseeds the hash until every key lies within kMaxProbe slots of
// its home slot and no two keys share a 64-bit hash; the reader rejects a
// table that claims otherwise. A lookup therefore reads at most the header,
// two slot blocks (kMaxProbe + 1 slots span at most two) and the string
// blocks of one key: a forged table costs no more than a published one.
inline constexpr uint32_t kMaxProbe = 64;

// Entry flags, stored in Slot::flags. A key may carry both section flags;
// every key carries at least one.
enum EntryFlags : uint32_t {
  kFlagExclude = 1u << 0,  // route to the system allocator
  kFlagMonitor = 1u << 1,  // account allocations (Monitoring)
};
inline constexpr uint32_t kSectionFlags = kFlagExclude | kFlagMonitor;

// The sampling code, Slot::flags bits 8..13 (format version 2): what a
// `[monitor sample=...]` header asked for. 0: nothing asked (the default
// applies); kSampleCodeOff: no sampled stacks; otherwise log2 of the mean
// bytes between sampled allocations, kMinSampleShift..kMaxSampleShift
// (16 bytes to 1 GiB). Off is the largest code on purpose: combining codes
// by their minimum (match.hpp) then lets any rate win over off.
inline constexpr uint32_t kSampleCodeShift = 8;
inline constexpr uint32_t kSampleCodeMask = 0x3fu << kSampleCodeShift;
inline constexpr uint32_t kSampleCodeUnset = 0;
inline constexpr uint32_t kSampleCodeOff = 63;
inline constexpr uint32_t kMinSampleShift = 4;
inline constexpr uint32_t kMaxSampleShift = 30;

// Every bit a slot may carry. A sampling code is valid only on a monitored
// key, and only as one of the codes above.
inline constexpr uint32_t kKnownFlags = kSectionFlags | kSampleCodeMask;

constexpr uint32_t sample_code_of(uint32_t flags) { return (flags & kSampleCodeMask) >> kSampleCodeShift; }

constexpr uint32_t with_sample_code(uint32_t flags, uint32_t code) {
  return (flags & ~kSampleCodeMask) | ((code << kSampleCodeShift) & kSampleCodeMask);
}

constexpr bool is_sample_code(uint32_t code) {
  return code == kSampleCodeUnset || code == kSampleCodeOff || (code >= kMinSampleShift && code <= kMaxSampleShift);
}

// The code for a mean of `bytes` (0 = off); kSampleCodeUnset when `bytes`
// is no power of two within the range, which is never a valid request.
constexpr uint32_t sample_code_for_bytes(uint64_t bytes) {
  if (bytes == 0) return kSampleCodeOff;
  for (uint32_t shift = kMinSampleShift; shift <= kMaxSampleShift; ++shift) {
    if (bytes == uint64_t{1} << shift) return shift;
  }
  return kSampleCodeUnset;
}

// The mean bytes a code asks for: 0 for off (and for unset, which asks for
// nothing: callers tell the two apart first).
constexpr uint64_t sample_bytes_of_code(uint32_t code) {
  return code >= kMinSampleShift && code <= kMaxSampleShift ? uint64_t{1} << code : 0;
}

static_assert(sample_code_for_bytes(65536) == 16 && sample_bytes_of_code(16) == 65536, "sampling code");
static_assert(sample_code_for_bytes(0) == kSampleCodeOff && sample_bytes_of_code(kSampleCodeOff) == 0, "off");
static_assert(sample_code_for_bytes(100 * 1024) == kSampleCodeUnset, "not a power of two");
static_assert(sample_code_of(with_sample_code(kFlagMonitor, kSampleCodeOff)) == kSampleCodeOff, "code bits");
static_assert((kSampleCodeMask & kSectionFlags) == 0 && kSampleCodeMask == 0x3f00u, "flag bits");

// What a process does when it cannot trust the table (Header::fail_policy).
enum FailPolicy : uint32_t {
  kFailSystem = 0,  // route to the system allocator: the safe default
  kFailCustom = 1,  // route to the custom allocator anyway
};

struct BlockTrailer {
  uint64_t checksum; /* XXH3-64 of the block's first kBlockPayloadSize bytes, seed = block index */
  uint64_t reserved; /* zero */
};
static_assert(sizeof(BlockTrailer) == kBlockTrailerSize, "trailer size");

struct Slot {
  uint64_t hash;          /* key hash; an empty slot is all zero bytes */
  uint32_t string_offset; /* logical offset of the key in the string area */
  uint16_t length;        /* key length in bytes, 1..kMaxKeyLength; 0 = empty */
  uint16_t flags;         /* EntryFlags and the sampling code */
};
static_assert(sizeof(Slot) == kSlotSize, "slot size");
static_assert(offsetof(Slot, hash) == 0, "slot.hash offset");
static_assert(offsetof(Slot, string_offset) == 8, "slot.string_offset offset");
static_assert(offsetof(Slot, length) == 12, "slot.length offset");
static_assert(offsetof(Slot, flags) == 14, "slot.flags offset");

struct Header {
  char magic[kMagicSize];     /* MP_TABLE_MAGIC, no NUL */
  uint32_t format_version;    /* kFormatVersionUnsampled or kFormatVersion */
  uint32_t block_size;        /* kBlockSize */
  uint64_t total_size;        /* file size in bytes = block_count * block_size */
  uint64_t generation;        /* grows by one per publish */
  uint64_t published_unix_ns; /* wall clock of the publish, for status displays */
  uint64_t hash_seed;         /* seed of the key hash */
  uint64_t payload_checksum;  /* XXH3-64 over every payload block's checksum, in order */
  uint32_t block_count;       /* including the header block */
  uint32_t entry_count;       /* occupied slots, at most half of slot_count */
  uint32_t slot_count;        /* power of two, or 0 for an empty table */
  uint32_t slot_block_count;  /* ceil(slot_count / kSlotsPerBlock) */
  uint32_t string_block_count;
  uint32_t string_bytes;      /* used logical bytes of the string area */
  uint32_t max_probe;         /* longest probe sequence of any key, <= kMaxProbe; lookups stop there */
  uint32_t fail_policy;       /* FailPolicy */
  uint32_t monitor_flags;     /* reserved for Monitoring settings; zero today */
  uint32_t allocator_length;  /* bytes in allocator[], 0 = none named */
  uint32_t reserved[4];       /* zero */
  char allocator[kMaxAllocatorLength + 1]; /* custom allocator library, NUL-terminated */
};
static_assert(offsetof(Header, format_version) == 8, "header.format_version offset");
static_assert(offsetof(Header, total_size) == 16, "header.total_size offset");
static_assert(offsetof(Header, generation) == 24, "header.generation offset");
static_assert(offsetof(Header, payload_checksum) == 48, "header.payload_checksum offset");
static_assert(offsetof(Header, block_count) == 56, "header.block_count offset");
static_assert(offsetof(Header, allocator_length) == 92, "header.allocator_length offset");
static_assert(offsetof(Header, allocator) == 112, "header.allocator offset");
static_assert(sizeof(Header) == 1136, "header size");
static_assert(sizeof(Header) <= kBlockPayloadSize, "header fits its block");

}  // namespace memproxy::table

#endif
