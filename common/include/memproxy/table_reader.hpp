// Reading a mapped exclusion table.
//
// Freestanding by contract: this header and table_reader.cpp use no heap, no
// exceptions, no RTTI and no libstdc++ runtime symbol, so libmemproxy can link
// them into every process (tests check the object's undefined symbols). Only
// libc's memcmp/memcpy may be called.
//
// Every function validates what it reads before it trusts it, and every loop
// is bounded by header fields that were themselves validated; a corrupt,
// truncated or hostile table yields a Status other than ok, never a crash.
#ifndef MEMPROXY_TABLE_READER_HPP
#define MEMPROXY_TABLE_READER_HPP

#include <stddef.h>
#include <stdint.h>

#include "memproxy/table_format.h"

namespace memproxy::table {

enum class Status : uint32_t {
  ok = 0,
  too_small,             // shorter than one block
  bad_magic,             // not a memproxy table
  bad_version,           // a format this reader does not know
  bad_size,              // header sizes disagree with each other or the mapping
  bad_header_checksum,   // the header block fails its checksum
  bad_layout,            // header fields out of their ranges
  bad_block_checksum,    // a payload block fails its checksum
  bad_slot,              // a slot points outside the string area or holds bad fields
  bad_payload_checksum,  // every block is sound but the set is not the one published
  unreadable,            // a block could not be read (short read: the file changed in place)
};

// A short, stable, human-readable name ("ok", "bad magic", ...).
const char* status_message(Status status);

// A validated view of a mapped table. Plain data: copy it freely.
struct View {
  const unsigned char* base = nullptr;
  uint64_t size = 0;
  const Header* header = nullptr;
};

// Validates the header block (magic, version, sizes against `size`, checksum,
// field ranges). O(1): touches only the first block.
Status open(const void* data, uint64_t size, View* out);

struct LookupResult {
  Status status = Status::ok;  // ok: `flags` is the answer (0 = not listed)
  uint32_t flags = 0;          // EntryFlags and sampling code of the key, as validated
};

// Looks up one key (a program name, or an absolute path). O(1): verifies and
// reads only the blocks on the key's probe path (see kMaxProbe).
LookupResult lookup(const View& view, const char* key, size_t length);

// The header fields a lookup needs, copied out of a verified header.
struct Geometry {
  uint64_t hash_seed = 0;
  uint32_t slot_count = 0;
  uint32_t max_probe = 0;
  uint32_t slot_block_count = 0;
  uint32_t string_bytes = 0;
  uint32_t format_version = 0;  // what a slot may carry
};
Geometry geometry_of(const Header& header);

// A table read from a descriptor block by block with pread(2) into one
// buffer: what a starting process uses. Nothing is mapped, so a table
// truncated or rewritten in place yields a short read (Status::unreadable),
// never SIGBUS, and only the blocks a lookup needs are read. Small on
// purpose: it lives on the stack of every starting process.
struct FileTable {
  int fd = -1;
  uint64_t size = 0;
  Geometry geometry;
  uint32_t buffered = UINT32_MAX;  // index of the verified block in `block`
  alignas(8) unsigned char block[kBlockSize];

  // The verified header: valid after open_file() until the first lookup.
  const Header& header() const { return *reinterpret_cast<const Header*>(block); }
};

// Reads and validates the header block of the file open on `fd`, of `size` bytes.
Status open_file(int fd, uint64_t size, FileTable* out);
LookupResult lookup(FileTable* table, const char* key, size_t length);

// Verifies every block and the payload checksum; for tools, not for the hot path.
Status verify_all(const View& view);

// Calls `visit` for every entry, in slot order, after verify_all succeeded.
// `visit` returns false to stop early.
using EntryVisitor = bool (*)(void* context, const char* key, size_t length, uint32_t flags);
Status for_each_entry(const View& view, EntryVisitor visit, void* context);

// The format's three hashes, defined once here for the builder, the reader
// and tests that forge tables: the key hash; a block's checksum (over its
// first kBlockPayloadSize bytes, seeded by its index); and one step of the
// payload chain, Header::payload_checksum = fold of chain_step over the payload
// blocks' checksums in order, starting from 0.
uint64_t key_hash(const char* key, size_t length, uint64_t seed);
uint64_t block_checksum(const unsigned char* block, uint32_t index);
uint64_t chain_step(uint64_t chain, uint64_t block_checksum);

}  // namespace memproxy::table

#endif
