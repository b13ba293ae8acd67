// The in-process symbolizer: return addresses of one process, resolved
// against its mappings into Locations. What the worker
// (memproxyd-symbolize) runs on every request, and what tests call
// directly. It parses whatever the objects contain, so the daemon never
// calls it itself: it asks a sandboxed worker (symbolizer_client.hpp).
//
// Caches, both bounded with least-recently-used eviction, shared by every
// call on one Symbolizer: the parsed objects (object_cache.hpp) and the
// frames at each (object, address). Not thread-safe: one caller at a time.
#ifndef MEMPROXYD_SYMBOLS_SYMBOLIZER_HPP
#define MEMPROXYD_SYMBOLS_SYMBOLIZER_HPP

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "symbols/location.hpp"
#include "symbols/lru_cache.hpp"
#include "symbols/mappings.hpp"
#include "symbols/object_cache.hpp"
#include "memproxy/unique_fd.hpp"

namespace memproxy::symbols {

struct SymbolizerOptions {
  size_t max_objects = 64;        // parsed objects kept
  size_t max_addresses = 65536;   // (object, address) results kept
  std::string debuginfo_path;     // libdwfl's debug search path; "" for ":.debug:/usr/lib/debug"
};

struct SymbolizerStats {
  size_t objects = 0;
  size_t addresses = 0;
  uint64_t object_loads = 0;
  uint64_t object_evictions = 0;
  uint64_t address_hits = 0;
  uint64_t address_evictions = 0;
};

// A readable descriptor of the file `mapping` maps, or an empty one with
// the reason in `why`. Called at most once per mapping per call.
using ObjectOpener = std::function<UniqueFd(const Mapping& mapping, std::string* why)>;

class Symbolizer {
 public:
  explicit Symbolizer(SymbolizerOptions options = {});

  // One Location per address, in order. Every address is a RETURN address
  // (what a stack walk, a sample's pcs or __builtin_return_address yield):
  // it is looked up at address - 1, in the call instruction, so the line is
  // the call's even when the call ends a function or an inlined block.
  // `offset` in the result is the return address's own.
  std::vector<Location> symbolize_return_addresses(const std::vector<Mapping>& mappings,
                                                   std::span<const uint64_t> return_addresses,
                                                   const ObjectOpener& open);

  // The same for a process this process may read (/proc/PID/maps, and
  // map_files or the verified path: open_mapped_object). nullopt with
  // `why` when its maps cannot be read.
  std::optional<std::vector<Location>> symbolize_process(pid_t pid, std::span<const uint64_t> return_addresses,
                                                         std::string* why);

  SymbolizerStats stats() const;

 private:
  struct AddressKey {
    uint64_t serial = 0;
    uint64_t address = 0;
    bool operator==(const AddressKey&) const = default;
  };
  struct AddressKeyHash {
    size_t operator()(const AddressKey& key) const {
      return std::hash<uint64_t>()(key.address * 0x9e3779b97f4a7c15ULL ^ key.serial);
    }
  };

  ObjectCache objects_;
  LruCache<AddressKey, std::vector<Frame>, AddressKeyHash> addresses_;
  uint64_t address_hits_ = 0;
};

}  // namespace memproxy::symbols

#endif
