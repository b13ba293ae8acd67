// The parsed objects, shared by every request and every process of one
// user (a worker serves one user: symbolizer_client.hpp): keyed by
// build-id and file size (the same build mapped from different paths,
// containers or copies is parsed once) and, for a file without a build-id,
// by device, inode, size and modification time. The size is part of the
// build key because a build-id names what was linked, not the file: a
// stripped copy, or one whose debug sections were rewritten, has the same
// build-id, and must not stand for the file that has the debug information. At most `capacity` objects are kept; the
// least recently used is dropped first (a request still using it keeps
// it alive until it is done).
//
// A file's identity is an alias of the object it was found to be, so the
// common case, a file seen before, costs one fstat and no ELF read.
#ifndef MEMPROXYD_SYMBOLS_OBJECT_CACHE_HPP
#define MEMPROXYD_SYMBOLS_OBJECT_CACHE_HPP

#include <compare>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "symbols/elf_object.hpp"
#include "memproxy/unique_fd.hpp"

namespace memproxy::symbols {

struct CachedObject {
  std::shared_ptr<ElfObject> object;  // nullptr when the file could not be loaded
  uint64_t serial = 0;                // never reused, unlike an address: keys per-address caches
};

class ObjectCache {
 public:
  ObjectCache(size_t capacity, std::string debuginfo_path);

  // The object in the open, readable file `fd`, shown as `name`.
  CachedObject get(UniqueFd fd, const std::string& name, std::string* why);

  size_t size() const { return entries_.size(); }
  uint64_t loads() const { return loads_; }
  uint64_t evictions() const { return evictions_; }

 private:
  struct Identity {
    uint64_t dev = 0, inode = 0, size = 0;
    int64_t mtime_ns = 0;
    auto operator<=>(const Identity&) const = default;
  };
  struct Entry {
    CachedObject cached;
    std::string build;  // the by_build_ key, "" when none
    std::vector<Identity> identities;
  };
  using Iterator = std::list<Entry>::iterator;
  // Files seen as one build: bounded so an object copied many times cannot
  // grow its entry without bound (older aliases are forgotten).
  static constexpr size_t kMaxIdentities = 16;

  CachedObject use(Iterator entry, const Identity& identity);
  void evict_one();

  size_t capacity_;
  std::string debuginfo_path_;
  std::list<Entry> entries_;  // most recently used first
  std::map<Identity, Iterator> by_identity_;
  std::unordered_map<std::string, Iterator> by_build_;  // build-id + "/" + size
  uint64_t next_serial_ = 1;
  uint64_t loads_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace memproxy::symbols

#endif
