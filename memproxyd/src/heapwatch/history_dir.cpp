#include "heapwatch/history_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace memproxy::heapwatch {

std::string prepare_history_dir(const std::string& database_path) {
  auto slash = database_path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : database_path.substr(0, slash);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return "cannot examine " + dir + ": " + std::strerror(errno);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return "cannot create " + dir + ": " + std::strerror(errno);
    }
    // mkdir's mode is filtered by the umask; the contract is exactly 0700.
    if (::chmod(dir.c_str(), 0700) != 0) return "cannot set mode 0700 on " + dir + ": " + std::strerror(errno);
    if (::stat(dir.c_str(), &st) != 0) return "cannot examine " + dir + ": " + std::strerror(errno);
  } else if (S_ISLNK(st.st_mode) && ::stat(dir.c_str(), &st) != 0) {
    return "cannot examine " + dir + ": " + std::strerror(errno);
  }
  if (!S_ISDIR(st.st_mode)) return dir + " is not a directory";
  if (st.st_uid != ::geteuid()) {
    return dir + " is owned by uid " + std::to_string(st.st_uid) + ", not by uid " + std::to_string(::geteuid()) +
           " which runs memproxyd";
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return dir + " is writable by " + ((st.st_mode & S_IWOTH) ? "others" : "its group") + " (mode " + mode +
           "); use chmod 0700 " + dir;
  }
  return "";
}

}  // namespace memproxy::heapwatch
