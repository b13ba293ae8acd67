#include "symbols/location.hpp"

#include "memproxy/hex.hpp"

namespace memproxy::symbols {

std::string describe(const Location& location) {
  const std::string address = hex(location.address);
  if (!location.mapped) return address + " [unknown]";
  const std::string where = location.object + "+" + hex(location.offset);
  if (location.frames.empty()) return address + " " + where;
  std::string out;
  for (const Frame& frame : location.frames) {
    if (!out.empty()) out += '\n';
    out += address + " " + (frame.function.empty() ? std::string("??") : frame.function);
    if (!frame.file.empty()) {
      out += " (" + frame.file;
      if (frame.line != 0) out += ":" + std::to_string(frame.line);
      if (frame.column != 0) out += ":" + std::to_string(frame.column);
      out += ")";
    }
    out += " in " + where;
    if (frame.inlined) out += " [inlined]";
  }
  return out;
}

}  // namespace memproxy::symbols
