// Opening the file a mapping maps, the way the process mapped it.
//
// /proc/PID/map_files/START-END names the very file of the mapping, even
// when it was deleted, replaced on disk, or lies in another mount
// namespace. On this kernel (Linux 5.9 and later) following those links
// needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN: a root daemon can, an
// unprivileged worker cannot, even for its own user's processes. Hence
// the split: the daemon opens map_files O_PATH (which pins the inode but
// grants no read access), and the worker, already running as the target's
// user, reopens that descriptor through /proc/self/fd, where the kernel
// checks read permission with the worker's credentials.
//
// Without map_files, the path from maps is opened instead and believed
// only if its device and inode are those maps shows: a file replaced on
// disk is then not read, rather than read as if it were the mapped one.
// Every open is O_NONBLOCK and non-regular files are refused, so a FIFO
// or device put in a mapping's place cannot block or be read.
#ifndef MEMPROXYD_SYMBOLS_OBJECT_FILES_HPP
#define MEMPROXYD_SYMBOLS_OBJECT_FILES_HPP

#include <sys/types.h>

#include <string>

#include "symbols/mappings.hpp"
#include "memproxy/unique_fd.hpp"

namespace memproxy::symbols {

// /proc/PID/map_files/START-END opened with `flags` (O_PATH or O_RDONLY;
// O_CLOEXEC is added), checked to be a regular file with the mapping's
// device and inode. Empty, with `why`, otherwise.
UniqueFd open_map_files(pid_t pid, const Mapping& mapping, int flags, std::string* why);

// The mapping's path, through /proc/PID/root first (the process's mount
// namespace), then as it reads; only a regular file with the mapping's
// device and inode is returned.
UniqueFd open_mapping_path(pid_t pid, const Mapping& mapping, std::string* why);

// A readable descriptor of the file `fd` (an O_PATH descriptor) refers to,
// opened with the caller's credentials.
UniqueFd reopen_readable(int fd, std::string* why);

// What a process that may follow map_files (root, in the tests) uses:
// map_files O_RDONLY, else open_mapping_path.
UniqueFd open_mapped_object(pid_t pid, const Mapping& mapping, std::string* why);

}  // namespace memproxy::symbols

#endif
