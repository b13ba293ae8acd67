// The SMF manifest and the systemd unit validate with their platforms' tools.
#include <gtest/gtest.h>

#include <regex>

#include "test_support.hpp"

namespace memproxyd_test {
namespace {

// xmllint's verdict on `manifest` against the smf(5) DTD: "" when valid.
std::string smf_validation_errors(const std::string& manifest) {
  RunResult r = run({"/usr/bin/xmllint", "--noout", "--dtdvalid", MEMPROXY_SMF_DTD, manifest});
  // The DOCTYPE names the DTD's Solaris path, absent here: that warning is
  // expected; a validity complaint or any error is not.
  if (r.exit_code == 0 && r.err.find("validity") == std::string::npos && r.err.find("error") == std::string::npos) {
    return "";
  }
  return "exit " + std::to_string(r.exit_code) + ": " + r.err;
}

class SmfManifest : public testing::Test {
 protected:
  void SetUp() override {
    MEMPROXY_REQUIRE(memproxy::testing::missing_file(MEMPROXY_SMF_DTD, "none: the smf(5) DTD ships in ../shared/solaris"));
    MEMPROXY_REQUIRE(memproxy::testing::missing_program("/usr/bin/xmllint", "libxml2-utils"));
  }
  TempDir dir;
};

TEST_F(SmfManifest, ValidatesAgainstTheDtd) {
  EXPECT_EQ(smf_validation_errors(MEMPROXY_SOURCE_DIR "/smf/memproxyd.xml"), "");
}

// The check above can fail: a manifest with an element the DTD does not
// allow, and one missing a required attribute, are both rejected.
TEST_F(SmfManifest, AnInvalidManifestIsRejected) {
  const std::string good = read_file(MEMPROXY_SOURCE_DIR "/smf/memproxyd.xml");
  ASSERT_NE(good.find("<single_instance/>"), std::string::npos);
  std::string unknown_element = good;
  unknown_element.replace(unknown_element.find("<single_instance/>"), 18, "<single_instance/><no_such_element/>");
  write_file(dir / "unknown.xml", unknown_element);
  EXPECT_NE(smf_validation_errors(dir / "unknown.xml"), "");

  std::string missing_attribute = good;
  const std::string type = " type='service' version='1'";
  ASSERT_NE(missing_attribute.find(type), std::string::npos);
  missing_attribute.replace(missing_attribute.find(type), type.size(), "");
  write_file(dir / "missing.xml", missing_attribute);
  EXPECT_NE(smf_validation_errors(dir / "missing.xml"), "");
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
  RunResult r = run({"/bin/sh", "-n", MEMPROXY_SOURCE_DIR "/smf/memproxyd"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(ServiceFilesTest, SystemdUnitVerifies) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_program("/usr/bin/systemd-analyze", "systemd"));
  TempDir dir;
  std::string unit = read_file(MEMPROXY_SOURCE_DIR "/etc/systemd/memproxyd.service");
  ASSERT_NE(unit.find("ExecStart=/usr/sbin/memproxyd"), std::string::npos);
  // systemd-analyze checks that ExecStart names an existing executable: point
  // it at the binary just built, everything else verbatim.
  unit = std::regex_replace(unit, std::regex("/usr/sbin/memproxyd"), MEMPROXYD_BIN);
  std::string copy = dir / "memproxyd.service";
  write_file(copy, unit);
  RunResult r = run({"/usr/bin/systemd-analyze", "verify", "--man=no", copy});
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
                              "ProtectSystem=strict", "NoNewPrivileges=yes", "ReadWritePaths=/run/memproxy",
                              "StateDirectory=memproxy", "StateDirectoryMode=0700"}) {
    EXPECT_NE(unit.find(setting), std::string::npos) << setting;
  }
}

}  // namespace
}  // namespace memproxyd_test
