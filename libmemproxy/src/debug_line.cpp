#include "debug_line.hpp"

#include <unistd.h>

#include "text_buffer.hpp"

namespace memproxy {

void write_debug_line(const DebugFacts& f) {
  char storage[2 * PATH_MAX + 2048];
  TextBuffer line(storage, sizeof storage);
  const char* program = f.id->invoked_name != nullptr ? f.id->invoked_name : f.id->exe_name;
  line.add("memproxy: pid=").add_uint(static_cast<uint64_t>(getpid()));
  line.add(" program=").add(program != nullptr ? program : "?");
  line.add(" exe=").add(f.id->exe_length > 0 ? f.id->exe_path : "?");
  line.add(" backend=").add(f.backend);
  line.add(" monitored=").add(f.monitored ? "1" : "0");
  line.add(" table=").add(f.table_path);
  line.add(" generation=");
  if (f.has_generation) {
    line.add_uint(f.generation);
  } else {
    line.add("none");
  }
  line.add(" secure=").add(f.secure ? "1" : "0");
  line.add(" reason=").add(f.reason);
  if (line.size() == sizeof storage - 1) storage[line.size() - 1] = '\n';
  else line.add("\n");
  ssize_t ignored = write(2, line.c_str(), line.size());
  (void)ignored;
}

}  // namespace memproxy
