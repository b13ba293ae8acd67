// What memproxy needs to know about a running process, read from /proc/PID
// (by memproxyctl explain and by the daemon's sampler): the names
// libmemproxy matches on, the allocator libraries it has mapped, and the
// few numbers that identify and measure it.
#ifndef MEMPROXY_PROCESS_INFO_HPP
#define MEMPROXY_PROCESS_INFO_HPP

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace memproxy::process {

struct ProcessInfo {
  pid_t pid = 0;
  bool exists = false;
  std::string error;           // why the process could not be inspected ("" = fine)
  std::string resolved_path;   // /proc/PID/exe: the binary the kernel runs ("" if unreadable)
  std::string invoked_path;    // AT_EXECFN string, or argv[0] as a fallback
  std::string invoked_source;  // "AT_EXECFN" or "argv[0]" (best effort: argv can be rewritten)
  int elf_class = 0;           // 32 or 64, 0 when unknown
  bool maps_readable = false;
  bool memproxy_mapped = false;
  std::vector<std::string> memproxy_paths;   // libmemproxy.so objects mapped
  std::vector<std::string> allocator_paths;  // custom allocator libraries mapped, in map order
};

ProcessInfo inspect_process(pid_t pid);

// Whether a shared object's file name is libmemproxy's, or a known custom allocator's.
bool is_memproxy_library(const std::string& path);
bool is_allocator_library(const std::string& path);

// 32 or 64 from the ELF header of `path`, 0 when not ELF or unreadable.
int elf_class_of(const std::string& path);

std::string base_name(const std::string& path);

// The whole of a /proc file; `ok` false when it cannot be opened or the
// process exits while it is read (libstdc++ throws on a failed read(2),
// ESRCH here, whatever the stream's exception mask).
std::string read_proc_file(const std::string& path, bool* ok);

// The number after `key` in a text file of "KEY NUMBER ..." lines
// (/proc/stat, /proc/meminfo, a cgroup's memory.events); none when the
// file cannot be read or the key is absent.
std::optional<uint64_t> keyed_number(const std::string& path, const std::string& key);

// Field 22 of /proc/PID/stat: the start time in clock ticks since boot.
// With the pid it names one process for as long as the host runs.
std::optional<uint64_t> start_ticks(pid_t pid);

// Resident set size, from /proc/PID/statm.
std::optional<uint64_t> resident_bytes(pid_t pid);

// The real uid and gid, from /proc/PID/status.
std::optional<uid_t> real_uid(pid_t pid);
std::optional<gid_t> real_gid(pid_t pid);

// The invoked name's path (AT_EXECFN, else argv[0]) and the resolved
// binary, without reading the maps: what the sampler records.
struct Names {
  std::string invoked_path;
  std::string resolved_path;
};
Names names_of(pid_t pid);

// The command line, /proc/PID/cmdline split at its NULs (empty when
// unreadable or the process is gone). The process may have rewritten it.
std::vector<std::string> command_line(pid_t pid);

}  // namespace memproxy::process

#endif
