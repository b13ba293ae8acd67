// The input is hostile. A process maps files of its choosing executable:
// garbage, a truncated ELF, an ELF with absurd headers, corrupt or
// truncated DWARF. The worker answers object+offset or fails, the client
// answers within its timeout, and nothing crashes the caller. A worker
// that hangs or stops is killed at the timeout; one that prints garbage
// is a clean error.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "capability.hpp"
#include "symbols/protocol.hpp"
#include "staged.hpp"
#include "symbols_test_support.hpp"
#include "temp_dir.hpp"

namespace memproxy::testing {
namespace {

using Clock = std::chrono::steady_clock;
using symbols::SymbolizerClient;

// How many processes' command lines contain `needle` (arguments NUL-separated).
int processes_running(const std::string& needle) {
  int found = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    const std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find(needle) != std::string::npos) ++found;
  }
  return found;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string random_bytes(size_t size, unsigned seed) {
  std::mt19937 generator(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(generator());
  return out;
}

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MEMPROXY_REQUIRE(missing_unprivileged_runner());
    MEMPROXY_REQUIRE(staged_.missing());
  }
  StagedForOtherUser staged_;  // the worker, which runs as nobody for root's processes
  TempDir dir_{0755};
};

// The files a hostile process maps, each a different way to be wrong.
std::vector<std::string> hostile_files(const TempDir& dir) {
  const std::string elf = read_file(SYM_TARGET);
  std::vector<std::string> files;
  files.push_back(dir.write("garbage", random_bytes(16384, 1)));
  files.push_back(dir.write("truncated", elf.substr(0, 3000)));
  // A valid ELF identification and absurd program and section headers.
  std::string absurd = elf.substr(0, 8192);
  const uint64_t far = 0x7ffffffffff0;
  const uint16_t many = 0xffff;
  std::memcpy(&absurd[0x20], &far, 8);   // e_phoff
  std::memcpy(&absurd[0x28], &far, 8);   // e_shoff
  std::memcpy(&absurd[0x38], &many, 2);  // e_phnum
  std::memcpy(&absurd[0x3c], &many, 2);  // e_shnum
  files.push_back(dir.write("absurd", absurd));
  // Real program headers, the file cut inside the debug sections and
  // before the section headers.
  files.push_back(dir.write("cut", elf.substr(0, elf.size() * 6 / 10)));
  // Every DWARF section replaced by random bytes, in a well-formed ELF.
  const std::string noise = dir.write("noise", random_bytes(65536, 2));
  const std::string corrupt = dir / "corrupt-dwarf";
  std::string command = "objcopy";
  for (const char* section : {".debug_info", ".debug_abbrev", ".debug_line", ".debug_str", ".debug_aranges",
                              ".debug_rnglists", ".debug_loclists", ".debug_line_str"}) {
    command += std::string(" --update-section ") + section + "='" + noise + "'";
  }
  command += " '" SYM_TARGET "' '" + corrupt + "' 2>&1";
  if (run_command(command).empty()) files.push_back(corrupt);
  std::filesystem::permissions(dir.path(), std::filesystem::perms::all, std::filesystem::perm_options::add);
  for (const auto& file : files) std::filesystem::permissions(file, std::filesystem::perms::others_read, std::filesystem::perm_options::add);
  return files;
}

TEST_F(HostileTest, MappedGarbageYieldsObjectAndOffsetOrAnError) {
  MEMPROXY_REQUIRE(missing_program("/usr/bin/objcopy", "binutils"));
  const std::vector<std::string> files = hostile_files(dir_);
  ASSERT_EQ(files.size(), 5u) << "objcopy could not write the corrupt-DWARF file";
  std::vector<std::string> argv{MAP_EXEC};
  argv.insert(argv.end(), files.begin(), files.end());
  Target target(argv);
  ASSERT_TRUE(target.stopped()) << target.output();

  // Return addresses inside each file's mapping: its headers, its code
  // (0x1280 lies in sym_target's functions).
  auto offsets_in = [](const std::string& file) {
    std::vector<uint64_t> offsets;
    for (uint64_t offset : {0x40, 0x800, 0x1100, 0x2000, 0x1280}) {
      if (offset < std::filesystem::file_size(file)) offsets.push_back(offset);
    }
    return offsets;
  };
  std::vector<uint64_t> addresses;
  for (const auto& file : files) {
    for (uint64_t offset : offsets_in(file)) addresses.push_back(target.object(file) + offset);
  }
  SymbolizerClient client(worker_options(staged_));
  for (const auto& file : files) {
    const uint64_t offset = offsets_in(file).back();
    const std::vector<uint64_t> one{target.object(file) + offset};
    auto result = client.symbolize(target.pid(), 0, 0, one, std::chrono::seconds(10));
    if (result.ok()) {
      ASSERT_EQ(result.locations.size(), 1u);
      EXPECT_TRUE(result.locations[0].mapped) << file;
      EXPECT_EQ(result.locations[0].object, file);
      EXPECT_EQ(result.locations[0].offset, offset);
    } else {
      EXPECT_FALSE(result.error.empty());
    }
  }
  auto all = client.symbolize(target.pid(), 0, 0, addresses, std::chrono::seconds(10));
  if (all.ok()) {
    ASSERT_EQ(all.locations.size(), addresses.size());
    for (const auto& location : all.locations) EXPECT_TRUE(location.mapped);
  }

  // The client, and a worker started afresh if need be, serve the next process.
  Target normal({SYM_TARGET});
  ASSERT_TRUE(normal.stopped()) << normal.output();
  const std::vector<uint64_t> good{normal.call("plain").address};
  auto after = client.symbolize(normal.pid(), 0, 0, good, std::chrono::seconds(30));
  ASSERT_TRUE(after.ok()) << after.error;
  EXPECT_EQ(after.locations[0].frames.at(0).function, "plain_function()");
}

TEST_F(HostileTest, AHangingWorkerIsKilledAtTheTimeout) {
  Target target({SYM_TARGET});
  ASSERT_TRUE(target.stopped()) << target.output();
  auto options = worker_options(staged_);
  // A sleep no other process runs: found by its arguments once the call returns.
  const std::string sleep_for = "600." + std::to_string(::getpid());
  options.worker_command = {"/bin/sh", "-c", "exec sleep " + sleep_for, "sh"};
  SymbolizerClient client(options);
  const std::vector<uint64_t> addresses{target.call("plain").address};
  const auto start = Clock::now();
  auto result = client.symbolize(target.pid(), 0, 0, addresses, std::chrono::milliseconds(300));
  const auto took = Clock::now() - start;
  EXPECT_FALSE(result.ok());
  EXPECT_NE(result.error.find("timed out"), std::string::npos) << result.error;
  // It waited out the timeout, then killed and reaped the worker, which
  // would otherwise sleep for ten minutes.
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_TRUE(client.worker_pids().empty());
  EXPECT_EQ(processes_running(std::string("sleep\0", 6) + sleep_for), 0) << "the hanging worker was not killed";
}

TEST_F(HostileTest, AStoppedWorkerIsKilledAtTheTimeout) {
  Target target({SYM_TARGET});
  ASSERT_TRUE(target.stopped()) << target.output();
  SymbolizerClient client(worker_options(staged_));
  const std::vector<uint64_t> addresses{target.call("plain").address};
  ASSERT_TRUE(client.symbolize(target.pid(), 0, 0, addresses, std::chrono::seconds(30)).ok());
  ASSERT_EQ(client.worker_pids().size(), 1u);
  const pid_t worker = client.worker_pids()[0];
  ASSERT_EQ(::kill(worker, SIGSTOP), 0);

  auto stuck = client.symbolize(target.pid(), 0, 0, addresses, std::chrono::milliseconds(500));
  EXPECT_FALSE(stuck.ok());
  EXPECT_NE(stuck.error.find("timed out"), std::string::npos) << stuck.error;
  EXPECT_TRUE(client.worker_pids().empty());
  EXPECT_EQ(::kill(worker, 0), -1) << "the stopped worker was not killed and reaped";
  EXPECT_EQ(errno, ESRCH);

  auto again = client.symbolize(target.pid(), 0, 0, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(again.ok()) << again.error;
  EXPECT_EQ(again.locations[0].frames.at(0).function, "plain_function()");
}

// Stand-ins that read the request's header, print `reply` and exit: each
// must be a clean error, quickly, and never a crash or a hang of the client.
TEST_F(HostileTest, AWorkerPrintingGarbageIsACleanError) {
  Target target({SYM_TARGET});
  ASSERT_TRUE(target.stopped()) << target.output();
  namespace protocol = symbols::protocol;
  const std::string deep(100000, '[');
  auto framed = [](const std::string& body) { return protocol::header(body.size()) + body; };
  const std::vector<std::pair<std::string, std::string>> replies = {
      {"text", "this is not a reply\n"},
      {"huge length", std::string("MPS\x01\xff\xff\xff\x7f", 8)},
      {"other version", std::string("MPS\x02\x02\x00\x00\x00{}", 10)},
      {"short body", protocol::header(100) + "{}"},
      {"not JSON", framed("[[[[[")},
      {"deep nesting", framed(deep)},
      {"no answers", framed("{\"answers\":[],\"retire\":false}")},
      {"wrong types", framed("{\"answers\":[{\"build_id\":7,\"note\":\"\",\"frames\":[]}],\"retire\":false}")},
      {"frame without line", framed("{\"answers\":[{\"build_id\":\"\",\"note\":\"\",\"frames\":[{\"function\":\"f\"}]}],\"retire\":false}")},
      {"random", random_bytes(4096, 3)},
      {"nothing", ""},
  };
  for (const auto& [name, reply] : replies) {
    const std::string file = dir_.write(name, reply);
    std::filesystem::permissions(file, std::filesystem::perms::others_read, std::filesystem::perm_options::add);
    auto options = worker_options(staged_);
    options.worker_command = {"/bin/sh", "-c", "head -c 8 >/dev/null; cat \"$0\"", file};
    SymbolizerClient client(options);
    const std::vector<uint64_t> addresses{target.call("plain").address};
    // A deadline no machine reaches: the error is the reply's, never the timeout's.
    auto result = client.symbolize(target.pid(), 0, 0, addresses, std::chrono::seconds(20));
    EXPECT_FALSE(result.ok()) << name;
    EXPECT_TRUE(result.locations.empty()) << name;
    EXPECT_EQ(result.error.find("timed out"), std::string::npos) << name << ": " << result.error;
    EXPECT_TRUE(client.worker_pids().empty()) << name;
  }
}

}  // namespace
}  // namespace memproxy::testing
