// The executable file mappings of a process, from /proc/PID/maps: what a
// return address is resolved against.
//
// The text is the kernel's, but its paths are chosen by the process (any
// byte but NUL; the kernel escapes a newline as "\012"), and a process can
// have tens of thousands of mappings: reading is bounded in bytes and in
// mappings kept, and a malformed line is skipped, never trusted.
#ifndef MEMPROXYD_SYMBOLS_MAPPINGS_HPP
#define MEMPROXYD_SYMBOLS_MAPPINGS_HPP

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace memproxy::symbols {

struct Mapping {
  uint64_t start = 0;   // first address
  uint64_t end = 0;     // one past the last address
  uint64_t offset = 0;  // file offset mapped at `start`
  uint64_t dev = 0;     // the file's device (makedev of the major:minor shown)
  uint64_t inode = 0;
  std::string path;     // unescaped, without the " (deleted)" mark
  bool deleted = false; // the kernel marked the path " (deleted)"
  friend bool operator==(const Mapping&, const Mapping&) = default;
};

inline constexpr size_t kMaxMapsBytes = size_t{64} << 20;
inline constexpr size_t kMaxMappings = 16384;

// The executable, file-backed mappings of a maps text (path absolute, 'x'
// permission), sorted by start, overlapping or malformed lines dropped, at
// most kMaxMappings.
std::vector<Mapping> parse_maps(std::string_view text);

// parse_maps of /proc/PID/maps; nullopt with `why` when it cannot be read
// or is larger than kMaxMapsBytes.
std::optional<std::vector<Mapping>> read_maps(pid_t pid, std::string* why);

// The mapping containing `address`, or nullptr. `mappings` sorted as
// parse_maps returns them.
const Mapping* find_mapping(const std::vector<Mapping>& mappings, uint64_t address);

// The mapping a return address's call instruction lies in: the one holding
// `return_address - 1` (a call that ends a mapping returns to its end).
const Mapping* find_call_mapping(const std::vector<Mapping>& mappings, uint64_t return_address);

}  // namespace memproxy::symbols

#endif
