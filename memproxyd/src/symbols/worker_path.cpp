#include "symbols/worker_path.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <string_view>

namespace memproxy::symbols {
namespace {

// The running executable's path; the kernel appends " (deleted)" when the
// file was replaced (an upgrade under a running daemon): the directory
// still says where this build's worker is.
std::string self_executable() {
  char buffer[PATH_MAX];
  const ssize_t length = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (length <= 0) return {};
  std::string path(buffer, static_cast<size_t>(length));
  static constexpr std::string_view kDeleted = " (deleted)";
  if (path.size() > kDeleted.size() && path.compare(path.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0) {
    path.resize(path.size() - kDeleted.size());
  }
  return path;
}

// "" when `path` is a regular file with an execute bit; else why not.
std::string unusable(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  if ((st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0) return "not executable";
  return "";
}

}  // namespace

std::string installed_worker_path() { return MEMPROXY_SYMBOLIZE_WORKER; }

std::string worker_option_hint() {
  return "name the worker with memproxyd --symbolizer PATH; until then call sites and traced callers are "
         "object+offset only";
}

std::vector<std::string> worker_candidates(const std::string& self) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& path) {
    if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(path);
  };
  const std::filesystem::path exe(self);
  if (exe.is_absolute() && exe.has_parent_path()) {
    const std::filesystem::path dir = exe.parent_path();
    add((dir / kWorkerName).lexically_normal().string());
    add((dir / ".." / "libexec" / "memproxy" / kWorkerName).lexically_normal().string());
  }
  add(installed_worker_path());
  return out;
}

WorkerChoice choose_worker(const std::string& configured, const std::string& self) {
  WorkerChoice choice;
  if (!configured.empty()) {
    choice.path = configured;
    choice.tried = {configured};
    const std::string why = unusable(configured);
    if (!why.empty()) choice.problem = "the symbolizer worker " + configured + " cannot run: " + why + "; " + worker_option_hint();
    return choice;
  }
  std::string reasons;
  for (const std::string& candidate : worker_candidates(self.empty() ? self_executable() : self)) {
    choice.tried.push_back(candidate);
    const std::string why = unusable(candidate);
    if (why.empty()) {
      choice.path = candidate;
      return choice;
    }
    reasons += (reasons.empty() ? "" : ", ") + candidate + " (" + why + ")";
  }
  choice.path = installed_worker_path();
  choice.problem = "no symbolizer worker found at " + reasons + "; " + worker_option_hint();
  return choice;
}

}  // namespace memproxy::symbols
