// memproxyctl preload: always on a temporary file (--file), never /etc/ld.so.preload.
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

}  // namespace
}  // namespace memproxyctl::testing
