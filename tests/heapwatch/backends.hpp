// The allocators a monitored program is run under in the heap watch's
// end-to-end tests: the system allocator, and jemalloc and mimalloc where
// their Debian packages are installed (a test skips with the reason where
// not). One list, so every such test covers the same three.
#ifndef MEMPROXY_TESTS_HEAPWATCH_BACKENDS_HPP
#define MEMPROXY_TESTS_HEAPWATCH_BACKENDS_HPP

#include <gtest/gtest.h>

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace heapwatch_e2e {

struct Backend {
  const char* name;
  const char* library;  // "" for the system allocator
  const char* package;  // the Debian package that installs it
};

inline void PrintTo(const Backend& b, std::ostream* out) { *out << b.name; }

inline const std::vector<Backend>& backends() {
  static const std::vector<Backend> all{
      {"glibc", "", ""},
      {"jemalloc", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "libjemalloc2"},
      {"mimalloc", "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2", "libmimalloc2.0"}};
  return all;
}

// Why `b` cannot be used here ("" when it can).
inline std::string missing_backend(const Backend& b) {
  if (*b.library == '\0' || std::filesystem::exists(b.library)) return "";
  return std::string(b.library) + " is not installed (Debian package " + b.package + ")";
}

// LD_PRELOAD for a program monitored under `b`: libmemproxy first.
inline std::string preload_with(const std::string& memproxy_library, const Backend& b) {
  std::string preload = "LD_PRELOAD=" + memproxy_library;
  if (*b.library != '\0') preload += std::string(":") + b.library;
  return preload;
}

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) { return info.param.name; }

}  // namespace heapwatch_e2e

#endif
