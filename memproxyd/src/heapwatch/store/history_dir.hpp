// The directory the history database lives in. Created 0700 when missing
// (its parent must exist: /var/lib/memproxy under /var/lib), and used only
// under the rule of daemon_file_path.hpp: whoever can write there, or in a
// directory above, could put a symbolic link where SQLite creates its -wal
// and -shm files and have the daemon write through it.
#ifndef MEMPROXYD_HEAPWATCH_HISTORY_DIR_HPP
#define MEMPROXYD_HEAPWATCH_HISTORY_DIR_HPP

#include <string>

namespace memproxy::heapwatch {

// "" when the directory of `database_path` is (now) usable, else why not.
std::string prepare_history_dir(const std::string& database_path);

}  // namespace memproxy::heapwatch

#endif
