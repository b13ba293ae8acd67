// Replacing a file so that every reader sees either the old or the new
// content, whole: the new bytes go to a staging file beside the target
// (TARGET.new), which is flushed to stable storage and renamed over the
// target; then the directory is flushed, so that the rename survives a power
// cut too. A writer killed at any point leaves the target untouched and at
// most a stale staging file, which the next write removes.
//
// One rule for every writer in memproxy: the daemon's table (written through
// a Boost.Interprocess mapping of the staging file) and status record, and
// memproxyctl's edits of the global preload and their backups.
//
// Precondition: writers of one target are serialized by the caller (the
// daemon's instance lock, memproxyctl's edit lock). The staging name is fixed
// so that crashed writers never leave an unbounded trail of leftovers; two
// unserialized writers could remove each other's staging file.
#ifndef MEMPROXY_ATOMIC_REPLACE_HPP
#define MEMPROXY_ATOMIC_REPLACE_HPP

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace memproxy::atomic {

std::string staging_path_for(const std::string& target);

struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
};

// The staging file of one replacement. Created exclusively, never through a
// symbolic link, with exactly `mode` whatever the umask (and `owner` when
// given). Removed by the destructor unless commit() succeeded.
class StagedFile {
 public:
  StagedFile(std::string target, mode_t mode, std::optional<Owner> owner = std::nullopt);
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  ~StagedFile();

  // Empty when the staging file is ready, else the reason; every later call
  // fails with that reason.
  const std::string& error() const { return error_; }
  bool ok() const { return error_.empty(); }

  int fd() const { return fd_; }
  const std::string& path() const { return staging_; }
  const std::string& target() const { return target_; }

  // Appends `bytes` through the descriptor. False (and error() set) on failure.
  bool write(std::string_view bytes);

  // fsync. commit() does it too; calling it first puts the slow part before
  // a caller's last check, right before the rename.
  bool flush();

  // fsync (unless flushed), rename over the target, fsync the directory. False (and error()
  // set) on failure; the target is then untouched and the staging file gone.
  bool commit();

 private:
  bool fail(const std::string& what, const std::string& path);

  std::string target_;
  std::string staging_;
  std::string error_;
  int fd_ = -1;
  bool created_ = false;  // the staging file is ours to remove
  bool flushed_ = false;
  bool committed_ = false;
};

// The whole replacement for content already in memory. Empty string on
// success, else the reason (the target is then untouched).
std::string replace_file(const std::string& target, std::string_view content, mode_t mode,
                         std::optional<Owner> owner = std::nullopt);

// Flushes the directory holding `path`, so that a rename or unlink in it is
// durable. Best effort: some file systems refuse fsync on directories.
void sync_directory_of(const std::string& path);

}  // namespace memproxy::atomic

#endif
