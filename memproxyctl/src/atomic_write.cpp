#include "atomic_write.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace memproxyctl {

namespace {

std::string directory_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool write_all(int fd, const std::string& content) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Writes `content` to a new file beside `path` and returns its name ("" on error).
std::string write_temporary(const std::string& path, const std::string& content, const struct stat* like,
                            std::string* error) {
  std::string temp = path + ".memproxyctl.XXXXXX";
  int fd = ::mkstemp(temp.data());
  if (fd < 0) {
    *error = "cannot create a temporary file beside " + path + ": " + std::strerror(errno);
    return {};
  }
  mode_t mode = like ? (like->st_mode & 07777) : 0644;
  bool ok = ::fchmod(fd, mode) == 0;
  if (ok && like && (like->st_uid != ::geteuid() || like->st_gid != ::getegid())) {
    ok = ::fchown(fd, like->st_uid, like->st_gid) == 0;
  }
  ok = ok && write_all(fd, content) && ::fsync(fd) == 0;
  int saved = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    *error = "cannot write " + temp + ": " + std::strerror(saved);
    ::unlink(temp.c_str());
    return {};
  }
  return temp;
}

}  // namespace

bool read_text_file(const std::string& path, std::string* text, bool* exists, std::string* error) {
  *exists = false;
  text->clear();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return true;
    *error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    *error = "cannot read " + path + ": it is a directory";
    return false;
  }
  text->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    *error = "cannot read " + path;
    return false;
  }
  *exists = true;
  return true;
}

bool replace_file(const std::string& path, const std::string& content, const std::string& backup_path,
                  std::string* error) {
  struct stat st {};
  bool exists = ::stat(path.c_str(), &st) == 0;
  std::string temp = write_temporary(path, content, exists ? &st : nullptr, error);
  if (temp.empty()) return false;
  if (exists && !backup_path.empty()) {
    std::string old_text;
    bool old_exists = false;
    std::string backup_error;
    if (!read_text_file(path, &old_text, &old_exists, &backup_error)) {
      *error = backup_error;
      ::unlink(temp.c_str());
      return false;
    }
    std::string backup_temp = write_temporary(backup_path, old_text, &st, error);
    if (backup_temp.empty() || ::rename(backup_temp.c_str(), backup_path.c_str()) != 0) {
      if (!backup_temp.empty()) *error = "cannot write backup " + backup_path + ": " + std::strerror(errno);
      if (!backup_temp.empty()) ::unlink(backup_temp.c_str());
      ::unlink(temp.c_str());
      return false;
    }
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    *error = "cannot replace " + path + ": " + std::strerror(errno);
    ::unlink(temp.c_str());
    return false;
  }
  int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return true;
}

}  // namespace memproxyctl
