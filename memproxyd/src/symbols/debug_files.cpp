#include "symbols/debug_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "symbols/elf_object.hpp"
#include "memproxy/unique_fd.hpp"

namespace memproxy::symbols {
namespace {

constexpr const char* kDefaultPath = ":.debug:/usr/lib/debug";
// Bounds on what the object names: a debuglink is a file name, the search
// path a handful of directories.
constexpr size_t kMaxName = 4096;
constexpr size_t kMaxEntries = 16;

UniqueFd open_regular(const std::string& path) {
  if (path.size() > kMaxName) return {};
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  return fd;
}

// The CRC-32 .gnu_debuglink records, of the whole file; nullopt-like 0 with
// `ok` false when it cannot be read.
bool file_crc(int fd, uint32_t* crc) {
  uLong value = crc32(0L, Z_NULL, 0);
  unsigned char buffer[65536];
  off_t at = 0;
  for (;;) {
    const ssize_t got = ::pread(fd, buffer, sizeof buffer, at);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return false;
    if (got == 0) break;
    value = crc32(value, buffer, static_cast<uInt>(got));
    at += got;
  }
  *crc = static_cast<uint32_t>(value);
  return true;
}

std::vector<std::string> entries(const std::string& path) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (out.size() < kMaxEntries) {
    const size_t end = path.find(':', begin);
    std::string entry = path.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    // libdwfl's markers for whether a CRC is checked; it always is here.
    if (!entry.empty() && (entry[0] == '+' || entry[0] == '-')) entry.erase(0, 1);
    out.push_back(entry);
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return out;
}

std::string module_build_id(Dwfl_Module* module) {
  const unsigned char* bits = nullptr;
  GElf_Addr address = 0;
  const int size = dwfl_module_build_id(module, &bits, &address);
  if (size <= 0 || size > 64) return {};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (int i = 0; i < size; ++i) {
    hex += kDigits[bits[i] >> 4];
    hex += kDigits[bits[i] & 15];
  }
  return hex;
}

int hand_over(UniqueFd fd, const std::string& path, char** debuginfo_file_name) {
  *debuginfo_file_name = ::strdup(path.c_str());
  return fd.release();
}

int fetch_from_debuginfod(Dwfl_Module* module, const std::string& build_id, char** debuginfo_file_name) {
  char* ignored_name = nullptr;
  UniqueFd fd(dwfl_standard_find_debuginfo(module, nullptr, nullptr, 0, nullptr, nullptr, 0, &ignored_name));
  ::free(ignored_name);
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || read_build_id(fd.get()) != build_id) return -1;
  return hand_over(std::move(fd), "debuginfod:" + build_id, debuginfo_file_name);
}

// The distribution's ways, regular files only.
int find_locally(const std::vector<std::string>& search, const std::string& build_id, const char* file_name,
                 const char* debuglink_file, GElf_Word debuglink_crc, char** debuginfo_file_name) {
  if (build_id.size() > 2) {
    for (const std::string& root : search) {
      if (root.empty() || root[0] != '/') continue;
      const std::string path = root + "/.build-id/" + build_id.substr(0, 2) + "/" + build_id.substr(2) + ".debug";
      UniqueFd fd = open_regular(path);
      if (fd && read_build_id(fd.get()) == build_id) return hand_over(std::move(fd), path, debuginfo_file_name);
    }
  }

  if (debuglink_file == nullptr || ::strnlen(debuglink_file, kMaxName + 1) > kMaxName) return -1;
  const std::string link = debuglink_file;
  if (link.empty()) return -1;
  if (link[0] == '/') {
    // An absolute name is dwz's .gnu_debugaltlink, asked for with no CRC.
    UniqueFd fd = open_regular(link);
    return fd ? hand_over(std::move(fd), link, debuginfo_file_name) : -1;
  }
  if (link.find('/') != std::string::npos || file_name == nullptr) return -1;
  const std::string object = file_name;
  const size_t slash = object.rfind('/');
  if (slash == std::string::npos) return -1;
  const std::string directory = object.substr(0, slash);
  for (const std::string& entry : search) {
    std::string path;
    if (entry.empty()) path = directory + "/" + link;
    else if (entry[0] == '/') path = entry + directory + "/" + link;
    else path = directory + "/" + entry + "/" + link;
    if (path == object) continue;
    UniqueFd fd = open_regular(path);
    if (!fd) continue;
    const std::string candidate_id = read_build_id(fd.get());
    bool believed = false;
    if (!build_id.empty() && !candidate_id.empty()) {
      believed = candidate_id == build_id;
    } else {
      uint32_t crc = 0;
      believed = file_crc(fd.get(), &crc) && crc == debuglink_crc;
    }
    if (believed) return hand_over(std::move(fd), path, debuginfo_file_name);
  }
  return -1;
}

}  // namespace

int find_debug_file(Dwfl_Module* module, void** userdata, const char* /*module_name*/, Dwarf_Addr /*base*/,
                    const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                    char** debuginfo_file_name) {
  const auto* configured = userdata != nullptr ? static_cast<const std::string*>(*userdata) : nullptr;
  const std::vector<std::string> search = entries(configured != nullptr && !configured->empty() ? *configured
                                                                                              : kDefaultPath);
  const std::string build_id = module_build_id(module);
  const int fd = find_locally(search, build_id, file_name, debuglink_file, debuglink_crc, debuginfo_file_name);
  const bool shared_file = debuglink_file != nullptr && debuglink_file[0] == '/';
  if (fd >= 0 || shared_file || build_id.empty() || ::getenv("DEBUGINFOD_URLS") == nullptr) return fd;
  return fetch_from_debuginfod(module, build_id, debuginfo_file_name);
}

}  // namespace memproxy::symbols
