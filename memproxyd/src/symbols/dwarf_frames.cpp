#include "symbols/dwarf_frames.hpp"

#include <dwarf.h>
#include <elfutils/libdw.h>

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

Position line_table_position(Dwfl_Module* module, uint64_t address) {
  Position where;
  Dwfl_Line* line = dwfl_module_getsrc(module, address);
  if (line == nullptr) return where;
  int number = 0, column = 0;
  where.file = bounded(dwfl_lineinfo(line, nullptr, &number, &column, nullptr, nullptr));
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

// Appends the DWARF chain at `address`, starting at the line table's
// `where`; returns the position in the frame that would come next (the
// call site of the outermost inlined frame when no subprogram closes it).
Position dwarf_chain(Dwfl_Module* module, uint64_t address, Position where, std::vector<Frame>* frames) {
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = dwfl_module_addrdie(module, address, &bias);
  if (cu == nullptr) return where;
  Dwarf_Die* raw = nullptr;
  int count = dwarf_getscopes(cu, address - bias, &raw);
  std::unique_ptr<Dwarf_Die, decltype(&std::free)> scopes(raw, &std::free);
  for (int i = 0; i < count && frames->size() < kMaxFrames; ++i) {
    Dwarf_Die* scope = &scopes.get()[i];
    int tag = dwarf_tag(scope);
    if (tag == DW_TAG_inlined_subroutine) {
      frames->push_back(make_frame(function_name(scope), where, true));
      where = call_site(scope);
    } else if (tag == DW_TAG_subprogram) {
      frames->push_back(make_frame(function_name(scope), where, false));
      return {};
    }
  }
  return where;
}

}  // namespace

std::vector<Frame> frames_at(Dwfl_Module* module, uint64_t address) {
  std::vector<Frame> frames;
  Position where = dwarf_chain(module, address, line_table_position(module, address), &frames);
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
