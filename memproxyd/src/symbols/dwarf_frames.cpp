#include "symbols/dwarf_frames.hpp"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "symbols/demangle.hpp"

namespace memproxy::symbols {
namespace {

std::string bounded(const char* text) {
  if (text == nullptr) return {};
  std::string out(text, strnlen(text, kMaxTextBytes));
  return out;
}

const char* string_attribute(Dwarf_Die* die, unsigned int name) {
  Dwarf_Attribute attribute;
  if (dwarf_attr_integrate(die, name, &attribute) == nullptr) return nullptr;
  return dwarf_formstring(&attribute);
}

// The DIE that declares `die`: its abstract origin or specification,
// followed a bounded number of times (a hostile chain may loop).
Dwarf_Die declaration_of(Dwarf_Die die) {
  for (int hop = 0; hop < 8; ++hop) {
    Dwarf_Attribute attribute;
    Dwarf_Die next;
    if ((dwarf_attr(&die, DW_AT_abstract_origin, &attribute) == nullptr &&
         dwarf_attr(&die, DW_AT_specification, &attribute) == nullptr) ||
        dwarf_formref_die(&attribute, &next) == nullptr) {
      break;
    }
    die = next;
  }
  return die;
}

// "ns::Class::" for a declaration inside namespaces and classes.
std::string scope_prefix(Dwarf_Die declaration) {
  Dwarf_Die* raw = nullptr;
  int count = dwarf_getscopes_die(&declaration, &raw);
  std::unique_ptr<Dwarf_Die, decltype(&std::free)> scopes(raw, &std::free);
  std::string prefix;
  for (int i = 1; i < count && prefix.size() < kMaxTextBytes; ++i) {
    int tag = dwarf_tag(&scopes.get()[i]);
    if (tag != DW_TAG_namespace && tag != DW_TAG_class_type && tag != DW_TAG_structure_type &&
        tag != DW_TAG_union_type) {
      continue;
    }
    const char* name = dwarf_diename(&scopes.get()[i]);
    prefix = (name != nullptr ? bounded(name) : std::string("(anonymous namespace)")) + "::" + prefix;
  }
  return prefix;
}

// The linkage name, demangled, says namespace, class and parameters.
// Without one (C functions, main, C++ functions with internal linkage
// that were only ever inlined) the name is DW_AT_name, qualified by the
// namespaces and classes around its declaration.
std::string function_name(Dwarf_Die* die) {
  const char* name = string_attribute(die, DW_AT_linkage_name);
  if (name == nullptr) name = string_attribute(die, DW_AT_MIPS_linkage_name);
  if (name != nullptr) return bounded(demangle(bounded(name)).c_str());
  name = string_attribute(die, DW_AT_name);
  if (name == nullptr) return {};
  return bounded((scope_prefix(declaration_of(*die)) + bounded(name)).c_str());
}

uint32_t clamp_line(Dwarf_Word value) { return value > UINT32_MAX ? 0 : static_cast<uint32_t>(value); }

struct Position {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
};

// Where the inlined subroutine `die` was called from, in its caller.
Position call_site(Dwarf_Die* die) {
  Position where;
  Dwarf_Attribute attribute;
  Dwarf_Word value = 0;
  if (dwarf_attr(die, DW_AT_call_line, &attribute) != nullptr && dwarf_formudata(&attribute, &value) == 0) {
    where.line = clamp_line(value);
  }
  if (dwarf_attr(die, DW_AT_call_column, &attribute) != nullptr && dwarf_formudata(&attribute, &value) == 0) {
    where.column = clamp_line(value);
  }
  if (dwarf_attr(die, DW_AT_call_file, &attribute) != nullptr && dwarf_formudata(&attribute, &value) == 0) {
    Dwarf_Die cu;
    Dwarf_Files* files = nullptr;
    size_t count = 0;
    if (dwarf_diecu(die, &cu, nullptr, nullptr) != nullptr && dwarf_getsrcfiles(&cu, &files, &count) == 0 &&
        value < count) {
      where.file = bounded(dwarf_filesrc(files, value, nullptr, nullptr));
    }
  }
  return where;
}

// A unit's DIE and the bias from module addresses to its DIE addresses.
struct Unit {
  Dwarf_Die die;
  Dwarf_Addr bias = 0;
};

std::optional<Unit> unit_at(Dwfl_Module* module, uint64_t address, std::optional<UnitIndex>* units) {
  Dwarf_Addr bias = 0;
  if (Dwarf_Die* die = dwfl_module_addrdie(module, address, &bias)) return Unit{*die, bias};
  Dwarf* dwarf = dwfl_module_getdwarf(module, &bias);
  if (dwarf == nullptr) return std::nullopt;
  if (!units->has_value()) units->emplace(dwarf);
  std::optional<Dwarf_Off> offset = (*units)->unit_at(address - bias);
  Dwarf_Die die;
  if (!offset || dwarf_offdie(dwarf, *offset, &die) == nullptr) return std::nullopt;
  return Unit{die, bias};
}

Position line_table_position(Dwfl_Module* module, uint64_t address, const std::optional<Unit>& unit) {
  Position where;
  int number = 0, column = 0;
  if (Dwfl_Line* line = dwfl_module_getsrc(module, address)) {
    where.file = bounded(dwfl_lineinfo(line, nullptr, &number, &column, nullptr, nullptr));
  } else if (unit) {
    // libdwfl finds line tables through .debug_aranges too.
    Dwarf_Die die = unit->die;
    Dwarf_Line* line = dwarf_getsrc_die(&die, address - unit->bias);
    if (line == nullptr) return where;
    where.file = bounded(dwarf_linesrc(line, nullptr, nullptr));
    dwarf_lineno(line, &number);
    dwarf_linecol(line, &column);
  }
  where.line = number > 0 ? static_cast<uint32_t>(number) : 0;
  where.column = column > 0 ? static_cast<uint32_t>(column) : 0;
  return where;
}

Frame make_frame(std::string function, const Position& where, bool inlined) {
  Frame frame;
  frame.function = std::move(function);
  frame.file = where.file;
  frame.line = where.line;
  frame.column = where.column;
  frame.inlined = inlined;
  return frame;
}

// Real code nests scopes a few levels deep; a hostile object may nest any number.
constexpr size_t kMaxScopeDepth = 256;

struct FunctionSearch {
  Dwarf_Addr pc = 0;
  Dwarf_Die found{};
  bool ok = false;
};

int match_function(Dwarf_Die* die, void* arg) {
  auto* search = static_cast<FunctionSearch*>(arg);
  if (dwarf_haspc(die, search->pc) != 1) return DWARF_CB_OK;
  search->found = *die;
  search->ok = true;
  return DWARF_CB_ABORT;
}

// The concrete scopes that cover `pc`, outermost first: the subprogram
// (found by libdw's walk over the unit's functions, those defined inside
// namespaces and classes included, as Rust defines them), then each
// lexical block, inlined subroutine or nested function inside it down to
// the innermost. Walked down the concrete tree rather than taken from
// dwarf_getscopes, which continues past an inlined instance with the
// scopes around its abstract origin: the functions it was inlined into
// are lost there, and it finds nothing when the origin sits in another
// namespace (Rust's inlined core functions).
std::vector<Dwarf_Die> scopes_at(Dwarf_Die unit, Dwarf_Addr pc) {
  FunctionSearch search;
  search.pc = pc;
  dwarf_getfuncs(&unit, match_function, &search, 0);
  if (!search.ok) return {};
  std::vector<Dwarf_Die> path{search.found};
  while (path.size() < kMaxScopeDepth) {
    Dwarf_Die child;
    if (dwarf_child(&path.back(), &child) != 0) break;
    bool deeper = false;
    for (;;) {
      if (dwarf_haspc(&child, pc) == 1) {
        path.push_back(child);
        deeper = true;
        break;
      }
      Dwarf_Die next;
      if (dwarf_siblingof(&child, &next) != 0) break;
      child = next;
    }
    if (!deeper) break;
  }
  return path;
}

// Appends the DWARF chain at `address`, starting at the line table's
// `where`; returns the position in the frame that would come next (the
// call site of the outermost inlined frame when no subprogram closes it).
Position dwarf_chain(const Unit& unit, uint64_t address, Position where, std::vector<Frame>* frames) {
  std::vector<Dwarf_Die> scopes = scopes_at(unit.die, address - unit.bias);
  for (auto scope = scopes.rbegin(); scope != scopes.rend() && frames->size() < kMaxFrames; ++scope) {
    const int tag = dwarf_tag(&*scope);
    if (tag == DW_TAG_inlined_subroutine) {
      frames->push_back(make_frame(function_name(&*scope), where, true));
      where = call_site(&*scope);
    } else if (tag == DW_TAG_subprogram) {
      frames->push_back(make_frame(function_name(&*scope), where, false));
      return {};
    }
  }
  return where;
}

}  // namespace

UnitIndex::UnitIndex(Dwarf* dwarf) {
  Dwarf_CU* cu = nullptr;
  Dwarf_Die die;
  uint8_t unit_type = 0;
  while (ranges_.size() < kMaxUnitRanges &&
         dwarf_get_units(dwarf, cu, &cu, nullptr, &unit_type, &die, nullptr) == 0) {
    if (unit_type != DW_UT_compile && unit_type != DW_UT_partial) continue;
    Dwarf_Addr base = 0, start = 0, end = 0;
    ptrdiff_t at = 0;
    while (ranges_.size() < kMaxUnitRanges && (at = dwarf_ranges(&die, at, &base, &start, &end)) > 0) {
      if (end > start) ranges_.push_back({start, end, dwarf_dieoffset(&die)});
    }
  }
  std::sort(ranges_.begin(), ranges_.end(), [](const Range& a, const Range& b) { return a.start < b.start; });
}

std::optional<Dwarf_Off> UnitIndex::unit_at(Dwarf_Addr address) const {
  auto after = std::upper_bound(ranges_.begin(), ranges_.end(), address,
                                [](Dwarf_Addr a, const Range& range) { return a < range.start; });
  if (after == ranges_.begin()) return std::nullopt;
  const Range& range = *(after - 1);
  if (address >= range.end) return std::nullopt;
  return range.unit;
}

std::vector<Frame> frames_at(Dwfl_Module* module, uint64_t address, std::optional<UnitIndex>* units) {
  std::vector<Frame> frames;
  const std::optional<Unit> unit = unit_at(module, address, units);
  Position where = line_table_position(module, address, unit);
  if (unit) where = dwarf_chain(*unit, address, where, &frames);
  if (!frames.empty() && !frames.back().inlined) return frames;

  // No DWARF subprogram: the symbol table names the containing function
  // (the inlined frames found, if any, stay in front of it).
  GElf_Sym symbol;
  GElf_Off offset = 0;
  const char* name = dwfl_module_addrinfo(module, address, &offset, &symbol, nullptr, nullptr, nullptr);
  if (name != nullptr && frames.size() < kMaxFrames) {
    frames.push_back(make_frame(bounded(demangle(bounded(name)).c_str()), where, false));
  } else if (frames.empty() && !where.file.empty()) {
    frames.push_back(make_frame("", where, false));
  }
  return frames;
}

}  // namespace memproxy::symbols
