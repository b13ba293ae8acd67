// The SMF manifest and the systemd unit validate with their platforms' tools.
#include <gtest/gtest.h>

#include <regex>

#include "test_support.hpp"

namespace memproxyd_test {
namespace {

TEST(ServiceFilesTest, SmfManifestValidatesAgainstTheDtd) {
  const std::string dtd = MEMPROXY_SMF_DTD;
  if (!fs::exists(dtd)) GTEST_SKIP() << "no smf(5) DTD at " << dtd << ": cannot validate the manifest here";
  if (::access("/usr/bin/xmllint", X_OK) != 0) GTEST_SKIP() << "xmllint is not installed (libxml2-utils)";
  TempDir dir;
  RunResult r = run({"/usr/bin/xmllint", "--noout", "--dtdvalid", dtd, MEMPROXY_SOURCE_DIR "/smf/memproxyd.xml"}, dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // The DOCTYPE names the DTD's Solaris path, absent here: that warning is
  // expected, a validity complaint is not.
  EXPECT_EQ(r.err.find("validity"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("error"), std::string::npos) << r.err;
}

TEST(ServiceFilesTest, SmfManifestHasTheConfigPropertiesTheMethodReads) {
  std::string manifest = read_file(MEMPROXY_SOURCE_DIR "/smf/memproxyd.xml");
  std::string method = read_file(MEMPROXY_SOURCE_DIR "/smf/memproxyd");
  for (const char* property : {"config_file", "table_path", "allocator"}) {
    EXPECT_NE(manifest.find(std::string("name='") + property + "'"), std::string::npos) << property;
    EXPECT_NE(method.find(std::string("config/") + property), std::string::npos) << property;
  }
  EXPECT_NE(manifest.find("name='refresh'"), std::string::npos);
  EXPECT_NE(manifest.find("svc:/system/filesystem/local"), std::string::npos);
}

TEST(ServiceFilesTest, SmfMethodScriptParses) {
  TempDir dir;
  RunResult r = run({"/bin/sh", "-n", MEMPROXY_SOURCE_DIR "/smf/memproxyd"}, dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(ServiceFilesTest, SystemdUnitVerifies) {
  if (::access("/usr/bin/systemd-analyze", X_OK) != 0) GTEST_SKIP() << "systemd-analyze is not installed";
  TempDir dir;
  std::string unit = read_file(MEMPROXY_SOURCE_DIR "/etc/systemd/memproxyd.service");
  ASSERT_NE(unit.find("ExecStart=/usr/sbin/memproxyd"), std::string::npos);
  // systemd-analyze checks that ExecStart names an existing executable: point
  // it at the binary just built, everything else verbatim.
  unit = std::regex_replace(unit, std::regex("/usr/sbin/memproxyd"), MEMPROXYD_BIN);
  std::string copy = dir / "memproxyd.service";
  write_file(copy, unit);
  RunResult r = run({"/usr/bin/systemd-analyze", "verify", "--man=no", copy}, dir);
  // Lines about other units on this host (a container's own setup) are not ours.
  std::string ours;
  std::istringstream lines(r.err);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("memproxyd") != std::string::npos) ours += line + "\n";
  }
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ours, "") << r.err;
}

TEST(ServiceFilesTest, SystemdUnitHasTheRequiredSettings) {
  std::string unit = read_file(MEMPROXY_SOURCE_DIR "/etc/systemd/memproxyd.service");
  for (const char* setting : {"RuntimeDirectory=memproxy", "ExecReload=/bin/kill -HUP $MAINPID",
                              "ProtectSystem=strict", "NoNewPrivileges=yes", "ReadWritePaths=/run/memproxy"}) {
    EXPECT_NE(unit.find(setting), std::string::npos) << setting;
  }
}

}  // namespace
}  // namespace memproxyd_test
