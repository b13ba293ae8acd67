// Who this process is, in the three forms the table can name it by: the
// basename it was invoked by (symlink or script name), the basename of the
// resolved executable, and the resolved executable's absolute path.
#ifndef MEMPROXY_PROGRAM_IDENTITY_HPP
#define MEMPROXY_PROGRAM_IDENTITY_HPP

#include <limits.h>
#include <stddef.h>

#include "memproxy/match.hpp"

namespace memproxy {

struct ProgramIdentity {
  const char* invoked_name;  // basename of AT_EXECFN / getexecname(), or nullptr
  const char* exe_name;      // basename of exe_path, or nullptr
  long exe_length;           // -1 when the executable cannot be resolved
  char exe_path[PATH_MAX];
};

// Fills `out` without allocating.
void identify_program(ProgramIdentity* out);

const char* base_name(const char* path);

// The forms the matching rule looks up; the strings stay `id`'s.
inline match::Identity identity_of(const ProgramIdentity& id) {
  return {{id.exe_length > 0 ? id.exe_path : nullptr, id.exe_name, id.invoked_name}};
}

}  // namespace memproxy

#endif
