#include "heapwatch/store/daemon_file_path.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "memproxy/trust.hpp"

namespace memproxy::heapwatch {
namespace {

std::string writable_by(const std::string& what, mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return what + " is writable by " + ((mode & S_IWOTH) ? "others" : "its group") + " (mode " + text + ")";
}

// The chain of `dir` under the trust rule; its descriptor or -1 with `why`.
int open_chain(const std::string& dir, std::string* why, bool* missing_last, bool* untrusted) {
  char where[PATH_MAX];
  trust::Finding finding;
  finding.where = where;
  finding.where_size = sizeof where;
  int fd = trust::open_trusted_directory(dir.c_str(), ::geteuid(), &finding);
  if (fd >= 0) return fd;
  *missing_last = finding.verdict == trust::Verdict::missing && dir == where;
  *untrusted = finding.verdict == trust::Verdict::bad_owner || finding.verdict == trust::Verdict::writable_by_others ||
               finding.verdict == trust::Verdict::too_many_links;
  *why = std::string(where) + " " + trust::describe(finding.verdict);
  struct stat st {};
  if (finding.verdict == trust::Verdict::bad_owner && ::lstat(where, &st) == 0) {
    *why = std::string(where) + " is owned by uid " + std::to_string(st.st_uid) + ", neither root nor uid " +
           std::to_string(::geteuid()) + " which runs memproxyd";
  }
  if (finding.verdict == trust::Verdict::writable_by_others && ::lstat(where, &st) == 0) {
    *why = writable_by(where, st.st_mode);
  }
  if (finding.error != 0 && finding.verdict == trust::Verdict::io_error) {
    *why += std::string(" (") + std::strerror(finding.error) + ")";
  }
  return -1;
}

}  // namespace

std::string check_daemon_file_path(const std::string& path, bool directory_may_be_missing, bool* untrusted) {
  bool ignored = false;
  if (untrusted == nullptr) untrusted = &ignored;
  *untrusted = false;
  char dir_text[PATH_MAX];
  const char* name = trust::split_directory(path.c_str(), dir_text, sizeof dir_text);
  if (name == nullptr) return "is not an absolute path to a file";
  const std::string dir = dir_text;
  std::string why;
  bool missing_last = false;
  int dir_fd = open_chain(dir, &why, &missing_last, untrusted);
  if (dir_fd < 0) {
    if (!(directory_may_be_missing && missing_last && dir != "/")) return why;
    const std::string parent = dir.substr(0, dir.find_last_of('/') == 0 ? 1 : dir.find_last_of('/'));
    int parent_fd = open_chain(parent, &why, &missing_last, untrusted);
    if (parent_fd < 0) return why;
    ::close(parent_fd);
    return "";
  }
  struct stat st {};
  if (::fstat(dir_fd, &st) != 0) {
    int error = errno;
    ::close(dir_fd);
    return dir + " cannot be examined (" + std::strerror(error) + ")";
  }
  // A sticky directory lets others create names, links among them, that the
  // daemon's own files (SQLite's -wal and -shm, the textfile's staging file)
  // could meet.
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    ::close(dir_fd);
    *untrusted = true;
    return writable_by(dir, st.st_mode);
  }
  struct stat file {};
  int rc = ::fstatat(dir_fd, name, &file, AT_SYMLINK_NOFOLLOW);
  int error = errno;
  ::close(dir_fd);
  if (rc != 0) {
    if (error == ENOENT) return "";
    return path + " cannot be examined (" + std::strerror(error) + ")";
  }
  if (S_ISLNK(file.st_mode)) {
    *untrusted = true;
    return path + " is a symbolic link";
  }
  if (!S_ISREG(file.st_mode)) return path + " is not a regular file";
  return "";
}

}  // namespace memproxy::heapwatch
