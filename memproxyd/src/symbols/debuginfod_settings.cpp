#include "symbols/debuginfod_settings.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "memproxy/unique_fd.hpp"

namespace memproxy::symbols {
namespace {

uint64_t positive(const char* name, uint64_t fallback) {
  const char* value = ::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  char* end = nullptr;
  errno = 0;
  const unsigned long long parsed = std::strtoull(value, &end, 10);
  if (errno != 0 || *end != '\0' || parsed == 0 || value[0] == '-') return fallback;
  return parsed;
}

std::string failed(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

DebuginfodSettings debuginfod_from_environment() {
  DebuginfodSettings settings;
  if (const char* urls = ::getenv("DEBUGINFOD_URLS"); urls != nullptr) settings.urls = urls;
  if (const char* root = ::getenv("DEBUGINFOD_CACHE_PATH"); root != nullptr && *root != '\0') {
    settings.cache_root = root;
  }
  settings.timeout_seconds =
      static_cast<unsigned>(std::min<uint64_t>(positive("DEBUGINFOD_TIMEOUT", settings.timeout_seconds),
                                               kMaxTimeoutSeconds));
  settings.max_file_bytes = std::min(positive("DEBUGINFOD_MAXSIZE", settings.max_file_bytes), kMaxFileBytes);
  return settings;
}

bool prepare_cache_root(const std::string& root, std::string* why) {
  if (root.empty() || root[0] != '/') {
    *why = "the debuginfod cache root " + root + " is not an absolute path";
    return false;
  }
  std::error_code error;
  std::filesystem::create_directories(root, error);
  if (error) {
    *why = "cannot create the debuginfod cache root " + root + ": " + error.message();
    return false;
  }
  struct stat st;
  if (::lstat(root.c_str(), &st) != 0) {
    *why = failed("the debuginfod cache root " + root);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    *why = "the debuginfod cache root " + root + " is not a directory";
    return false;
  }
  if (::geteuid() == 0 && (st.st_uid != 0 || (st.st_mode & 022) != 0)) {
    *why = "the debuginfod cache root " + root + " must be owned by root and writable by no one else";
    return false;
  }
  return true;
}

std::string prepare_user_cache(const std::string& root, uid_t user, const SandboxIdentity& owner, std::string* why) {
  UniqueFd parent(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!parent) {
    *why = failed("the debuginfod cache root " + root);
    return {};
  }
  const std::string name = std::to_string(user);
  const std::string path = root + "/" + name;
  if (::mkdirat(parent.get(), name.c_str(), 0700) != 0 && errno != EEXIST) {
    *why = failed("creating " + path);
    return {};
  }
  // Through a descriptor of the directory itself: whatever its owner put
  // in its place (a symbolic link) is refused, not followed.
  UniqueFd directory(::openat(parent.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st;
  if (!directory || ::fstat(directory.get(), &st) != 0) {
    *why = failed(path);
    return {};
  }
  // The uid alone decides: one user's workers of several groups share it.
  if (::geteuid() == 0 && st.st_uid != owner.uid &&
      ::fchown(directory.get(), owner.uid, owner.gid) != 0) {
    *why = failed("giving " + path + " to uid " + std::to_string(owner.uid));
    return {};
  }
  if ((st.st_mode & 07777) != 0700 && ::fchmod(directory.get(), 0700) != 0) {
    *why = failed("chmod 0700 " + path);
    return {};
  }
  return path;
}

std::vector<std::string> debuginfod_environment(const DebuginfodSettings& settings, const std::string& cache) {
  return {"DEBUGINFOD_URLS=" + settings.urls, "DEBUGINFOD_CACHE_PATH=" + cache,
          "DEBUGINFOD_TIMEOUT=" + std::to_string(settings.timeout_seconds),
          "DEBUGINFOD_MAXSIZE=" + std::to_string(settings.max_file_bytes)};
}

}  // namespace memproxy::symbols
