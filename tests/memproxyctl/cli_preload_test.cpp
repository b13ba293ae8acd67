// memproxyctl preload: always on a temporary file (--file), never /etc/ld.so.preload.
#include <signal.h>

#include <future>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"

namespace memproxyctl::testing {
namespace {

const std::string kForeign =
    "# site preloads, do not touch\n"
    "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n"
    "\n";

TEST(CliPreload, StatusOfAbsentAndForeignFiles) {
  TempDir dir;
  auto absent = ctl({"preload", "status", "--file", dir / "absent"});
  EXPECT_EQ(absent.exit_status, 1);
  EXPECT_NE(absent.out.find("not enabled"), std::string::npos);

  write_file(dir / "preload", kForeign);
  auto doc = nlohmann::json::parse(ctl({"preload", "status", "--file", dir / "preload", "--json"}).out);
  EXPECT_FALSE(doc["enabled"].get<bool>());
  EXPECT_EQ(doc["allocator_entries"].size(), 1u);

  write_file(dir / "wrong", "libjemalloc.so.2 /opt/libmemproxy.so\n");
  auto wrong = ctl({"preload", "status", "--file", dir / "wrong"});
  EXPECT_EQ(wrong.exit_status, 1);
  EXPECT_NE(wrong.out.find("after the allocator"), std::string::npos) << wrong.out;
}

TEST(CliPreload, UnreadableFileExitsFour) {
  TempDir dir;
  ASSERT_EQ(::mkdir((dir / "preload").c_str(), 0755), 0);
  EXPECT_EQ(ctl({"preload", "status", "--file", dir / "preload"}).exit_status, 4);
  EXPECT_EQ(ctl({"preload", "enable", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY}).exit_status, 4);
}

TEST(CliPreload, EnableVerifiesKeepsForeignLinesAndBacksUp) {
  TempDir dir;
  write_file(dir / "preload", kForeign);
  auto r = ctl({"preload", "enable", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY});
  ASSERT_EQ(r.exit_status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("verified"), std::string::npos) << r.out;
  EXPECT_EQ(read_file(dir / "preload"),
            "# site preloads, do not touch\n" + std::string(MEMPROXY_LIBRARY) +
                "\n/usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n\n");
  EXPECT_EQ(read_file(dir / "preload.memproxyctl-backup"), kForeign);
  EXPECT_EQ(ctl({"preload", "status", "--file", dir / "preload"}).exit_status, 0);

  // Enabling again changes nothing.
  auto again = ctl({"preload", "enable", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY});
  EXPECT_EQ(again.exit_status, 0);
  EXPECT_NE(again.out.find("already enabled"), std::string::npos) << again.out;

  // Disable removes only memproxy's line.
  auto off = ctl({"preload", "disable", "--file", dir / "preload"});
  ASSERT_EQ(off.exit_status, 0) << off.err;
  EXPECT_EQ(read_file(dir / "preload"), kForeign);
  EXPECT_EQ(ctl({"preload", "status", "--file", dir / "preload"}).exit_status, 1);
}

TEST(CliPreload, EnableCreatesAMissingFileWithTheAllocator) {
  TempDir dir;
  auto r = ctl({"preload", "enable", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY, "--allocator",
                "libjemalloc.so.2"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(read_file(dir / "preload"), std::string(MEMPROXY_LIBRARY) + "\nlibjemalloc.so.2\n");
  struct stat st {};
  ASSERT_EQ(::stat((dir / "preload").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(CliPreload, EnableReordersWhenMemproxyComesAfterTheAllocator) {
  TempDir dir;
  write_file(dir / "preload", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2:" + std::string(MEMPROXY_LIBRARY) + "\n");
  ASSERT_EQ(ctl({"preload", "enable", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY}).exit_status, 0);
  EXPECT_EQ(read_file(dir / "preload"),
            std::string(MEMPROXY_LIBRARY) + "\n/usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n");
}

TEST(CliPreload, FailedVerificationLeavesTheFileUntouched) {
  TempDir dir;
  write_file(dir / "preload", kForeign);
  write_file(dir / "libmemproxy.so", "this is not an ELF object\n");
  for (const std::string& library : {dir / "libmemproxy.so", dir / "absent/libmemproxy.so"}) {
    auto r = ctl({"preload", "enable", "--file", dir / "preload", "--library", library});
    EXPECT_EQ(r.exit_status, 5) << library << r.out << r.err;
    EXPECT_NE(r.err.find("verification failed"), std::string::npos) << r.err;
    EXPECT_EQ(read_file(dir / "preload"), kForeign);
  }
  // A library that loads but is not libmemproxy is refused too.
  auto r = ctl({"preload", "enable", "--file", dir / "preload", "--library", "/lib/x86_64-linux-gnu/libm.so.6"});
  EXPECT_EQ(r.exit_status, 5) << r.out;
  EXPECT_EQ(read_file(dir / "preload"), kForeign);
  EXPECT_FALSE(std::filesystem::exists(dir / "preload.memproxyctl-backup"));
  // Nothing but the file we wrote is left in the directory.
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 2u);
}

TEST(CliPreload, DryRunWritesNothing) {
  TempDir dir;
  write_file(dir / "preload", kForeign);
  auto r = ctl({"preload", "enable", "--dry-run", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find(MEMPROXY_LIBRARY), std::string::npos);
  EXPECT_EQ(read_file(dir / "preload"), kForeign);
}

TEST(CliPreload, DisableWithoutMemproxyIsANoOp) {
  TempDir dir;
  write_file(dir / "preload", kForeign);
  auto r = ctl({"preload", "disable", "--file", dir / "preload"});
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(read_file(dir / "preload"), kForeign);
  EXPECT_FALSE(std::filesystem::exists(dir / "preload.memproxyctl-backup"));
}

TEST(CliPreload, PrintCrleShowsBothBitnesses) {
  auto r = ctl({"preload", "--print-crle", "enable", "--library", "/usr/lib/64/libmemproxy.so", "--library32",
                "/usr/lib/libmemproxy.so", "--allocator", "libumem.so.1"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find("crle -u -e LD_PRELOAD=/usr/lib/libmemproxy.so:libumem.so.1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("crle -64 -u -e LD_PRELOAD=/usr/lib/64/libmemproxy.so:libumem.so.1"), std::string::npos)
      << r.out;
  auto off = ctl({"preload", "disable", "--print-crle"});
  EXPECT_EQ(off.exit_status, 0);
  EXPECT_NE(off.out.find("crle -64 -u -e LD_PRELOAD="), std::string::npos) << off.out;
}

// A verification program that waits for `release` before doing what
// /bin/cat /proc/self/maps does, and says when it started: the window in
// which another editor can act.
std::string slow_verifier(const TempDir& dir) {
  std::string script = dir / "slow-verify";
  write_script(script, "touch " + dir / "started" + "\nwhile [ ! -e " + dir / "release" +
                           " ]; do sleep 0.01; done\nexec /bin/cat \"$1\"\n");
  return script;
}

std::future<ProgramResult> enable_in_background(const TempDir& dir, const std::string& verifier) {
  return std::async(std::launch::async, [&dir, verifier] {
    return ctl({"preload", "enable", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY, "--verify-program",
                verifier, "--verify-timeout", "60"});
  });
}

TEST(CliPreloadRace, ASecondEditWhileOneIsUnderWayIsRefused) {
  TempDir dir;
  auto first = enable_in_background(dir, slow_verifier(dir));
  ASSERT_TRUE(wait_for_file(dir / "started"));
  // Meanwhile another admin adds the allocator.
  auto second = ctl({"preload", "enable", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY, "--allocator",
                     "libjemalloc.so.2"});
  write_file(dir / "release", "");
  ProgramResult done = first.get();
  ASSERT_EQ(done.exit_status, 0) << done.out << done.err;
  EXPECT_EQ(second.exit_status, 5) << second.out << second.err;
  EXPECT_NE(second.err.find("another memproxyctl (pid "), std::string::npos) << second.err;
  const std::string text = read_file(dir / "preload");
  if (second.exit_status == 0) {
    EXPECT_NE(text.find("libjemalloc.so.2"), std::string::npos) << "the second edit succeeded but was lost: " << text;
  }
  EXPECT_EQ(text, std::string(MEMPROXY_LIBRARY) + "\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "preload.memproxyctl-lock")) << "the lock goes with its holder";
}

TEST(CliPreloadRace, AFileChangedWhileVerifyingIsNotOverwritten) {
  TempDir dir;
  write_file(dir / "preload", kForeign);
  auto first = enable_in_background(dir, slow_verifier(dir));
  ASSERT_TRUE(wait_for_file(dir / "started"));
  // Another tool (a package's script) edits the file meanwhile.
  const std::string edited = kForeign + "/opt/site/libaudit.so\n";
  write_file(dir / "preload", edited);
  write_file(dir / "release", "");
  ProgramResult done = first.get();
  EXPECT_EQ(done.exit_status, 5) << done.out << done.err;
  EXPECT_NE(done.err.find("changed while memproxyctl was editing it"), std::string::npos) << done.err;
  EXPECT_EQ(read_file(dir / "preload"), edited);
  EXPECT_FALSE(std::filesystem::exists(dir / "preload.memproxyctl-backup"));
  EXPECT_FALSE(std::filesystem::exists(dir / "preload.new")) << "the staged file is removed";
}

TEST(CliPreload, TheBackupHoldsTheBytesReadExactly) {
  TempDir dir;
  // CRs, a tab, no final newline: the backup is these bytes, not a rendering.
  const std::string odd = "# odd\r\n\t# no final newline";
  write_file(dir / "preload", odd);
  auto r = ctl({"preload", "enable", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(read_file(dir / "preload.memproxyctl-backup"), odd);
}

TEST(CliPreload, AVerificationProgramThatHangsIsKilledAndTheEditRefused) {
  TempDir dir;
  write_file(dir / "preload", kForeign);
  std::string script = dir / "hang";
  // It also starts a child, which must not outlive the limit either.
  write_script(script, "/bin/sleep 1000 &\necho $! > " + dir / "child.pid" + "\nwait\n");
  auto r = ctl({"preload", "enable", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY, "--verify-program",
                script, "--verify-timeout", "0.5"});
  const pid_t child = static_cast<pid_t>(std::atol(read_file(dir / "child.pid").c_str()));
  // SIGKILL is sent to the group before memproxyctl returns; the child dies
  // when next scheduled, which on busy cores can be after this check starts.
  const auto alive = [child] {
    return child > 0 && ::kill(child, 0) == 0 &&
           read_file("/proc/" + std::to_string(child) + "/stat").find(") Z") == std::string::npos;
  };
  bool child_alive = alive();
  for (int i = 0; i < 500 && child_alive; ++i) {
    ::usleep(10'000);
    child_alive = alive();
  }
  if (child > 0) ::kill(child, SIGKILL);
  EXPECT_FALSE(r.timed_out) << "memproxyctl itself hung";
  EXPECT_EQ(r.exit_status, 5) << r.out << r.err;
  EXPECT_NE(r.err.find("did not finish within 500 ms and was killed"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(dir / "preload"), kForeign);
  EXPECT_FALSE(child_alive) << "the verification program's child outlived it";
}

TEST(CliPreload, DisableRemovesTheAllocatorEnableAdded) {
  TempDir dir;
  auto on = ctl({"preload", "enable", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY, "--allocator",
                 "libjemalloc.so.2"});
  ASSERT_EQ(on.exit_status, 0) << on.err;
  EXPECT_NE(read_file(dir / "preload.memproxyctl-added").find("\nlibjemalloc.so.2\n"), std::string::npos);
  auto off = ctl({"preload", "disable", "--file", dir / "preload"});
  ASSERT_EQ(off.exit_status, 0) << off.err;
  EXPECT_EQ(read_file(dir / "preload"), "");
  EXPECT_FALSE(std::filesystem::exists(dir / "preload.memproxyctl-added"));
}

TEST(CliPreload, DisableKeepsAnAllocatorTheAdminHadBefore) {
  TempDir dir;
  write_file(dir / "preload", kForeign);
  auto on = ctl({"preload", "enable", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY, "--allocator",
                 "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"});
  ASSERT_EQ(on.exit_status, 0) << on.err;
  EXPECT_EQ(read_file(dir / "preload.memproxyctl-added").find("jemalloc"), std::string::npos);
  auto off = ctl({"preload", "disable", "--file", dir / "preload"});
  ASSERT_EQ(off.exit_status, 0) << off.err;
  EXPECT_EQ(read_file(dir / "preload"), kForeign);
}

TEST(CliPreload, ASecondAllocatorIsRefusedNamingTheOneListed) {
  TempDir dir;
  write_file(dir / "preload", kForeign);
  auto r = ctl({"preload", "enable", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY, "--allocator",
                "libtcmalloc_minimal.so.4"});
  EXPECT_EQ(r.exit_status, 5) << r.out << r.err;
  EXPECT_NE(r.err.find("already lists the allocator /usr/lib/x86_64-linux-gnu/libjemalloc.so.2"), std::string::npos)
      << r.err;
  EXPECT_EQ(read_file(dir / "preload"), kForeign);
  // The same allocator spelled another way is no second one.
  auto same = ctl({"preload", "enable", "--dry-run", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY,
                   "--allocator", "libjemalloc.so.2"});
  EXPECT_EQ(same.exit_status, 0) << same.err;
}

TEST(CliPreload, ALibraryThatDefinesMallocIsAnAllocatorWhateverItsName) {
  TempDir dir;
  write_file(dir / "preload", std::string(MEMPROXY_TEST_HEAP) + "\n");
  auto r = ctl({"preload", "enable", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY, "--allocator",
                "libjemalloc.so.2"});
  EXPECT_EQ(r.exit_status, 5) << r.out << r.err;
  EXPECT_NE(r.err.find("already lists the allocator " + std::string(MEMPROXY_TEST_HEAP)), std::string::npos) << r.err;
  // Overridden, the edit goes on to verification.
  auto forced = ctl({"preload", "enable", "--dry-run", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY,
                     "--allocator", "libjemalloc.so.2", "--allow-second-allocator"});
  EXPECT_EQ(forced.err.find("already lists"), std::string::npos) << forced.err;
  EXPECT_NE((forced.out + forced.err).find("LD_PRELOAD="), std::string::npos) << forced.out << forced.err;
  auto status = nlohmann::json::parse(ctl({"preload", "status", "--file", dir / "preload", "--json"}).out);
  EXPECT_EQ(status["allocator_entries"], nlohmann::json::array({MEMPROXY_TEST_HEAP}));
}

TEST(CliPreload, EnablePlacesMemproxyBeforeAnAllocatorKnownOnlyBySymbols) {
  TempDir dir;
  write_file(dir / "preload", std::string(MEMPROXY_TEST_HEAP) + "\n");
  auto r = ctl({"preload", "enable", "--dry-run", "--file", dir / "preload", "--library", MEMPROXY_LIBRARY,
                "--verify-program", "/bin/cat"});
  // Whether the stand-in passes verification or not, the list tried is in the right order.
  EXPECT_NE((r.out + r.err).find("LD_PRELOAD=" + std::string(MEMPROXY_LIBRARY) + ":" + MEMPROXY_TEST_HEAP),
            std::string::npos)
      << r.out << r.err;
}

TEST(CliPreload, AFifoInPlaceOfTheFileIsAnErrorNotAHang) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "preload").c_str(), 0644), 0);
  auto r = ctl({"preload", "status", "--file", dir / "preload"});
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_status, 4) << r.err;
  EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace memproxyctl::testing
