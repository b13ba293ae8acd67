#include "allocator_entry.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "platform.hpp"
#include "process_info.hpp"
#include "memproxy/unique_fd.hpp"

namespace memproxyctl {

namespace {

// A dynamic symbol table is a few MiB at most (libLLVM's is under 10).
constexpr uint64_t kMaxTableBytes = 64u << 20;

bool read_at(int fd, uint64_t size, uint64_t offset, uint64_t length, void* out) {
  if (offset > size || length > size - offset) return false;
  return ::pread(fd, out, length, static_cast<off_t>(offset)) == static_cast<ssize_t>(length);
}

template <typename Ehdr, typename Shdr, typename Sym>
bool scan_dynsym(int fd, uint64_t size) {
  Ehdr header;
  if (!read_at(fd, size, 0, sizeof header, &header)) return false;
  if (header.e_shentsize != sizeof(Shdr) || header.e_shnum == 0) return false;
  std::vector<Shdr> sections(header.e_shnum);
  if (!read_at(fd, size, header.e_shoff, sizeof(Shdr) * sections.size(), sections.data())) return false;
  for (const Shdr& symbols : sections) {
    if (symbols.sh_type != SHT_DYNSYM || symbols.sh_link >= sections.size()) continue;
    const Shdr& strings = sections[symbols.sh_link];
    if (strings.sh_type != SHT_STRTAB || strings.sh_size > kMaxTableBytes || symbols.sh_size > kMaxTableBytes) {
      continue;
    }
    std::vector<char> names(strings.sh_size);
    std::vector<Sym> table(symbols.sh_size / sizeof(Sym));
    if (!read_at(fd, size, strings.sh_offset, names.size(), names.data())) continue;
    if (!read_at(fd, size, symbols.sh_offset, table.size() * sizeof(Sym), table.data())) continue;
    constexpr char kMalloc[] = "malloc";
    for (const Sym& symbol : table) {
      const unsigned type = symbol.st_info & 0xf;
      const unsigned binding = symbol.st_info >> 4;
      if (symbol.st_shndx == SHN_UNDEF || (type != STT_FUNC && type != STT_GNU_IFUNC)) continue;
      if (binding != STB_GLOBAL && binding != STB_WEAK) continue;
      if (symbol.st_name >= names.size() || names.size() - symbol.st_name < sizeof kMalloc) continue;
      if (std::memcmp(&names[symbol.st_name], kMalloc, sizeof kMalloc) == 0) return true;
    }
  }
  return false;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_libc(const std::string& entry) {
  const std::string name = base_name(entry);
  return name.rfind("libc.so", 0) == 0 || name.rfind("libc-", 0) == 0;
}

}  // namespace

bool defines_malloc(const std::string& path) {
  memproxy::UniqueFd file{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)};
  struct stat st {};
  if (file.get() < 0 || ::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  unsigned char ident[EI_NIDENT];
  if (!read_at(file.get(), size, 0, sizeof ident, ident) || std::memcmp(ident, ELFMAG, SELFMAG) != 0) return false;
  const unsigned char host_order = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
  if (ident[EI_DATA] != host_order) return false;
  if (ident[EI_CLASS] == ELFCLASS64) return scan_dynsym<Elf64_Ehdr, Elf64_Shdr, Elf64_Sym>(file.get(), size);
  if (ident[EI_CLASS] == ELFCLASS32) return scan_dynsym<Elf32_Ehdr, Elf32_Shdr, Elf32_Sym>(file.get(), size);
  return false;
}

std::string locate_preload_entry(const std::string& entry) {
  std::string path = replace_all(replace_all(entry, "${LIB}", platform::kLibToken64), "$LIB", platform::kLibToken64);
  if (path.find('$') != std::string::npos) return {};
  if (path.find('/') != std::string::npos) return path[0] == '/' && is_regular_file(path) ? path : std::string();
  for (const std::string& dir : {std::string("/") + platform::kLibToken64, std::string("/usr/") + platform::kLibToken64,
                                std::string("/lib"), std::string("/usr/lib")}) {
    if (is_regular_file(dir + "/" + path)) return dir + "/" + path;
  }
  return {};
}

bool is_allocator_entry(const std::string& entry) {
  if (is_memproxy_library(entry) || is_libc(entry)) return false;
  if (is_allocator_library(entry)) return true;
  const std::string path = locate_preload_entry(entry);
  return !path.empty() && defines_malloc(path);
}

}  // namespace memproxyctl
