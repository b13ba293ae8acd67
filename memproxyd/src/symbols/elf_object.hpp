// One object file (executable or shared library) opened with libdwfl, in
// its own link-time address space: a module reported at bias 0, so that an
// address in it is the ELF's virtual address whatever address a process
// loaded it at, and one parse serves every process that maps the object.
//
// Separate debug information is found by build-id under the debug
// directories (/usr/lib/debug/.build-id/xx/yyyy.debug), then by
// .gnu_debuglink, regular files only (debug_files.hpp). Without DWARF the
// symbol table (.symtab, .dynsym, or the MiniDebugInfo in .gnu_debugdata,
// which libdwfl decompresses) names functions.
#ifndef MEMPROXYD_SYMBOLS_ELF_OBJECT_HPP
#define MEMPROXYD_SYMBOLS_ELF_OBJECT_HPP

#include <elfutils/libdwfl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "symbols/dwarf_frames.hpp"
#include "symbols/location.hpp"
#include "memproxy/unique_fd.hpp"

namespace memproxy::symbols {

class ElfObject {
 public:
  // `debuginfo_path` is libdwfl's search path ("" for its default,
  // ":.debug:/usr/lib/debug"). nullptr with `why` when `fd` is not an ELF
  // object libdwfl accepts.
  static std::shared_ptr<ElfObject> load(UniqueFd fd, const std::string& name, const std::string& debuginfo_path,
                                         std::string* why);
  ~ElfObject();
  ElfObject(const ElfObject&) = delete;
  ElfObject& operator=(const ElfObject&) = delete;

  const std::string& build_id() const { return build_id_; }
  // The virtual address at which the object's loadable segments place file
  // offset `offset`; nullopt when no segment holds it.
  std::optional<uint64_t> address_of_offset(uint64_t offset) const;
  // The chain at an instruction's virtual address (dwarf_frames.hpp).
  std::vector<Frame> frames_at(uint64_t address) const;

 private:
  ElfObject() = default;

  struct Segment {
    uint64_t offset = 0;
    uint64_t size = 0;  // bytes of the file the segment maps
    uint64_t address = 0;
  };

  std::string debuginfo_path_;  // find_debug_file's, through the module's userdata
  Dwfl_Callbacks callbacks_{};
  Dwfl* dwfl_ = nullptr;
  Dwfl_Module* module_ = nullptr;
  std::string build_id_;
  std::vector<Segment> segments_;
  mutable std::optional<UnitIndex> units_;  // made on the first address .debug_aranges does not place
};

// The GNU build-id note of the ELF file `fd`, lower-case hex ("" when it
// has none or is not ELF); reads only the notes.
std::string read_build_id(int fd);

}  // namespace memproxy::symbols

#endif
