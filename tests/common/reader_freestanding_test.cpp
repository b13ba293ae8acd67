// The freestanding parts of common/ (the table reader, the trust rule) are
// linked into every process by libmemproxy, so they must not need the C++
// runtime nor anything that allocates or locks: a shared object built from
// them with -fno-exceptions -fno-rtti may only import memory and string
// functions and a few system call wrappers from libc.
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "run_command.hpp"

namespace {

using memproxy::testing::run_command;

TEST(ReaderFreestanding, ImportsOnlyLibcMemoryFunctionsAndSystemCalls) {
  std::string symbols = run_command("nm -D --undefined-only '" MEMPROXY_READER_SO "'");
  ASSERT_FALSE(symbols.empty()) << "nm printed nothing for " MEMPROXY_READER_SO;
  const std::set<std::string> allowed = {"memcmp", "memcpy", "memchr", "memset", "memmove", "strlen", "strrchr",
                                         // the matching rule's comparison of a program's forms (match.hpp):
                                         "strcmp",
                                         // clang's form of memcmp(...) == 0, also libc's:
                                         "bcmp",
                                         // the trust rule's system calls, and errno:
                                         "open", "openat", "fstat", "fstatat", "readlinkat", "pread", "close",
                                         "__errno_location",
                                         // inserted by the toolchain into every shared object:
                                         "__cxa_finalize", "__gmon_start__", "_ITM_deregisterTMCloneTable",
                                         "_ITM_registerTMCloneTable", "__stack_chk_fail"};
  std::istringstream lines(symbols);
  std::string kind, name;
  while (lines >> kind >> name) {
    std::string bare = name.substr(0, name.find('@'));
    EXPECT_TRUE(allowed.contains(bare)) << "reader imports " << name;
  }
}

TEST(ReaderFreestanding, NeedsNoLibraryButLibc) {
  std::string dynamic = run_command("readelf -d '" MEMPROXY_READER_SO "'");
  std::istringstream lines(dynamic);
  std::string line;
  int needed = 0;
  while (std::getline(lines, line)) {
    if (line.find("(NEEDED)") == std::string::npos) continue;
    ++needed;
    EXPECT_NE(line.find("[libc.so.6]"), std::string::npos) << line;
  }
  EXPECT_LE(needed, 1);
}

}  // namespace
