// Proving a preload list works before it goes where every program reads it.
#ifndef MEMPROXYCTL_PRELOAD_VERIFY_HPP
#define MEMPROXYCTL_PRELOAD_VERIFY_HPP

#include <chrono>
#include <string>
#include <vector>

#include "platform.hpp"

namespace memproxyctl {

struct Verification {
  bool ok = false;
  std::string detail;  // what was run and, on failure, what went wrong
};

inline constexpr std::chrono::seconds kDefaultVerifyTimeout{10};

struct VerifyOptions {
  std::string program = platform::kVerifyProgram;  // run as `program /proc/self/maps`
  std::chrono::milliseconds timeout = kDefaultVerifyTimeout;
};

// Runs the test program with LD_PRELOAD set to `entries` and checks that it
// succeeded within the timeout (a list that hangs programs is as broken as
// one that crashes them: the program and whatever it started are killed),
// that the dynamic linker reported no failed preload, and that libmemproxy
// was mapped (when `expect_memproxy`).
Verification verify_preload(const std::vector<std::string>& entries, bool expect_memproxy,
                            const VerifyOptions& options = {});

}  // namespace memproxyctl

#endif
