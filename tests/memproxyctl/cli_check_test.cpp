// memproxyctl check: the daemon's diagnostics and the exit codes scripts rely on.
#include <nlohmann/json.hpp>

#include "cli_support.hpp"

namespace memproxyctl::testing {
namespace {

TEST(CliCheck, ValidConfigExitsZeroWithSummary) {
  TempDir dir;
  write_file(dir / "good.conf", "# comment\n[exclude]\ntop\n/usr/bin/wget\n[monitor]\nmyservice\n");
  auto r = ctl({"check", dir / "good.conf"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find("ok, 3 entries (2 exclude, 1 monitor)"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST(CliCheck, ErrorsUseTheDaemonFormatAndExitOne) {
  TempDir dir;
  write_file(dir / "bad.conf", "top\nbin/relative\n[nosuch]\n");
  auto r = ctl({"check", dir / "bad.conf"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_NE(r.err.find(dir / "bad.conf:2: error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(dir / "bad.conf:3: error:"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("not publishable"), std::string::npos) << r.out;
}

TEST(CliCheck, WarningsAloneStillPass) {
  TempDir dir;
  write_file(dir / "warn.conf", "top\r\ntop\n");
  auto r = ctl({"check", dir / "warn.conf"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
}

TEST(CliCheck, MissingFileExitsFour) {
  TempDir dir;
  auto r = ctl({"check", dir / "absent.conf"});
  EXPECT_EQ(r.exit_status, 4);
  EXPECT_NE(r.err.find("absent.conf"), std::string::npos) << r.err;
}

TEST(CliCheck, UnreadableFileExitsFour) {
  TempDir dir;
  // A directory is unreadable as a config for root too (mode bits are not).
  ASSERT_EQ(::mkdir((dir / "dir.conf").c_str(), 0755), 0);
  auto r = ctl({"check", dir / "dir.conf"});
  EXPECT_EQ(r.exit_status, 4) << r.out << r.err;
  if (!running_as_root()) {
    write_file(dir / "secret.conf", "top\n");
    ::chmod((dir / "secret.conf").c_str(), 0);
    EXPECT_EQ(ctl({"check", dir / "secret.conf"}).exit_status, 4);
  }
}

TEST(CliCheck, JsonListsDiagnostics) {
  TempDir dir;
  write_file(dir / "bad.conf", "top\nbin/relative\n");
  auto r = ctl({"--json", "check", dir / "bad.conf"});
  EXPECT_EQ(r.exit_status, 1);
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_FALSE(doc["publishable"].get<bool>());
  ASSERT_EQ(doc["diagnostics"].size(), 1u);
  EXPECT_EQ(doc["diagnostics"][0]["line"], 2);
  EXPECT_EQ(doc["diagnostics"][0]["severity"], "error");
  EXPECT_EQ(doc["diagnostics"][0]["problem"], "relative path entry");
}

TEST(CliCheck, AFileOverTheSizeCapOrAFifoIsRefusedAtOnce) {
  TempDir dir;
  write_file(dir / "big.conf", "top\n");
  ASSERT_EQ(::truncate((dir / "big.conf").c_str(), (64 << 20) + 1), 0);
  auto big = ctl({"check", dir / "big.conf"});
  EXPECT_EQ(big.exit_status, 4);
  EXPECT_NE(big.err.find(dir / "big.conf: error: too large"), std::string::npos) << big.err;
  ASSERT_EQ(::mkfifo((dir / "fifo.conf").c_str(), 0644), 0);
  auto fifo = ctl({"check", dir / "fifo.conf"});
  EXPECT_FALSE(fifo.timed_out);
  EXPECT_EQ(fifo.exit_status, 4);
  EXPECT_NE(fifo.err.find("not a regular file"), std::string::npos) << fifo.err;
}

TEST(CliUsage, BadCommandLinesExitTwo) {
  EXPECT_EQ(ctl({}).exit_status, 2);
  EXPECT_EQ(ctl({"nosuch"}).exit_status, 2);
  EXPECT_EQ(ctl({"check"}).exit_status, 2);
  EXPECT_EQ(ctl({"explain"}).exit_status, 2);
  EXPECT_EQ(ctl({"preload"}).exit_status, 2);
  EXPECT_EQ(ctl({"list", "--bogus"}).exit_status, 2);
  EXPECT_EQ(ctl({"--help"}).exit_status, 0);
}

}  // namespace
}  // namespace memproxyctl::testing
