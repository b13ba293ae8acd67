// memproxyctl doctor: each finding with its fix.
#include <nlohmann/json.hpp>

#include "cli_support.hpp"

namespace memproxyctl::testing {
namespace {

struct Doctor {
  int exit_status;
  nlohmann::json findings;
  bool has(const std::string& severity, const std::string& text) const {
    for (const auto& f : findings) {
      if (f["severity"] == severity && f["message"].get<std::string>().find(text) != std::string::npos) {
        return !f["fix"].get<std::string>().empty() || severity == "ok";
      }
    }
    return false;
  }
};

Doctor doctor(const TempDir& dir, const std::string& table, const std::string& preload) {
  auto r = ctl({"--json", "doctor", "-t", table, "-c", dir / "table.conf", "--preload-file", preload, "--lib64",
                MEMPROXY_LIBRARY, "--lib32", MEMPROXY_LIBRARY32});
  auto doc = nlohmann::json::parse(r.out);
  return {r.exit_status, doc["findings"]};
}

TEST(CliDoctor, ReportsMissingPreloadAndDaemonWithFixes) {
  TempDir dir;
  auto table = make_table(dir, "top\n", "libjemalloc.so.2");
  auto d = doctor(dir, table, dir / "absent-preload");
  EXPECT_EQ(d.exit_status, 1);
  EXPECT_TRUE(d.has("warning", "is not in")) << d.findings.dump(2);
  EXPECT_TRUE(d.has("error", "cannot be dlopen'ed")) << d.findings.dump(2);
  EXPECT_TRUE(d.has("error", "memproxyd is not running")) << d.findings.dump(2);
  EXPECT_TRUE(d.has("ok", "libjemalloc.so.2 loads")) << d.findings.dump(2);
}

TEST(CliDoctor, WrongOrderAndMissingEntry) {
  TempDir dir;
  auto table = make_table(dir, "top\n");
  write_file(dir / "preload", "libjemalloc.so.2\n" + std::string(MEMPROXY_LIBRARY) + "\n" + dir / "gone.so\n");
  auto d = doctor(dir, table, dir / "preload");
  EXPECT_EQ(d.exit_status, 1);
  EXPECT_TRUE(d.has("error", "comes after the allocator")) << d.findings.dump(2);
  EXPECT_TRUE(d.has("error", "gone.so does not exist")) << d.findings.dump(2);
  EXPECT_TRUE(d.has("error", "the preload list does not work")) << d.findings.dump(2);
}

TEST(CliDoctor, GoodPreloadPasses) {
  TempDir dir;
  auto table = make_table(dir, "top\n");
  write_file(dir / "preload", std::string(MEMPROXY_LIBRARY) + "\nlibjemalloc.so.2\n");
  auto d = doctor(dir, table, dir / "preload");
  EXPECT_TRUE(d.has("ok", "is preloaded from")) << d.findings.dump(2);
  EXPECT_TRUE(d.has("ok", "the preload list works")) << d.findings.dump(2);
}

TEST(CliDoctor, MissingAndCorruptTable) {
  TempDir dir;
  write_file(dir / "table.conf", "top\n");
  auto d = doctor(dir, dir / "absent", dir / "absent-preload");
  EXPECT_EQ(d.exit_status, 1);
  EXPECT_TRUE(d.has("error", "cannot read table")) << d.findings.dump(2);

  write_file(dir / "garbage", std::string(4096, 'x'));
  EXPECT_TRUE(doctor(dir, dir / "garbage", dir / "absent-preload").has("error", "not a valid memproxy table"));
}

TEST(CliDoctor, TableNotRootOwned) {
  TempDir dir;
  auto table = make_table(dir, "top\n");
  if (running_as_root()) {
    ASSERT_EQ(::chown(table.c_str(), 65534, 65534), 0);
  }
  auto d = doctor(dir, table, dir / "absent-preload");
  EXPECT_TRUE(d.has("error", "not root")) << d.findings.dump(2);
  ::chmod(dir.path().c_str(), 0777);
  EXPECT_TRUE(doctor(dir, table, dir / "absent-preload").has("error", "writable by group or others"));
}

TEST(CliDoctor, UnreadableConfigAndMissing32BitLibrary) {
  TempDir dir;
  auto table = make_table(dir, "top\n");
  write_file(dir / "table.conf", "bad/relative\n");
  auto r = ctl({"--json", "doctor", "-t", table, "-c", dir / "table.conf", "--preload-file", dir / "none",
                "--lib64", MEMPROXY_LIBRARY, "--lib32", dir / "no-lib32.so"});
  auto doc = nlohmann::json::parse(r.out);
  Doctor d{r.exit_status, doc["findings"]};
  EXPECT_TRUE(d.has("error", "is not publishable")) << d.findings.dump(2);
  EXPECT_TRUE(d.has("warning", "32-bit library")) << d.findings.dump(2);
  EXPECT_TRUE(d.has("ok", "64-bit")) << d.findings.dump(2);
}

}  // namespace
}  // namespace memproxyctl::testing
