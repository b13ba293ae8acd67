// Programs that bring their own allocator behave exactly as with no preload,
// under every routing: memproxy passes every call through to where it would
// have gone, and derives the entry points the program does not define as the
// standard does (sized delete calls the program's delete, reallocarray its
// realloc). Each program counts pointers it was given that are not its own.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace mptest {
namespace {

class OwnAllocator : public RunsArch {
 protected:
  std::string needs() const override { return a.missing(backend("jemalloc")); }

  void expect_as_without_preload(const std::string& program) {
    Result alone = run({program}, env_with("", "", false));
    ASSERT_TRUE(alone.exited && alone.code == 0) << "without any preload: " << alone.describe();
    std::string open = make_table(dir, "some-other-program\n");
    std::string excluded = make_table(dir, program.substr(program.rfind('/') + 1) + "\n");
    for (const auto& [name, env] : {std::pair{"custom", env_with(a.lib + ":" + a.jemalloc(), open)},
                                    std::pair{"original order", env_with(a.lib + ":libc.so.6:" + a.jemalloc(), open)},
                                    std::pair{"excluded", env_with(a.lib + ":" + a.jemalloc(), excluded)},
                                    std::pair{"memproxy alone", env_with(a.lib, open)}}) {
      Result r = run({program}, env);
      ASSERT_TRUE(r.exited && r.code == 0) << name << ": " << r.describe();
      EXPECT_EQ(r.out, alone.out) << name;
    }
  }

  TempDir dir;
};

TEST_P(OwnAllocator, OwnMallocAndFree) { expect_as_without_preload(a.own_malloc); }

TEST_P(OwnAllocator, OwnUnsizedNewAndDelete) { expect_as_without_preload(a.own_new); }

INSTANTIATE_TEST_SUITE_P(Both, OwnAllocator, testing::ValuesIn(arches()), arch_name);

}  // namespace
}  // namespace mptest
