#include "program_identity.hpp"

#include <string.h>

#include "platform.hpp"

namespace memproxy {

const char* base_name(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash != nullptr ? slash + 1 : path;
}

void identify_program(ProgramIdentity* out) {
  const char* invoked = platform::invoked_path();
  out->invoked_name = (invoked != nullptr && invoked[0] != '\0') ? base_name(invoked) : nullptr;
  out->exe_length = platform::executable_path(out->exe_path, sizeof out->exe_path);
  out->exe_name = out->exe_length > 0 ? base_name(out->exe_path) : nullptr;
}

}  // namespace memproxy
