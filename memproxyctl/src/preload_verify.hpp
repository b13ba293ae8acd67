// Proving a preload list works before it goes where every program reads it.
#ifndef MEMPROXYCTL_PRELOAD_VERIFY_HPP
#define MEMPROXYCTL_PRELOAD_VERIFY_HPP

#include <string>
#include <vector>

namespace memproxyctl {

struct Verification {
  bool ok = false;
  std::string detail;  // what was run and, on failure, what went wrong
};

// Runs the platform's test program with LD_PRELOAD set to `entries` and checks
// that it succeeded, that the dynamic linker reported no failed preload, and
// that libmemproxy was mapped (when `expect_memproxy`).
Verification verify_preload(const std::vector<std::string>& entries, bool expect_memproxy);

}  // namespace memproxyctl

#endif
