// The SMF manifest and the systemd unit validate with their platforms' tools.
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

// The [Service] settings of the shipped unit as systemd reads them: the
// last assignment of a key wins, except CapabilityBoundingSet, whose
// assignments add up.
std::map<std::string, std::string> service_settings(const std::string& unit) {
  std::map<std::string, std::string> settings;
  std::istringstream lines(unit);
  bool in_service = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      in_service = line == "[Service]";
      continue;
    }
    const size_t eq = line.find('=');
    if (!in_service || eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "CapabilityBoundingSet" && settings.count(key) != 0) {
      settings[key] += " " + value;
    } else {
      settings[key] = value;
    }
  }
  return settings;
}

std::set<std::string> words(const std::string& text) {
  std::istringstream in(text);
  return {std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
}

// ADMIN.md: the shipped unit gives the daemon no network (the exporters
// need a drop-in), and the heap watch exactly the capabilities it names:
// ptrace and map_files to find and read other users' processes, the
// symbolizer's change of user and drop of capabilities, and killing an
// overrunning worker; never CAP_CHOWN, which a drop-in adds.
TEST(ServiceFilesTest, SystemdUnitGivesNoNetworkAndOnlyTheHeapWatchsCapabilities) {
  auto settings = service_settings(read_file(MEMPROXY_SOURCE_DIR "/etc/systemd/memproxyd.service"));
  EXPECT_EQ(settings["PrivateNetwork"], "yes");
  EXPECT_EQ(words(settings["RestrictAddressFamilies"]), std::set<std::string>{"AF_UNIX"});
  EXPECT_EQ(words(settings["CapabilityBoundingSet"]),
            (std::set<std::string>{"CAP_SYS_PTRACE", "CAP_CHECKPOINT_RESTORE", "CAP_SETUID", "CAP_SETGID",
                                   "CAP_SETPCAP", "CAP_KILL"}));
  EXPECT_EQ(settings.count("AmbientCapabilities"), 0u);
  EXPECT_EQ(settings["ProtectSystem"], "strict");
  EXPECT_EQ(words(settings["ReadWritePaths"]), std::set<std::string>{"/run/memproxy"});
}

// The same settings as systemd itself judges them (systemd-analyze
// security reads the unit file offline): each restriction ADMIN.md claims
// is in force, and the capabilities the heap watch needs are left.
TEST(ServiceFilesTest, SystemdAnalyzeSecurityFindsTheUnitsRestrictions) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_program("/usr/bin/systemd-analyze", "systemd"));
  TempDir dir;
  std::string unit = read_file(MEMPROXY_SOURCE_DIR "/etc/systemd/memproxyd.service");
  unit = std::regex_replace(unit, std::regex("/usr/sbin/memproxyd"), MEMPROXYD_BIN);
  std::string copy = dir / "memproxyd.service";
  write_file(copy, unit);
  RunResult r = run({"/usr/bin/systemd-analyze", "security", "--offline=yes", "--json=short", "--no-pager", copy});
  if (r.exit_code != 0 && r.err.find("--offline") != std::string::npos) {
    GTEST_SKIP() << "systemd-analyze security has no --offline (systemd 250 or later): " << r.err;
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, bool> restricted;
  for (const auto& check : nlohmann::json::parse(r.out)) {
    // "set" is null for a check that does not apply to this unit.
    if (check["set"].is_boolean()) restricted[check["name"].get<std::string>()] = check["set"].get<bool>();
  }
  for (const char* in_force : {"PrivateNetwork=", "RestrictAddressFamilies=~AF_(INET|INET6)",
                               "RestrictAddressFamilies=~AF_PACKET", "RestrictAddressFamilies=~AF_NETLINK",
                               "AmbientCapabilities=", "CapabilityBoundingSet=~CAP_SYS_ADMIN",
                               "CapabilityBoundingSet=~CAP_NET_ADMIN", "CapabilityBoundingSet=~CAP_(CHOWN|FSETID|SETFCAP)",
                               "CapabilityBoundingSet=~CAP_(DAC_*|FOWNER|IPC_OWNER)"}) {
    ASSERT_EQ(restricted.count(in_force), 1u) << in_force << " is not among systemd's checks:\n" << r.out;
    EXPECT_TRUE(restricted[in_force]) << in_force;
  }
  for (const char* needed : {"CapabilityBoundingSet=~CAP_SYS_PTRACE", "CapabilityBoundingSet=~CAP_SET(UID|GID|PCAP)",
                             "CapabilityBoundingSet=~CAP_KILL", "RestrictAddressFamilies=~AF_UNIX"}) {
    ASSERT_EQ(restricted.count(needed), 1u) << needed << " is not among systemd's checks:\n" << r.out;
    EXPECT_FALSE(restricted[needed]) << needed;
  }
}

}  // namespace
}  // namespace memproxyd_test
