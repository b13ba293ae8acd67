// Replacing a file so that every reader sees either the old or the new content,
// whole: the new bytes go to a sibling file that is flushed to stable storage and
// then renamed over the target. A writer killed at any point leaves the target
// untouched (and at most a stale sibling, which the next write replaces).
#ifndef MEMPROXYD_ATOMIC_FILE_HPP
#define MEMPROXYD_ATOMIC_FILE_HPP

#include <cstddef>
#include <string>

namespace memproxy::daemon {

// The sibling written before the rename. One fixed name per target: only the
// single daemon instance (see InstanceLock) writes it, and a name that does not
// vary keeps crashed writers from leaving an unbounded trail of leftovers.
std::string staging_path_for(const std::string& target);

// Writes `size` bytes to `target` with mode `mode` (independent of the umask)
// through a Boost.Interprocess mapping of the staging file, then renames it
// over `target`. Empty string on success, else the reason.
std::string replace_file(const std::string& target, const void* data, std::size_t size, unsigned mode);

}  // namespace memproxy::daemon

#endif
