// StagedForOtherUser (staged.hpp): what a test hands to another user is
// reachable and usable by that user wherever the build tree lies, has
// exactly the mode asked for, and goes with the object.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "capability.hpp"
#include "process.hpp"
#include "staged.hpp"
#include "temp_dir.hpp"

namespace memproxy::testing {
namespace {

namespace fs = std::filesystem;

mode_t mode_of(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// A program that exits 0, as a build tree holds one.
std::string write_program(const std::string& path) {
  fs::copy_file("/bin/true", path);
  EXPECT_EQ(::chmod(path.c_str(), 0755), 0);
  return path;
}

TEST(StagedForOtherUser, IsAFreshDirectoryOfItsOwnUnderTmpThatEveryUserCanSearch) {
  StagedForOtherUser a, b;
  ASSERT_EQ(a.missing(), "");
  EXPECT_EQ(a.path().rfind("/tmp/memproxy-staged-", 0), 0u) << a.path();
  EXPECT_NE(a.path(), b.path());
  EXPECT_EQ(mode_of(a.path()), 0755u);
  struct stat st;
  ASSERT_EQ(::stat(a.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(unreachable_by_others(a.path()), "");
}

TEST(StagedForOtherUser, IsRemovedWithEverythingInIt) {
  std::string path;
  {
    StagedForOtherUser staged;
    path = staged.path();
    TempDir source;
    staged.program(write_program(source / "program"));
    std::ofstream(staged / "left-behind") << "x";
    // A file another user came to own is removed too.
    if (::geteuid() == 0) {
      ASSERT_EQ(::chown((staged / "left-behind").c_str(), 65534, 65534), 0);
    }
  }
  EXPECT_FALSE(fs::exists(path)) << path;
}

// The umask and the source's mode decide nothing: another user gets what
// the test asked for.
TEST(StagedForOtherUser, ACopyHasExactlyTheModeAskedFor) {
  TempDir source;
  const std::string program = write_program(source / "program");
  ASSERT_EQ(::chmod(program.c_str(), 0700), 0);
  const std::string data = source.write("data", "x");
  ASSERT_EQ(::chmod(data.c_str(), 0600), 0);
  const mode_t umask_before = ::umask(077);
  StagedForOtherUser staged;
  const std::string as_program = staged.program(program);
  const std::string as_library = staged.library(data, "libdata.so");
  const std::string execute_only = staged.add(program, 0711, "execute-only");
  ::umask(umask_before);
  EXPECT_EQ(as_program, staged / "program");
  EXPECT_EQ(as_library, staged / "libdata.so");
  EXPECT_EQ(mode_of(as_program), 0755u);
  EXPECT_EQ(mode_of(as_library), 0644u);
  EXPECT_EQ(mode_of(execute_only), 0711u);
  EXPECT_EQ(mode_of(program), 0700u) << "the source is left as it was";
}

TEST(StagedForOtherUser, ANameIsCopiedOnceAndNeverTakesAnotherSource) {
  TempDir source;
  const std::string one = source.write("one", "first");
  const std::string copy = StagedForOtherUser().program(one);  // gone with its directory
  EXPECT_FALSE(fs::exists(copy));

  StagedForOtherUser staged;
  const std::string first = staged.program(one);
  source.write("one", "changed after the copy");
  EXPECT_EQ(staged.program(one), first);
  std::ifstream in(first);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "first") << "a second ask copies nothing";

  fs::create_directory(source / "other");
  const std::string same_name = source.write("other/one", "second");
  EXPECT_THROW(staged.program(same_name), std::invalid_argument);
  EXPECT_THROW(staged.program(source / "absent"), std::runtime_error);
  EXPECT_THROW(staged.add(one, 0755, "a/b"), std::invalid_argument);
}

TEST(UnreachableByOthers, NamesTheFirstDirectoryOthersCannotSearch) {
  TempDir private_dir;  // 0700, as /root and every mktemp -d
  fs::create_directories(private_dir / "tree/build");
  ASSERT_EQ(::chmod((private_dir / "tree").c_str(), 0755), 0);
  const std::string program = private_dir / "tree/build/program";
  std::ofstream(program) << "x";
  for (const std::string& inside : {private_dir.path(), private_dir / "tree/build", program}) {
    EXPECT_EQ(unreachable_by_others(inside), private_dir.path() + " (mode 0700) is not searchable by other users")
        << inside;
  }
  ASSERT_EQ(::chmod(private_dir.path().c_str(), 0711), 0);
  EXPECT_EQ(unreachable_by_others(program), "");
  EXPECT_EQ(unreachable_by_others("/tmp"), "");
  EXPECT_EQ(unreachable_by_others("/"), "");
}

// What the staging is for: a program of a tree under a 0700 directory
// cannot be executed by another user, and its staged copy can. A process
// of that user executes it, as the symbolizer's worker is started: setpriv
// executes the program it is given before root's capabilities are gone
// (its execve of a path under a 0700 directory succeeds), so that path
// proves nothing; what the program then opens as the user is refused.
TEST(StagedForOtherUser, AnotherUserExecutesTheCopyOfAProgramItCannotReachInPlace) {
  MEMPROXY_REQUIRE(missing_unprivileged_runner());
  StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  TempDir private_tree;
  fs::create_directory(private_tree / "bin");
  ASSERT_EQ(::chmod((private_tree / "bin").c_str(), 0755), 0);
  const std::string in_tree = write_program(private_tree / "bin/program");
  auto execute_as_nobody = [](const std::string& program) {
    return run(as_nobody({"/bin/sh", "-c", "exec \"$0\"", program}), {"PATH=/usr/bin:/bin"});
  };

  const Outcome in_place = execute_as_nobody(in_tree);
  EXPECT_EQ(in_place.code, 126) << "nobody executed a program under a 0700 directory: " << in_place.describe();
  EXPECT_NE(in_place.err.find("Permission denied"), std::string::npos) << in_place.describe();
  const Outcome copied = execute_as_nobody(staged.program(in_tree));
  EXPECT_TRUE(copied.ok()) << copied.describe();
}

}  // namespace
}  // namespace memproxy::testing
