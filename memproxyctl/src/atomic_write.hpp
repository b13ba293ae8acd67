// Replacing a system file so that a reader sees either the old or the new
// content, never a mixture, and an interrupted write leaves the old one.
#ifndef MEMPROXYCTL_ATOMIC_WRITE_HPP
#define MEMPROXYCTL_ATOMIC_WRITE_HPP

#include <string>

namespace memproxyctl {

// Reads a whole file. `exists` false (and true returned) when it is absent.
bool read_text_file(const std::string& path, std::string* text, bool* exists, std::string* error);

// Writes `content` to a temporary file beside `path` (same mode and owner as
// the file it replaces, 0644 root-default otherwise), fsyncs it, copies the
// current file to `backup_path` (when it exists and backup_path is not empty),
// then renames the temporary file over `path` and fsyncs the directory.
bool replace_file(const std::string& path, const std::string& content, const std::string& backup_path,
                  std::string* error);

}  // namespace memproxyctl

#endif
