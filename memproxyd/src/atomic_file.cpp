#include "atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <cerrno>
#include <cstring>

#include "runtime_dir.hpp"

namespace memproxy::daemon {
namespace {

namespace bip = boost::interprocess;

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string write_staging(const std::string& staging, const void* data, std::size_t size, unsigned mode) {
  // A leftover from a killed writer may carry any mode or content: start afresh.
  if (::unlink(staging.c_str()) != 0 && errno != ENOENT) return errno_text("cannot remove stale", staging);
  Fd fd(::open(staging.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return errno_text("cannot create", staging);
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) return errno_text("cannot set the mode of", staging);
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return errno_text("cannot size", staging);
  if (size > 0) {
    try {
      bip::file_mapping file(staging.c_str(), bip::read_write);
      bip::mapped_region region(file, bip::read_write, 0, size);
      std::memcpy(region.get_address(), data, size);
      if (!region.flush(0, size, false)) return "cannot flush the mapping of " + staging;
    } catch (const bip::interprocess_exception& e) {
      return "cannot map " + staging + ": " + e.what();
    }
  }
  if (::fsync(fd.get()) != 0) return errno_text("cannot sync", staging);
  return {};
}

}  // namespace

std::string staging_path_for(const std::string& target) { return target + ".new"; }

std::string replace_file(const std::string& target, const void* data, std::size_t size, unsigned mode) {
  const std::string staging = staging_path_for(target);
  std::string error = write_staging(staging, data, size, mode);
  if (!error.empty()) {
    ::unlink(staging.c_str());
    return error;
  }
  if (::rename(staging.c_str(), target.c_str()) != 0) {
    error = errno_text("cannot rename " + staging + " over", target);
    ::unlink(staging.c_str());
    return error;
  }
  // The rename itself must survive a power cut too, or a reboot could bring
  // back the previous generation.
  const std::string dir = parent_dir(target);
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
  return {};
}

}  // namespace memproxy::daemon
