#include "symbols/object_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace memproxy::symbols {
namespace {

constexpr int kOpenFlags = O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

// "" when `fd` is a regular file with the mapping's identity.
std::string check_identity(int fd, const Mapping& mapping, const std::string& name) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return name + ": " + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return name + ": not a regular file";
  if (static_cast<uint64_t>(st.st_dev) != mapping.dev || static_cast<uint64_t>(st.st_ino) != mapping.inode) {
    return name + ": not the file the process mapped (replaced since)";
  }
  return "";
}

UniqueFd open_checked(const std::string& name, int flags, const Mapping& mapping, std::string* why) {
  UniqueFd fd(::open(name.c_str(), flags | kOpenFlags));
  if (!fd) {
    *why = name + ": " + std::strerror(errno);
    return {};
  }
  std::string problem = check_identity(fd.get(), mapping, name);
  if (!problem.empty()) {
    *why = problem;
    return {};
  }
  return fd;
}

}  // namespace

UniqueFd open_map_files(pid_t pid, const Mapping& mapping, int flags, std::string* why) {
  char name[96];
  std::snprintf(name, sizeof name, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, static_cast<int>(pid), mapping.start,
                mapping.end);
  return open_checked(name, flags, mapping, why);
}

UniqueFd open_mapping_path(pid_t pid, const Mapping& mapping, std::string* why) {
  if (mapping.deleted) {
    *why = mapping.path + ": deleted since it was mapped";
    return {};
  }
  std::string in_namespace_why;
  UniqueFd fd = open_checked("/proc/" + std::to_string(pid) + "/root" + mapping.path, O_RDONLY, mapping,
                             &in_namespace_why);
  if (fd) return fd;
  std::string direct_why;
  fd = open_checked(mapping.path, O_RDONLY, mapping, &direct_why);
  if (!fd) *why = direct_why;
  return fd;
}

UniqueFd reopen_readable(int fd, std::string* why) {
  const std::string name = "/proc/self/fd/" + std::to_string(fd);
  UniqueFd readable(::open(name.c_str(), O_RDONLY | kOpenFlags));
  if (!readable) {
    *why = std::strerror(errno);
    return {};
  }
  struct stat st;
  if (::fstat(readable.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    *why = "not a regular file";
    return {};
  }
  return readable;
}

UniqueFd open_mapped_object(pid_t pid, const Mapping& mapping, std::string* why) {
  std::string map_files_why;
  UniqueFd fd = open_map_files(pid, mapping, O_RDONLY, &map_files_why);
  if (fd) return fd;
  std::string path_why;
  fd = open_mapping_path(pid, mapping, &path_why);
  if (!fd) *why = map_files_why + "; " + path_why;
  return fd;
}

}  // namespace memproxy::symbols
