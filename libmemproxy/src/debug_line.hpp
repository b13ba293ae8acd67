// The MEMPROXY_DEBUG=1 line: one write(2) to stderr per process, so lines of
// concurrent processes never interleave. Format (fields space-separated):
//   memproxy: pid=PID program=NAME exe=PATH backend=system|custom:LIB
//   monitored=0|1 table=PATH generation=N|none secure=0|1 reason=TEXT
#ifndef MEMPROXY_DEBUG_LINE_HPP
#define MEMPROXY_DEBUG_LINE_HPP

#include <stdint.h>

#include "program_identity.hpp"

namespace memproxy {

struct DebugFacts {
  const ProgramIdentity* id;
  const char* backend;
  bool monitored;
  const char* table_path;
  bool has_generation;
  uint64_t generation;
  bool secure;
  const char* reason;
};

void write_debug_line(const DebugFacts& facts);

}  // namespace memproxy

#endif
