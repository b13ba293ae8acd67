#include "preload_state.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "memproxy/atomic_replace.hpp"

namespace memproxyctl {

std::string added_state_path_for(const std::string& file) { return file + ".memproxyctl-added"; }

bool read_added_entries(const std::string& file, std::vector<std::string>* entries, std::string* error) {
  entries->clear();
  FileSnapshot state;
  if (!read_snapshot(added_state_path_for(file), &state, error)) return false;
  size_t start = 0;
  while (start < state.bytes.size()) {
    size_t end = state.bytes.find('\n', start);
    if (end == std::string::npos) end = state.bytes.size();
    std::string line = state.bytes.substr(start, end - start);
    if (!line.empty() && line[0] != '#') entries->push_back(line);
    start = end + 1;
  }
  return true;
}

std::string write_added_entries(const std::string& file, const std::vector<std::string>& entries,
                                const FileSnapshot& like) {
  const std::string path = added_state_path_for(file);
  if (entries.empty()) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return "cannot remove " + path + ": " + std::strerror(errno);
    memproxy::atomic::sync_directory_of(path);
    return {};
  }
  std::string text = "# Added to " + file + " by `memproxyctl preload enable`; `preload disable` removes these.\n";
  for (const auto& entry : entries) text += entry + "\n";
  const mode_t mode = like.exists ? (like.st.st_mode & 0666) : 0644;
  std::optional<memproxy::atomic::Owner> owner;
  if (like.exists) owner = memproxy::atomic::Owner{like.st.st_uid, like.st.st_gid};
  return memproxy::atomic::replace_file(path, text, mode, owner);
}

}  // namespace memproxyctl
