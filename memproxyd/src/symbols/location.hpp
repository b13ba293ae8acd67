// What an address means: the object it lies in, where in that object, and
// the source frames there. The one result type of the in-process
// symbolizer, the worker protocol and the client.
#ifndef MEMPROXYD_SYMBOLS_LOCATION_HPP
#define MEMPROXYD_SYMBOLS_LOCATION_HPP

#include <cstdint>
#include <string>
#include <vector>

namespace memproxy::symbols {

// One function of an inlined chain.
struct Frame {
  std::string function;  // demangled; "" when nothing names the code
  std::string file;      // source file as the debug information names it; "" when unknown
  uint32_t line = 0;     // 0 when unknown
  uint32_t column = 0;   // 0 when unknown
  // This frame's code was inlined into the next frame of the chain; the
  // last frame of a chain is the function the code really lies in.
  bool inlined = false;
  friend bool operator==(const Frame&, const Frame&) = default;
};

struct Location {
  uint64_t address = 0;   // the return address that was asked about
  bool mapped = false;    // it lies in an executable file mapping of the process
  std::string object;     // that file's path as the process mapped it ("" when !mapped)
  bool deleted = false;   // the mapped file was deleted (or replaced) after it was mapped
  std::string build_id;   // the object's GNU build-id, lower-case hex; "" when unknown
  uint64_t offset = 0;    // file offset of `address` in the object (valid when mapped)
  // The inlined chain at the call instruction, innermost first. Empty when
  // the object could not be read or has no symbols: then object+offset is
  // all there is, and `note` says why.
  std::vector<Frame> frames;
  std::string note;
  friend bool operator==(const Location&, const Location&) = default;
};

// One line per frame, innermost first, e.g.
//   "0x5581a2c41234 outer (src/a.cpp:12:3) in /usr/bin/prog+0x1234 [inlined]"
//   "0x7f... /usr/lib/libfoo.so+0x8a10"   (object+offset only)
//   "0x10 [unknown]"                      (no mapping)
std::string describe(const Location& location);

}  // namespace memproxy::symbols

#endif
