// A memproxyctl built without the heap watch (MEMPROXY_HEAP_WATCH=OFF): its
// heap views still parse, say this build has none, and exit 7, which no
// other outcome of theirs uses, so a script can tell it from a daemon that
// is not running (4).
#include "cli_support.hpp"

namespace memproxyctl::testing {
namespace {

TEST(CliNoHeapWatch, EveryHeapViewSaysItIsNotBuiltAndExitsSeven) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"top", "--once"}, std::vector<std::string>{"history", "1"},
        std::vector<std::string>{"leaks"}, std::vector<std::string>{"leaks", "1"},
        std::vector<std::string>{"trace", "1"}, std::vector<std::string>{"report", "1", "-o", "/dev/null"}}) {
    auto r = ctl(args);
    EXPECT_EQ(r.exit_status, 7) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("built without the heap watch"), std::string::npos) << args[0] << ": " << r.err;
  }
}

}  // namespace
}  // namespace memproxyctl::testing
