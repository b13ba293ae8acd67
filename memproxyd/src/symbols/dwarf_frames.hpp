// The inlined chain at one address of a libdwfl module, from its DWARF
// (the scopes that contain the address: inlined subroutines, then the
// subprogram) or, without DWARF, from its symbol table.
#ifndef MEMPROXYD_SYMBOLS_DWARF_FRAMES_HPP
#define MEMPROXYD_SYMBOLS_DWARF_FRAMES_HPP

#include <elfutils/libdwfl.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "symbols/location.hpp"

namespace memproxy::symbols {

// Bounds on what one address yields, whatever the debug information says.
inline constexpr size_t kMaxFrames = 32;
inline constexpr size_t kMaxTextBytes = 4096;

// `address` is an instruction's address in the module (for a return
// address, the call instruction's: the return address minus one).
// Innermost first; each frame's file:line is where the code at `address`
// is (innermost) or where the next-inner frame was inlined (call site).
// Empty when neither DWARF nor a symbol covers the address.
std::vector<Frame> frames_at(Dwfl_Module* module, uint64_t address);

}  // namespace memproxy::symbols

#endif
