#include "config_source.hpp"

#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/xattr.h>
#endif

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "memproxy/trust.hpp"

namespace memproxy::daemon {
namespace {

config::ParseResult untrusted(const std::string& path, const std::string& why) {
  config::ParseResult result;
  result.file_status = config::FileStatus::unreadable;
  result.error_count = 1;
  result.diagnostics.push_back({path, 0, config::Severity::error,
                                "refusing to read it: " + why +
                                    "; the configuration and every directory above it must be owned by root and "
                                    "writable by their owner only",
                                config::Problem::untrusted});
  return result;
}

std::string finding_text(const std::string& path, trust::Verdict verdict, const trust::Finding& finding) {
  std::string where = finding.where != nullptr ? finding.where : "";
  if (where.find('/') == std::string::npos) {
    // The file itself is named by its last component only: say which file.
    char resolved[PATH_MAX];
    where = ::realpath(path.c_str(), resolved) != nullptr ? std::string(resolved) : path;
  }
  std::string text = where + " " + trust::describe(verdict);
  if (verdict == trust::Verdict::bad_owner && ::geteuid() != 0) {
    text += " or by uid " + std::to_string(::geteuid()) + " which runs memproxyd";
  }
  if (finding.error != 0 && verdict == trust::Verdict::io_error) text += std::string(" (") + std::strerror(finding.error) + ")";
  return text;
}

// The trust walk starts at "/"; diagnostics keep naming the path as given.
std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

#if defined(__linux__)
bool has_acl(const std::string& path) {
  return ::getxattr(path.c_str(), "system.posix_acl_access", nullptr, 0) >= 0;
}
#else
bool has_acl(const std::string&) { return false; }
#endif

}  // namespace

bool readable_by_everyone(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return false;
  std::string at = resolved;
  struct stat st {};
  if (::stat(at.c_str(), &st) != 0 || (st.st_mode & S_IROTH) == 0 || has_acl(at)) return false;
  while (at != "/") {
    const auto slash = at.find_last_of('/');
    at = slash == 0 ? std::string("/") : at.substr(0, slash);
    if (::stat(at.c_str(), &st) != 0 || (st.st_mode & S_IXOTH) == 0 || has_acl(at)) return false;
  }
  return true;
}

LoadedConfig load_config(const std::string& path) {
  LoadedConfig loaded;
  char where[PATH_MAX];
  trust::Finding finding;
  finding.where = where;
  finding.where_size = sizeof where;
  where[0] = '\0';
  // Judged on descriptors, component by component, before the file is
  // opened for reading: a FIFO or device in its place is never opened.
  const trust::Verdict verdict = trust::check_file_path(absolute(path).c_str(), ::geteuid(), &finding);
  // Permission denied on the way is reported by the read, in its words.
  const bool denied = verdict == trust::Verdict::io_error && finding.error == EACCES;
  if (verdict != trust::Verdict::ok && verdict != trust::Verdict::missing && !denied) {
    loaded.parsed = untrusted(path, finding_text(path, verdict, finding));
  } else {
    struct stat opened {};
    loaded.parsed = config::parse_file(path, &opened);
    // The file read may have replaced the one judged; only who can already
    // write a trusted directory could have done that, but the file itself
    // is judged again all the same.
    if (loaded.parsed.file_status == config::FileStatus::ok) {
      trust::Verdict again = denied ? trust::Verdict::io_error : trust::judge(opened, ::geteuid(), false);
      if (again != trust::Verdict::ok) loaded.parsed = untrusted(path, path + " " + trust::describe(again));
    }
  }
  loaded.text_is_public = readable_by_everyone(path);
  return loaded;
}

}  // namespace memproxy::daemon
