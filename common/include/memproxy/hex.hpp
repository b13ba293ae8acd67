// An address or an offset as every output of the project spells it:
// "0x" and lowercase hex digits, no padding.
#ifndef MEMPROXY_HEX_HPP
#define MEMPROXY_HEX_HPP

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>

namespace memproxy {

inline std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%" PRIx64, value);
  return text;
}

}  // namespace memproxy

#endif
