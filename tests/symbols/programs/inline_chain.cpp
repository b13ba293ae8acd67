// A call three inlined functions deep (built -g -O2, always_inline):
// main -> handle_request -> remember_session -> store_session ->
// sym_report. Prints "chain RETURN_ADDRESS LINE 0" (sym_report's line,
// the innermost frame's), "object base ADDRESS" (where the executable's
// first byte is loaded, so that the test can name the same instruction
// to eu-addr2line -e), then stops itself.
#include <csignal>
#include <cstdio>

#include "sym_lib.h"

extern "C" char __executable_start;

volatile int sink;

namespace {

inline __attribute__((always_inline)) void store_session() {
  sym_report("chain", __LINE__, 0);
  sink = sink + 1;
}

inline __attribute__((always_inline)) void remember_session() {
  store_session();
  sink = sink + 2;
}

inline __attribute__((always_inline)) void handle_request() {
  remember_session();
  sink = sink + 3;
}

}  // namespace

int main() {
  handle_request();
  sink = sink + 4;
  std::printf("object base %p\n", static_cast<void*>(&__executable_start));
  std::printf("ready\n");
  std::fflush(stdout);
  std::raise(SIGSTOP);
  return 0;
}
