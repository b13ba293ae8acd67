// What a test needs that a machine may lack: 32-bit execution, an allocator
// package, a tool, root, a user. Each function returns "" when the machine has
// it, else the reason, which the test reports as SKIPPED (MEMPROXY_REQUIRE).
// A missing capability is never a failure and never silently absent: many
// cloud kernels cannot execute 32-bit programs, a user's machine may lack an
// allocator package, and the test still shows up with its reason.
#ifndef MEMPROXY_TESTS_CAPABILITY_HPP
#define MEMPROXY_TESTS_CAPABILITY_HPP

#include <string>

namespace memproxy::testing {

// Whether -m32 programs were built and this kernel executes them. Asked once
// per test process, by running a tiny -m32 program (MEMPROXY_TEST_EXEC32_CHECK
// in the environment replaces it, to see the skips on a machine that can).
std::string missing_32bit_execution();

// Why `program` cannot be executed and exit 0 ("" when it can).
std::string execution_failure(const std::string& program);

std::string missing_file(const std::string& path, const std::string& debian_package);
std::string missing_program(const std::string& path, const std::string& debian_package);
std::string missing_root(const std::string& why_root);
std::string missing_user(const std::string& name);
// Root, a `nobody` user and setpriv(1): what running a command as an
// unprivileged user (an attacker, a user of the host) takes.
std::string missing_unprivileged_runner();

}  // namespace memproxy::testing

// Skips the current test with the reason when `reason_expr` is not empty.
#define MEMPROXY_REQUIRE(reason_expr)                                  \
  do {                                                                 \
    const std::string memproxy_require_reason_ = (reason_expr);        \
    if (!memproxy_require_reason_.empty()) GTEST_SKIP() << memproxy_require_reason_; \
  } while (0)

#endif
