// Publishing the table file: the staging, rename and flush rule shared with
// every other writer (memproxy/atomic_replace.hpp), with the bytes written
// through a Boost.Interprocess mapping of the staging file.
#ifndef MEMPROXYD_ATOMIC_FILE_HPP
#define MEMPROXYD_ATOMIC_FILE_HPP

#include <cstddef>
#include <string>

#include "memproxy/atomic_replace.hpp"

namespace memproxy::daemon {

using memproxy::atomic::staging_path_for;

// Writes `size` bytes to `target` with mode `mode` (independent of the umask)
// through a mapping of the staging file, msync()s it, then renames it over
// `target`. Empty string on success, else the reason.
std::string replace_file(const std::string& target, const void* data, std::size_t size, unsigned mode);

}  // namespace memproxy::daemon

#endif
