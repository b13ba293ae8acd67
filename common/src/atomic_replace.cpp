#include "memproxy/atomic_replace.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace memproxy::atomic {
namespace {

std::string directory_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

std::string staging_path_for(const std::string& target) { return target + ".new"; }

void sync_directory_of(const std::string& path) {
  int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;
  ::fsync(dir);
  ::close(dir);
}

StagedFile::StagedFile(std::string target, mode_t mode, std::optional<Owner> owner)
    : target_(std::move(target)), staging_(staging_path_for(target_)) {
  // A leftover from a killed writer may carry any mode, owner or content, or
  // be a link planted by whoever could write there: start afresh. unlink()
  // removes a link itself, never what it points to.
  if (::unlink(staging_.c_str()) != 0 && errno != ENOENT) {
    fail("cannot remove stale", staging_);
    return;
  }
  fd_ = ::open(staging_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    fail("cannot create", staging_);
    return;
  }
  created_ = true;
  if (owner && ::fchown(fd_, owner->uid, owner->gid) != 0) {
    fail("cannot set the owner of", staging_);
    return;
  }
  // After fchown, which may clear set-id bits; open()'s mode went through the umask.
  if (::fchmod(fd_, mode) != 0) fail("cannot set the mode of", staging_);
}

StagedFile::~StagedFile() {
  if (fd_ >= 0) ::close(fd_);
  if (created_ && !committed_) ::unlink(staging_.c_str());
}

bool StagedFile::fail(const std::string& what, const std::string& path) {
  const int error = errno;
  if (error_.empty()) error_ = what + " " + path + ": " + std::strerror(error);
  return false;
}

bool StagedFile::write(std::string_view bytes) {
  if (!ok()) return false;
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return fail("cannot write", staging_);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool StagedFile::flush() {
  if (!ok()) return false;
  if (::fsync(fd_) != 0) return fail("cannot sync", staging_);
  flushed_ = true;
  return true;
}

bool StagedFile::commit() {
  if (!flushed_ && !flush()) return false;
  const int fd = fd_;
  fd_ = -1;
  // Closing can report a write error the kernel deferred (NFS).
  if (::close(fd) != 0) return fail("cannot close", staging_);
  if (::rename(staging_.c_str(), target_.c_str()) != 0) {
    const int error = errno;
    error_ = "cannot rename " + staging_ + " over " + target_ + ": " + std::strerror(error);
    return false;
  }
  committed_ = true;
  sync_directory_of(target_);
  return true;
}

std::string replace_file(const std::string& target, std::string_view content, mode_t mode,
                         std::optional<Owner> owner) {
  StagedFile staged(target, mode, owner);
  if (staged.write(content)) staged.commit();
  return staged.error();
}

}  // namespace memproxy::atomic
