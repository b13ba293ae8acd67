#include "atomic_write.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "memproxy/atomic_replace.hpp"
#include "memproxy/unique_fd.hpp"

namespace memproxyctl {

namespace {

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

bool read_snapshot(const std::string& path, FileSnapshot* snapshot, std::string* error) {
  *snapshot = FileSnapshot{};
  memproxy::UniqueFd file{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)};
  if (file.get() < 0) {
    if (errno == ENOENT) return true;
    *error = errno_text("cannot read", path);
    return false;
  }
  if (::fstat(file.get(), &snapshot->st) != 0) {
    *error = errno_text("cannot examine", path);
    return false;
  }
  if (!S_ISREG(snapshot->st.st_mode)) {
    *error = "cannot read " + path + ": " + (S_ISDIR(snapshot->st.st_mode) ? "it is a directory" : "not a regular file");
    return false;
  }
  if (static_cast<std::size_t>(snapshot->st.st_size) > kMaxEditedFileBytes) {
    *error = "cannot read " + path + ": " + std::to_string(snapshot->st.st_size) + " bytes, more than the " +
             std::to_string(kMaxEditedFileBytes) + " a preload list can sensibly hold";
    return false;
  }
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(file.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = errno_text("cannot read", path);
      return false;
    }
    if (n == 0) break;
    snapshot->bytes.append(buffer, static_cast<std::size_t>(n));
    if (snapshot->bytes.size() > kMaxEditedFileBytes) {
      *error = "cannot read " + path + ": it grows beyond " + std::to_string(kMaxEditedFileBytes) + " bytes";
      return false;
    }
  }
  snapshot->exists = true;
  return true;
}

bool read_text_file(const std::string& path, std::string* text, bool* exists, std::string* error) {
  FileSnapshot snapshot;
  if (!read_snapshot(path, &snapshot, error)) return false;
  *text = std::move(snapshot.bytes);
  *exists = snapshot.exists;
  return true;
}

ReplaceOutcome replace_if_unchanged(const std::string& path, const FileSnapshot& before, const std::string& content,
                                    const std::string& backup_path, std::string* error) {
  namespace atomic = memproxy::atomic;
  const mode_t mode = before.exists ? (before.st.st_mode & 07777) : 0644;
  std::optional<atomic::Owner> owner;
  if (before.exists) owner = atomic::Owner{before.st.st_uid, before.st.st_gid};

  atomic::StagedFile staged(path, mode, owner);
  if (!staged.write(content) || !staged.flush()) {
    *error = staged.error();
    return ReplaceOutcome::failed;
  }
  FileSnapshot now;
  if (!read_snapshot(path, &now, error)) return ReplaceOutcome::failed;
  if (now.exists != before.exists || now.bytes != before.bytes) {
    *error = path + " changed while memproxyctl was editing it (another editor, or a package script)";
    return ReplaceOutcome::changed;
  }
  if (before.exists && !backup_path.empty()) {
    std::string backup_error = atomic::replace_file(backup_path, before.bytes, mode, owner);
    if (!backup_error.empty()) {
      *error = "cannot write the backup: " + backup_error;
      return ReplaceOutcome::failed;
    }
  }
  if (!staged.commit()) {
    *error = staged.error();
    return ReplaceOutcome::failed;
  }
  return ReplaceOutcome::written;
}

}  // namespace memproxyctl
