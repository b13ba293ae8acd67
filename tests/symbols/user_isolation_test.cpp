// What one user's objects say never names another user's frames. A worker
// parses an object once per build-id and size, and a user can make an
// object with any build-id and size (a copy of another's binary with its
// names rewritten in place). So workers, and their caches, are per user of
// the process symbolized: root's processes, whose worker runs as nobody,
// never share one with nobody's own.
#include <gtest/gtest.h>
#include <pwd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "capability.hpp"
#include "symbols_test_support.hpp"

namespace memproxy::testing {
namespace {

// Rewrites every `from` in the file at `path` with `to`, of the same length:
// size and build-id stay. The count of rewrites.
size_t rewrite_in_place(const std::string& path, const std::string& from, const std::string& to) {
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  size_t count = 0;
  for (size_t at = bytes.find(from); at != std::string::npos; at = bytes.find(from, at + to.size())) {
    bytes.replace(at, from.size(), to);
    ++count;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return out.good() ? count : 0;
}

TEST(UserIsolationTest, ObjectsOfOneBuildIdAndSizeNameEachUsersFramesByTheirOwnSymbols) {
  MEMPROXY_REQUIRE(missing_unprivileged_runner());
  StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  const passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);

  // Nobody's forgery of root's program: same build-id, same size, one
  // function renamed.
  staged.library(SYM_LIB);
  const std::string forged = staged.program(SYM_TARGET, "sym_target_forged");
  ASSERT_GT(rewrite_in_place(forged, "namespaced_function", "impostorfn_function"), 0u);
  ASSERT_EQ(readelf_build_id(forged), readelf_build_id(SYM_TARGET));
  ASSERT_EQ(std::filesystem::file_size(forged), std::filesystem::file_size(SYM_TARGET));

  Target theirs(as_nobody({forged}), {staged.library_path_variable()});
  ASSERT_TRUE(theirs.stopped()) << theirs.output();
  Target roots({SYM_TARGET});
  ASSERT_TRUE(roots.stopped()) << roots.output();

  symbols::SymbolizerClient client(worker_options(staged));
  auto name = [&](Target& target, uid_t uid, gid_t gid) -> std::string {
    const std::vector<uint64_t> addresses{target.call("namespaced").address};
    auto result = client.symbolize(target.pid(), uid, gid, addresses, std::chrono::seconds(30));
    if (!result.ok()) return "error: " + result.error;
    if (result.locations[0].frames.empty()) return "no frames: " + symbols::describe(result.locations[0]);
    return result.locations[0].frames.at(0).function;
  };
  // Each order: whichever was parsed first, each user gets their own names.
  EXPECT_EQ(name(theirs, nobody->pw_uid, nobody->pw_gid), "memproxy_test::inner::impostorfn_function(int)");
  EXPECT_EQ(name(roots, 0, 0), "memproxy_test::inner::namespaced_function(int)");
  EXPECT_EQ(name(theirs, nobody->pw_uid, nobody->pw_gid), "memproxy_test::inner::impostorfn_function(int)");
  EXPECT_EQ(client.worker_pids().size(), 2u);
}

}  // namespace
}  // namespace memproxy::testing
