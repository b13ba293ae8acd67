#include "memproxy/process_info.hpp"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <iterator>
#include <sstream>

namespace memproxy::process {

std::string base_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool is_memproxy_library(const std::string& path) {
  return base_name(path).rfind("libmemproxy.so", 0) == 0;
}

bool is_allocator_library(const std::string& path) {
  static constexpr std::array<const char*, 10> kPrefixes = {"libjemalloc", "libtcmalloc", "libmimalloc",
                                                            "libtbbmalloc", "libhoard",    "libsnmalloc",
                                                            "librpmalloc", "libscudo",     "libumem",
                                                            "libmtmalloc"};
  const std::string name = base_name(path);
  return std::any_of(kPrefixes.begin(), kPrefixes.end(),
                     [&name](const char* prefix) { return name.rfind(prefix, 0) == 0; });
}

int elf_class_of(const std::string& path) {
  unsigned char ident[EI_NIDENT] = {};
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(ident), sizeof ident)) return 0;
  if (std::memcmp(ident, ELFMAG, SELFMAG) != 0) return 0;
  if (ident[EI_CLASS] == ELFCLASS32) return 32;
  if (ident[EI_CLASS] == ELFCLASS64) return 64;
  return 0;
}

// Every /proc reader of the project reads through this: a process that exits
// while it is read is gone, never an error of the caller's.
std::string read_proc_file(const std::string& path, bool* ok) {
  try {
    std::ifstream in(path, std::ios::binary);
    *ok = static_cast<bool>(in);
    if (!in) return {};
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  } catch (const std::ios_base::failure&) {
    *ok = false;
    return {};
  }
}

std::optional<uint64_t> keyed_number(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string word;
  uint64_t value = 0;
  while (in >> word) {
    if (word == key) return in >> value ? std::optional<uint64_t>(value) : std::nullopt;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

namespace {

std::string read_link(const std::string& path) {
  std::string buffer(PATH_MAX, '\0');
  ssize_t n = ::readlink(path.c_str(), buffer.data(), buffer.size());
  if (n < 0) return {};
  buffer.resize(static_cast<size_t>(n));
  return buffer;
}

// The AT_EXECFN value in /proc/PID/auxv, whose word size is the process's.
template <typename Word>
Word find_execfn(const std::string& auxv) {
  for (size_t at = 0; at + 2 * sizeof(Word) <= auxv.size(); at += 2 * sizeof(Word)) {
    Word type = 0;
    Word value = 0;
    std::memcpy(&type, auxv.data() + at, sizeof type);
    std::memcpy(&value, auxv.data() + at + sizeof type, sizeof value);
    if (type == AT_NULL) break;
    if (type == AT_EXECFN) return value;
  }
  return 0;
}

// Reads the NUL-terminated string at `address` in the process (needs ptrace
// access: same user or root). "" when unreadable.
std::string read_string(pid_t pid, uint64_t address) {
  if (address == 0) return {};
  int fd = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string buffer(PATH_MAX, '\0');
  ssize_t n = ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(address));
  ::close(fd);
  if (n <= 0) return {};
  buffer.resize(static_cast<size_t>(n));
  auto nul = buffer.find('\0');
  if (nul == std::string::npos) return {};
  buffer.resize(nul);
  return buffer;
}

void read_invoked_name(ProcessInfo* info, const std::string& dir) {
  bool ok = false;
  std::string auxv = read_proc_file(dir + "/auxv", &ok);
  if (ok && info->elf_class != 0) {
    uint64_t address = info->elf_class == 32 ? find_execfn<uint32_t>(auxv) : find_execfn<uint64_t>(auxv);
    info->invoked_path = read_string(info->pid, address);
    if (!info->invoked_path.empty()) {
      info->invoked_source = "AT_EXECFN";
      return;
    }
  }
  const std::vector<std::string> argv = command_line(info->pid);
  if (!argv.empty()) {
    info->invoked_path = argv.front();
    info->invoked_source = "argv[0]";
  }
}

void read_maps(ProcessInfo* info, const std::string& dir) {
  bool ok = false;
  std::istringstream maps(read_proc_file(dir + "/maps", &ok));
  if (!ok) return;
  info->maps_readable = true;
  std::string line;
  while (std::getline(maps, line)) {
    // address perms offset dev inode pathname: the pathname starts at the sixth field.
    std::istringstream fields(line);
    std::string skip;
    for (int i = 0; i < 5; ++i) fields >> skip;
    std::string path;
    std::getline(fields >> std::ws, path);
    if (path.empty() || path.front() != '/') continue;
    auto add = [&path](std::vector<std::string>* list) {
      if (std::find(list->begin(), list->end(), path) == list->end()) list->push_back(path);
    };
    if (is_memproxy_library(path)) add(&info->memproxy_paths);
    if (is_allocator_library(path)) add(&info->allocator_paths);
  }
  info->memproxy_mapped = !info->memproxy_paths.empty();
}

}  // namespace

std::optional<uint64_t> start_ticks(pid_t pid) {
  bool ok = false;
  std::string stat = read_proc_file("/proc/" + std::to_string(pid) + "/stat", &ok);
  // The command name (field 2) is in parentheses and may contain anything:
  // the fields are counted from the last ')'.
  auto close = stat.rfind(')');
  if (!ok || close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  for (int index = 3; fields >> field; ++index) {
    if (index == 22) return std::strtoull(field.c_str(), nullptr, 10);
  }
  return std::nullopt;
}

std::optional<uint64_t> resident_bytes(pid_t pid) {
  bool ok = false;
  std::istringstream statm(read_proc_file("/proc/" + std::to_string(pid) + "/statm", &ok));
  uint64_t size = 0, resident = 0;
  if (!ok || !(statm >> size >> resident)) return std::nullopt;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

namespace {

// The first number of a "Uid:" or "Gid:" line of /proc/PID/status: the real id.
std::optional<unsigned long> real_id(pid_t pid, const char* field) {
  bool ok = false;
  std::istringstream status(read_proc_file("/proc/" + std::to_string(pid) + "/status", &ok));
  std::string line;
  const size_t length = std::strlen(field);
  while (std::getline(status, line)) {
    if (line.compare(0, length, field) == 0) return std::strtoul(line.c_str() + length, nullptr, 10);
  }
  return std::nullopt;
}

}  // namespace

std::optional<uid_t> real_uid(pid_t pid) {
  auto id = real_id(pid, "Uid:");
  return id ? std::optional<uid_t>(static_cast<uid_t>(*id)) : std::nullopt;
}

std::optional<gid_t> real_gid(pid_t pid) {
  auto id = real_id(pid, "Gid:");
  return id ? std::optional<gid_t>(static_cast<gid_t>(*id)) : std::nullopt;
}

Names names_of(pid_t pid) {
  ProcessInfo info;
  info.pid = pid;
  const std::string dir = "/proc/" + std::to_string(pid);
  info.resolved_path = read_link(dir + "/exe");
  if (!info.resolved_path.empty()) info.elf_class = elf_class_of(dir + "/exe");
  read_invoked_name(&info, dir);
  return {info.invoked_path, info.resolved_path};
}

std::vector<std::string> command_line(pid_t pid) {
  bool ok = false;
  const std::string text = read_proc_file("/proc/" + std::to_string(pid) + "/cmdline", &ok);
  std::vector<std::string> argv;
  if (!ok) return argv;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\0', start);
    if (end == std::string::npos) end = text.size();
    argv.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return argv;
}

ProcessInfo inspect_process(pid_t pid) {
  ProcessInfo info;
  info.pid = pid;
  const std::string dir = "/proc/" + std::to_string(pid);
  if (pid <= 0 || ::access(dir.c_str(), F_OK) != 0) {
    info.error = "no process with pid " + std::to_string(pid);
    return info;
  }
  info.exists = true;
  info.resolved_path = read_link(dir + "/exe");
  if (info.resolved_path.empty()) {
    info.error = "cannot read " + dir + "/exe: " + std::strerror(errno) +
                 " (a kernel thread, or a process of another user: run as root)";
  } else {
    info.elf_class = elf_class_of(dir + "/exe");
  }
  read_invoked_name(&info, dir);
  read_maps(&info, dir);
  return info;
}

}  // namespace memproxy::process
