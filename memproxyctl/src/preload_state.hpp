// What `preload enable` added to a preload file, so that `preload disable`
// removes exactly that and keeps what was there before: FILE.memproxyctl-added,
// one entry per line. An allocator line the administrator had already is
// never recorded, so it outlives memproxy.
#ifndef MEMPROXYCTL_PRELOAD_STATE_HPP
#define MEMPROXYCTL_PRELOAD_STATE_HPP

#include <string>
#include <vector>

#include "atomic_write.hpp"

namespace memproxyctl {

std::string added_state_path_for(const std::string& file);

// The recorded entries; none when the state file is absent.
bool read_added_entries(const std::string& file, std::vector<std::string>* entries, std::string* error);

// Records `entries` (replacing the state atomically, with the preload file's
// owner and mode from `like`), or removes the state file when there are none.
// Empty on success, else the reason.
std::string write_added_entries(const std::string& file, const std::vector<std::string>& entries,
                                const FileSnapshot& like);

}  // namespace memproxyctl

#endif
