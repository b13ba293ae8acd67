#include "symbols/elf_object.hpp"

#include <elfutils/libdwelf.h>
#include <gelf.h>
#include <libelf.h>

#include "symbols/debug_files.hpp"
#include "symbols/dwarf_frames.hpp"

namespace memproxy::symbols {
namespace {

// Build-ids are 20 bytes (SHA-1) in practice; a longer note is believed up to this.
constexpr size_t kMaxBuildIdBytes = 64;
// Real objects have a handful of PT_LOAD segments.
constexpr size_t kMaxSegments = 256;

std::string to_hex(const unsigned char* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
  return out;
}

// libdwfl's own debug search path, which only debuginfod's fetch reaches
// (find_debug_file searches ours): no directory, so it opens no local file
// without find_debug_file's checks.
char kNoDirectories[] = "";
char* no_directories = kNoDirectories;

std::string dwfl_error() {
  const char* message = dwfl_errmsg(-1);
  return message != nullptr ? message : "libdwfl error";
}

}  // namespace

std::shared_ptr<ElfObject> ElfObject::load(UniqueFd fd, const std::string& name, const std::string& debuginfo_path,
                                           std::string* why) {
  std::shared_ptr<ElfObject> object(new ElfObject());
  object->debuginfo_path_ = debuginfo_path;
  object->callbacks_.find_elf = dwfl_build_id_find_elf;
  object->callbacks_.find_debuginfo = find_debug_file;
  object->callbacks_.section_address = dwfl_offline_section_address;
  object->callbacks_.debuginfo_path = &no_directories;
  object->dwfl_ = dwfl_begin(&object->callbacks_);
  if (object->dwfl_ == nullptr) {
    *why = dwfl_error();
    return nullptr;
  }
  dwfl_report_begin(object->dwfl_);
  // Base 0 with add_p_vaddr: module addresses are the ELF's own. On
  // success libdwfl owns the descriptor; on failure it leaves it to us.
  object->module_ = dwfl_report_elf(object->dwfl_, name.c_str(), name.c_str(), fd.get(), 0, true);
  if (object->module_ == nullptr) {
    *why = dwfl_error();
    dwfl_report_end(object->dwfl_, nullptr, nullptr);
    return nullptr;
  }
  fd.release();
  dwfl_report_end(object->dwfl_, nullptr, nullptr);
  // find_debug_file's search path, read when libdwfl first wants DWARF.
  void** userdata = nullptr;
  dwfl_module_info(object->module_, &userdata, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
  if (userdata != nullptr) *userdata = &object->debuginfo_path_;

  const unsigned char* bits = nullptr;
  GElf_Addr note_address = 0;
  int size = dwfl_module_build_id(object->module_, &bits, &note_address);
  if (size > 0 && static_cast<size_t>(size) <= kMaxBuildIdBytes) {
    object->build_id_ = to_hex(bits, static_cast<size_t>(size));
  }

  GElf_Addr bias = 0;
  Elf* elf = dwfl_module_getelf(object->module_, &bias);
  size_t count = 0;
  if (elf == nullptr || elf_getphdrnum(elf, &count) != 0) {
    *why = "no program headers";
    return nullptr;
  }
  for (size_t i = 0; i < count && object->segments_.size() < kMaxSegments; ++i) {
    GElf_Phdr header;
    if (gelf_getphdr(elf, static_cast<int>(i), &header) == nullptr || header.p_type != PT_LOAD) continue;
    object->segments_.push_back({header.p_offset, header.p_filesz, header.p_vaddr + bias});
  }
  return object;
}

ElfObject::~ElfObject() {
  if (dwfl_ != nullptr) dwfl_end(dwfl_);
}

std::optional<uint64_t> ElfObject::address_of_offset(uint64_t offset) const {
  for (const Segment& segment : segments_) {
    if (offset >= segment.offset && offset - segment.offset < segment.size) {
      return segment.address + (offset - segment.offset);
    }
  }
  return std::nullopt;
}

std::vector<Frame> ElfObject::frames_at(uint64_t address) const {
  return symbols::frames_at(module_, address, &units_);
}

std::string read_build_id(int fd) {
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  if (elf == nullptr) return {};
  const void* bits = nullptr;
  ssize_t size = dwelf_elf_gnu_build_id(elf, &bits);
  std::string id;
  if (size > 0 && static_cast<size_t>(size) <= kMaxBuildIdBytes) {
    id = to_hex(static_cast<const unsigned char*>(bits), static_cast<size_t>(size));
  }
  elf_end(elf);
  return id;
}

}  // namespace memproxy::symbols
