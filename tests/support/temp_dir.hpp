// A private temporary directory for one test, removed with its contents.
#ifndef MEMPROXY_TESTS_TEMP_DIR_HPP
#define MEMPROXY_TESTS_TEMP_DIR_HPP

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace memproxy::testing {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/memproxy-test-XXXXXX";
    if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace memproxy::testing

#endif
