// Reading a system file exactly, and replacing it so that a reader sees
// either the old or the new content, never a mixture, and an interrupted
// write leaves the old one (the rule in memproxy/atomic_replace.hpp).
#ifndef MEMPROXYCTL_ATOMIC_WRITE_HPP
#define MEMPROXYCTL_ATOMIC_WRITE_HPP

#include <sys/stat.h>

#include <cstddef>
#include <string>

namespace memproxyctl {

// Files memproxyctl edits are short lists; anything larger is not one.
inline constexpr std::size_t kMaxEditedFileBytes = 1 << 20;

// What a file held when it was read: the exact bytes, and its owner and mode.
struct FileSnapshot {
  bool exists = false;
  std::string bytes;
  struct stat st {};
};

// Reads a whole regular file without blocking (a FIFO in its place is an
// error, not a hang). An absent file is a snapshot with exists == false.
bool read_snapshot(const std::string& path, FileSnapshot* snapshot, std::string* error);

// The same, for callers that need only the text.
bool read_text_file(const std::string& path, std::string* text, bool* exists, std::string* error);

enum class ReplaceOutcome {
  written,
  changed,  // the file no longer holds what `before` read: nothing was written
  failed,   // an I/O error: nothing was written
};

// Replaces `path` by `content`, with the owner and mode of the file it
// replaces (root's 0644 for a new one). The new content is staged and flushed
// first; then the file is read again and must still hold exactly
// `before.bytes`; then `before.bytes` (when the file existed and
// `backup_path` is not empty) become the backup, and the staged file is
// renamed over `path`. `error` says why when the outcome is not `written`.
ReplaceOutcome replace_if_unchanged(const std::string& path, const FileSnapshot& before, const std::string& content,
                                    const std::string& backup_path, std::string* error);

}  // namespace memproxyctl

#endif
