// The directory the table lives in: created root-owned 0755 when missing, and
// trusted only while nobody but its owner can write it (a writer there could
// swap the table under every process on the host).
#ifndef MEMPROXYD_RUNTIME_DIR_HPP
#define MEMPROXYD_RUNTIME_DIR_HPP

#include <string>

namespace memproxy::daemon {

// Creates `dir` (and missing parents) with mode 0755. Empty string on success,
// else a message naming the directory and the reason.
std::string ensure_runtime_dir(const std::string& dir);

// Empty string when `dir` is a directory owned by this process's effective user
// (root for a service) and not writable by group or others; else why not.
std::string check_runtime_dir(const std::string& dir);

// The directory part of `path` ("." for a bare name).
std::string parent_dir(const std::string& path);

}  // namespace memproxy::daemon

#endif
