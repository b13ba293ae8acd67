#include "runtime_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace memproxy::daemon {

std::string parent_dir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string ensure_runtime_dir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) return {};
  if (errno != ENOENT) return "cannot examine runtime directory " + dir + ": " + std::strerror(errno);
  std::string parent = parent_dir(dir);
  if (parent != dir) {
    std::string error = ensure_runtime_dir(parent);
    if (!error.empty()) return error;
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return "cannot create runtime directory " + dir + ": " + std::strerror(errno);
  }
  // mkdir's mode is filtered by the umask; the contract is exactly 0755.
  if (::chmod(dir.c_str(), 0755) != 0) {
    return "cannot set mode 0755 on runtime directory " + dir + ": " + std::strerror(errno);
  }
  return {};
}

std::string check_runtime_dir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return "cannot examine runtime directory " + dir + ": " + std::strerror(errno);
  if (!S_ISDIR(st.st_mode)) return "runtime directory " + dir + " is not a directory";
  if (st.st_uid != ::geteuid()) {
    return "refusing to publish into " + dir + ": it is owned by uid " + std::to_string(st.st_uid) +
           ", not by uid " + std::to_string(::geteuid()) + " which runs memproxyd";
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return "refusing to publish into " + dir + ": it is writable by " +
           ((st.st_mode & S_IWOTH) ? "others" : "its group") + " (mode " + mode +
           "); anyone who can write there could replace the table. Use chmod 0755 " + dir;
  }
  return {};
}

}  // namespace memproxy::daemon
