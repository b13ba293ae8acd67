// Fetching debug files with debuginfod: off unless the admin sets
// DEBUGINFOD_URLS in the daemon's environment. Then each worker gets
// elfutils' own client (libdw loads libdebuginfod.so.1 when the variable
// is set), through an environment and limits the daemon chooses:
//   - DEBUGINFOD_URLS as the admin gave it; DEBUGINFOD_TIMEOUT and
//     DEBUGINFOD_MAXSIZE the admin's, bounded by kMaxTimeoutSeconds and
//     kMaxFileBytes; RLIMIT_FSIZE the same size (nothing else is written);
//   - DEBUGINFOD_CACHE_PATH a directory per user of the symbolized
//     processes, ROOT/UID (ROOT the daemon's DEBUGINFOD_CACHE_PATH, else
//     kDefaultCacheRoot), mode 0700 and owned by the worker's user.
// Never shared between users: libdebuginfod trusts what it downloaded and
// what its cache holds, so a cache another user's worker could write would
// let that user name this user's frames. The root is the daemon's: a
// directory no other user may write.
#ifndef MEMPROXYD_SYMBOLS_DEBUGINFOD_SETTINGS_HPP
#define MEMPROXYD_SYMBOLS_DEBUGINFOD_SETTINGS_HPP

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "symbols/sandbox.hpp"

namespace memproxy::symbols {

inline constexpr const char* kDefaultCacheRoot = "/var/cache/memproxy/debuginfod";
inline constexpr uint64_t kMaxFileBytes = uint64_t{1} << 30;
inline constexpr unsigned kMaxTimeoutSeconds = 30;

struct DebuginfodSettings {
  std::string urls;  // "": off
  std::string cache_root = kDefaultCacheRoot;
  uint64_t max_file_bytes = kMaxFileBytes;
  unsigned timeout_seconds = 10;  // libdebuginfod's: a connection making no progress for this long fails
  bool enabled() const { return !urls.empty(); }
};

// From this process's environment: DEBUGINFOD_URLS, DEBUGINFOD_CACHE_PATH
// (the root), DEBUGINFOD_TIMEOUT and DEBUGINFOD_MAXSIZE (bounded; a value
// that is not a positive number keeps the default).
DebuginfodSettings debuginfod_from_environment();

// Creates the root (0755) if missing. False with `why` when it is not a
// directory, or (as root) not owned by root or writable by others.
bool prepare_cache_root(const std::string& root, std::string* why);

// ROOT/UID for the processes of `user`, created 0700 and (as root) owned
// by `owner`, the identity their worker runs as; "" with `why` on failure.
std::string prepare_user_cache(const std::string& root, uid_t user, const SandboxIdentity& owner, std::string* why);

// The worker's environment ("NAME=value" each).
std::vector<std::string> debuginfod_environment(const DebuginfodSettings& settings, const std::string& cache);

}  // namespace memproxy::symbols

#endif
