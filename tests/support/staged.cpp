#include "staged.hpp"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "capability.hpp"
#include "process.hpp"

namespace memproxy::testing {

namespace fs = std::filesystem;

namespace {

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace

std::string unreachable_by_others(const std::string& path) {
  std::error_code error;
  const fs::path resolved = fs::weakly_canonical(path, error);
  if (error) return "cannot resolve " + path + ": " + error.message();
  // Every directory from / down to `path` (itself too when it is one) must
  // be searchable by others for them to reach it or what it holds.
  fs::path walked = "/";
  std::vector<fs::path> directories{walked};
  for (const fs::path& part : resolved.relative_path()) {
    walked /= part;
    directories.push_back(walked);
  }
  for (const fs::path& directory : directories) {
    struct stat st;
    if (::stat(directory.c_str(), &st) != 0) {
      if (errno == ENOENT) break;
      return "cannot stat " + directory.string() + ": " + strerror(errno);
    }
    if (!S_ISDIR(st.st_mode)) break;
    if ((st.st_mode & S_IXOTH) == 0) {
      return directory.string() + " (mode " + octal_mode(st.st_mode) + ") is not searchable by other users";
    }
  }
  return "";
}

StagedForOtherUser::StagedForOtherUser() {
  // /tmp itself, not $TMPDIR: a private TMPDIR is as unreachable as the tree.
  std::string pattern = "/tmp/memproxy-staged-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp(" + pattern + "): " + strerror(errno));
  }
  path_ = pattern;
  if (::chmod(path_.c_str(), 0755) != 0) {
    std::string why = strerror(errno);
    ::rmdir(path_.c_str());
    throw std::runtime_error("chmod 0755 " + path_ + ": " + why);
  }
  missing_ = unreachable_by_others(path_);
  if (!missing_.empty()) {
    missing_ = "another user cannot reach the staging directory " + path_ + ": " + missing_;
  } else if (struct statvfs vfs; ::statvfs(path_.c_str(), &vfs) == 0 && (vfs.f_flag & ST_NOEXEC) != 0) {
    missing_ = "/tmp is mounted noexec: a program copied there for another user cannot be executed";
  }
}

StagedForOtherUser::~StagedForOtherUser() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::string StagedForOtherUser::add(const std::string& source, mode_t mode, const std::string& name) {
  const std::string file = name.empty() ? fs::path(source).filename().string() : name;
  if (file.empty() || file.find('/') != std::string::npos) throw std::invalid_argument("not a file name: " + file);
  const std::string copy = *this / file;
  auto known = sources_.find(file);
  if (known != sources_.end()) {
    if (known->second != source) {
      throw std::invalid_argument(copy + " already holds " + known->second + ", not " + source);
    }
    return copy;
  }
  std::error_code error;
  if (!fs::copy_file(source, copy, error)) throw std::runtime_error("copy " + source + " to " + copy + ": " + error.message());
  if (::chmod(copy.c_str(), mode) != 0) throw std::runtime_error("chmod " + copy + ": " + strerror(errno));
  sources_[file] = source;
  return copy;
}

std::string StagedForOtherUser::run_libraries_from_here(const std::string& program) const {
  const std::string why = missing_program("/usr/bin/patchelf", "patchelf");
  if (!why.empty()) {
    return why + ": a setuid program ignores LD_LIBRARY_PATH, so only a rewritten RUNPATH points it at the "
                 "libraries staged for another user";
  }
  struct stat st;
  if (::stat(program.c_str(), &st) != 0) throw std::runtime_error("stat " + program + ": " + strerror(errno));
  Outcome o = run({"/usr/bin/patchelf", "--set-rpath", path_, program}, {"PATH=/usr/bin:/bin"});
  if (!o.ok()) throw std::runtime_error("patchelf --set-rpath " + path_ + " " + program + ": " + o.describe());
  // patchelf writes the file anew: the mode asked for stays the mode it has.
  if (::chmod(program.c_str(), st.st_mode & 07777) != 0) {
    throw std::runtime_error("chmod " + program + ": " + strerror(errno));
  }
  return "";
}

}  // namespace memproxy::testing
