// A private temporary directory for one test, removed with its contents.
// Created 0700 by mkdtemp; tests whose children run under another uid ask
// for a mode they can traverse.
#ifndef MEMPROXY_TESTS_TEMP_DIR_HPP
#define MEMPROXY_TESTS_TEMP_DIR_HPP

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace memproxy::testing {

class TempDir {
 public:
  explicit TempDir(mode_t mode = 0700) {
    std::string pattern = (std::filesystem::temp_directory_path() / "memproxy-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
    if (mode != 0700 && ::chmod(path_.c_str(), mode) != 0) throw std::runtime_error("chmod failed");
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string operator/(const std::string& name) const { return file(name); }

  // Writes `content` to the file `name` in the directory; returns its path.
  std::string write(const std::string& name, const std::string& content) const {
    std::string p = file(name);
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
    return p;
  }

 private:
  std::string path_;
};

}  // namespace memproxy::testing

#endif
