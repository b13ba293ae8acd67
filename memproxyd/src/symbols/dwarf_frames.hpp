// The inlined chain at one address of a libdwfl module, from its DWARF
// (the scopes that contain the address: inlined subroutines, then the
// subprogram) or, without DWARF, from its symbol table.
//
// A unit is found through .debug_aranges when the object has them (GCC's
// default); clang and rustc leave them out, and then the units' own
// address ranges (DW_AT_low_pc/high_pc, DW_AT_ranges) are searched, read
// once per object into a UnitIndex.
#ifndef MEMPROXYD_SYMBOLS_DWARF_FRAMES_HPP
#define MEMPROXYD_SYMBOLS_DWARF_FRAMES_HPP

#include <elfutils/libdwfl.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "symbols/location.hpp"

namespace memproxy::symbols {

// Bounds on what one address yields, whatever the debug information says.
inline constexpr size_t kMaxFrames = 32;
inline constexpr size_t kMaxTextBytes = 4096;

// Units indexed by the address ranges they cover: which unit holds an
// address when .debug_aranges does not say. At most kMaxUnitRanges ranges
// are kept (a hostile object may claim any number).
class UnitIndex {
 public:
  static constexpr size_t kMaxUnitRanges = size_t{1} << 20;

  // Reads the ranges of every unit of `dwarf` (DIE addresses).
  explicit UnitIndex(Dwarf* dwarf);
  // The offset of the unit's DIE that covers the DIE address `address`.
  std::optional<Dwarf_Off> unit_at(Dwarf_Addr address) const;

 private:
  struct Range {
    Dwarf_Addr start = 0;
    Dwarf_Addr end = 0;  // exclusive
    Dwarf_Off unit = 0;
  };
  std::vector<Range> ranges_;  // sorted by start
};

// `address` is an instruction's address in the module (for a return
// address, the call instruction's: the return address minus one).
// Innermost first; each frame's file:line is where the code at `address`
// is (innermost) or where the next-inner frame was inlined (call site).
// Empty when neither DWARF nor a symbol covers the address. `units` is the
// module's UnitIndex, made on the first address that .debug_aranges does
// not place (it stays empty for objects whose aranges place them all).
std::vector<Frame> frames_at(Dwfl_Module* module, uint64_t address, std::optional<UnitIndex>* units);

}  // namespace memproxy::symbols

#endif
