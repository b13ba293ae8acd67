// Where the daemon, running as root, may write a file: the history database
// and the Prometheus textfile. Under the config's trust rule
// (memproxy/trust.hpp: every directory from "/" down owned by root, or by
// the daemon's user, and writable by no one else but for sticky ones), and
// stricter at the end: the file's own directory is writable by its owner
// only, sticky or not, and the file, when it exists, is a regular file, not
// a symbolic link. Whoever can write a directory on the path can plant a
// link there and have the daemon write, as root, where the link points.
//
// Checked once, at start: the daemon then writes by path, which only root
// (or the daemon's user) can redirect.
#ifndef MEMPROXYD_HEAPWATCH_DAEMON_FILE_PATH_HPP
#define MEMPROXYD_HEAPWATCH_DAEMON_FILE_PATH_HPP

#include <string>

namespace memproxy::heapwatch {

// "" when the daemon may write `path` (absolute), else why not, naming the
// offending component. `untrusted` (may be null) tells a path another user
// could redirect (an owner, a mode, a link) from one merely unusable now (a
// component missing, not a directory): the daemon refuses to start with the
// first, and keeps running without the file with the second. With
// `directory_may_be_missing`, a missing directory of the file passes when
// its parent passes (the history's directory is created 0700 at start).
std::string check_daemon_file_path(const std::string& path, bool directory_may_be_missing = false,
                                   bool* untrusted = nullptr);

}  // namespace memproxy::heapwatch

#endif
