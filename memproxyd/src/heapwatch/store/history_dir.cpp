#include "heapwatch/store/history_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "heapwatch/store/daemon_file_path.hpp"

namespace memproxy::heapwatch {

std::string prepare_history_dir(const std::string& database_path) {
  std::string why = check_daemon_file_path(database_path, true);
  if (!why.empty()) return why;
  auto slash = database_path.find_last_of('/');
  const std::string dir = slash == 0 ? "/" : database_path.substr(0, slash);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return "cannot examine " + dir + ": " + std::strerror(errno);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return "cannot create " + dir + ": " + std::strerror(errno);
    }
    // mkdir's mode is filtered by the umask; the contract is exactly 0700.
    if (::chmod(dir.c_str(), 0700) != 0) return "cannot set mode 0700 on " + dir + ": " + std::strerror(errno);
  }
  return check_daemon_file_path(database_path);
}

}  // namespace memproxy::heapwatch
