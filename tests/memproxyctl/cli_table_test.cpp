// memproxyctl list / explain / status against tables written by memproxy-mktable.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "capability.hpp"
#include "cli_support.hpp"
#include "memproxy/status_record.hpp"

namespace memproxyctl::testing {
namespace {

const char* kConfig = "[exclude]\ntop\ntelegram\n/usr/bin/wget\n[monitor]\nmyservice\ntop\n";

void corrupt(const std::string& path, size_t offset) {
  std::string bytes = read_file(path);
  ASSERT_LT(offset, bytes.size());
  bytes[offset] = static_cast<char>(bytes[offset] ^ 0x5a);
  write_file(path, bytes);
}

TEST(CliList, ListsEntriesWithSections) {
  TempDir dir;
  auto table = make_table(dir, kConfig, "libjemalloc.so.2");
  auto r = ctl({"list", "-t", table});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find("exclude+monitor name  top"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("exclude         path  /usr/bin/wget"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("monitor         name  myservice"), std::string::npos) << r.out;

  auto j = ctl({"list", "-t", table, "--json"});
  ASSERT_EQ(j.exit_status, 0);
  auto doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["allocator"], "libjemalloc.so.2");
  ASSERT_EQ(doc["entries"].size(), 4u);
  EXPECT_EQ(doc["entries"][0]["entry"], "/usr/bin/wget");
  EXPECT_EQ(doc["entries"][0]["kind"], "path");
}

TEST(CliList, MissingTableExitsThree) {
  TempDir dir;
  auto r = ctl({"list", "-t", dir / "absent"});
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_NE(r.err.find("cannot read table"), std::string::npos) << r.err;
  auto j = ctl({"list", "-t", dir / "absent", "--json"});
  EXPECT_EQ(j.exit_status, 3);
  EXPECT_FALSE(nlohmann::json::parse(j.out)["valid"].get<bool>());
}

TEST(CliList, CorruptTableExitsThree) {
  TempDir dir;
  auto table = make_table(dir, kConfig);
  corrupt(table, 4096 + 10);  // a slot block: the header stays sound
  auto r = ctl({"list", "-t", table});
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_NE(r.err.find("not a valid memproxy table"), std::string::npos) << r.err;

  write_file(dir / "garbage", std::string(8192, 'x'));
  EXPECT_EQ(ctl({"list", "-t", dir / "garbage"}).exit_status, 3);
  write_file(dir / "empty", "");
  EXPECT_EQ(ctl({"list", "-t", dir / "empty"}).exit_status, 3);
}

TEST(CliList, WarnsWhenTableIsNotRootOwned) {
  TempDir dir;
  auto table = make_table(dir, kConfig);
  if (running_as_root()) {  // nobody
    ASSERT_EQ(::chown(table.c_str(), 65534, 65534), 0);
  }
  auto r = ctl({"list", "-t", table});
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_NE(r.err.find("not root"), std::string::npos) << r.err;
  auto doc = nlohmann::json::parse(ctl({"list", "-t", table, "--json"}).out);
  EXPECT_FALSE(doc["trusted_as_system_table"].get<bool>());
}

TEST(CliExplain, NamePathAndUnlisted) {
  TempDir dir;
  auto table = make_table(dir, kConfig, "libjemalloc.so.2");
  write_file(dir / "table.conf", kConfig);

  auto top = ctl({"explain", "top", "-t", table, "-c", dir / "table.conf"});
  EXPECT_EQ(top.exit_status, 0) << top.err;
  EXPECT_NE(top.out.find("top: system allocator, monitored"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("from " + dir / "table.conf:2"), std::string::npos) << top.out;

  auto ls = ctl({"explain", "ls", "-t", table});
  EXPECT_EQ(ls.exit_status, 0);
  EXPECT_NE(ls.out.find("ls: custom allocator (libjemalloc.so.2)"), std::string::npos) << ls.out;

  // An absolute path entry matches the resolved binary path; its name is not listed.
  auto doc = nlohmann::json::parse(ctl({"--json", "explain", "/usr/bin/wget", "-t", table}).out);
  EXPECT_EQ(doc["backend"], "system");
  bool via_path = false;
  for (const auto& m : doc["matches"]) via_path |= m["entry"] == "/usr/bin/wget";
  EXPECT_TRUE(via_path) << doc.dump();

  // A symlink is matched by its own name (invoked name) and its target's.
  ASSERT_EQ(::symlink("/bin/true", (dir / "top").c_str()), 0);
  auto link = nlohmann::json::parse(ctl({"--json", "explain", dir / "top", "-t", table}).out);
  EXPECT_EQ(link["backend"], "system");
  EXPECT_EQ(link["matches"][0]["matched_as"], "invoked name");
}

TEST(CliList, ShowsEachEntrysSampleSetting) {
  TempDir dir;
  auto table = make_table(dir, "[monitor sample=64K]\nleaky\n[monitor sample=off]\n/usr/bin/quiet\n[monitor]\nplain\n");
  auto r = ctl({"list", "-t", table});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find("monitor         name  leaky  [sample=64K]\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("monitor         path  /usr/bin/quiet  [sample=off]\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("monitor         name  plain\n"), std::string::npos) << r.out;
  auto doc = nlohmann::json::parse(ctl({"list", "-t", table, "--json"}).out);
  ASSERT_EQ(doc["entries"].size(), 3u);
  EXPECT_EQ(doc["entries"][0]["sample"], "off");
  EXPECT_EQ(doc["entries"][1]["sample"], "64K");
  EXPECT_TRUE(doc["entries"][2]["sample"].is_null());
}

TEST(CliExplain, SaysTheSamplingRateAndWhereItComesFrom) {
  TempDir dir;
  const char* config = "[monitor sample=off]\nleaky\n[monitor sample=1M]\n/usr/bin/leaky\n[monitor]\nplain\n";
  auto table = make_table(dir, config);
  auto leaky = ctl({"explain", "/usr/bin/leaky", "-t", table});
  EXPECT_EQ(leaky.exit_status, 0) << leaky.err;
  EXPECT_NE(leaky.out.find("  sampling:    every 1048576 bytes (memproxy.conf); MEMPROXY_SAMPLE_BYTES"),
            std::string::npos)
      << leaky.out;
  EXPECT_NE(leaky.out.find("leaky [monitor sample=off] matched as binary name"), std::string::npos) << leaky.out;
  EXPECT_NE(leaky.out.find("/usr/bin/leaky [monitor sample=1M] matched as binary path"), std::string::npos)
      << leaky.out;

  auto off = nlohmann::json::parse(ctl({"--json", "explain", "leaky", "-t", table}).out);
  EXPECT_EQ(off["sampling"]["mean_bytes"], 0);
  EXPECT_EQ(off["sampling"]["source"], "memproxy.conf");
  EXPECT_EQ(off["matches"][0]["sample"], "off");
  EXPECT_NE(ctl({"explain", "leaky", "-t", table}).out.find("  sampling:    off, no sampled stacks (memproxy.conf)"),
            std::string::npos);

  auto plain = nlohmann::json::parse(ctl({"--json", "explain", "plain", "-t", table}).out);
  EXPECT_EQ(plain["sampling"]["mean_bytes"], 512 * 1024);
  EXPECT_EQ(plain["sampling"]["source"], "default");
  EXPECT_TRUE(plain["matches"][0]["sample"].is_null());

  auto other = nlohmann::json::parse(ctl({"--json", "explain", "ls", "-t", table}).out);
  EXPECT_TRUE(other["sampling"].is_null()) << "not monitored: no sampling";
  EXPECT_EQ(ctl({"explain", "ls", "-t", table}).out.find("sampling:"), std::string::npos);
}

TEST(CliExplain, AllDigitNameWithNameFlag) {
  TempDir dir;
  auto table = make_table(dir, "[exclude]\n1234567\n");
  auto r = ctl({"explain", "--name", "1234567", "-t", table});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find("system allocator"), std::string::npos) << r.out;
}

TEST(CliExplain, MissingOrCorruptTableFailsSafeAndExitsThree) {
  TempDir dir;
  auto r = ctl({"explain", "top", "-t", dir / "absent"});
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_NE(r.out.find("system allocator"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fails safe"), std::string::npos) << r.out;

  auto table = make_table(dir, kConfig);
  corrupt(table, 4096 + 10);
  EXPECT_EQ(ctl({"explain", "ls", "-t", table}).exit_status, 3);
}

TEST(CliExplain, UnknownPidExitsFour) {
  TempDir dir;
  auto table = make_table(dir, kConfig);
  auto r = ctl({"explain", "999999999", "-t", table});
  EXPECT_EQ(r.exit_status, 4);
  EXPECT_NE(r.err.find("no process"), std::string::npos) << r.err;
}

// A process started through a symlink named after an excluded program, with
// jemalloc preloaded: explain reads its invoked name and its mappings.
TEST(CliExplain, RunningProcess) {
  TempDir dir;
  auto table = make_table(dir, kConfig, "libjemalloc.so.2");
  ASSERT_EQ(::symlink("/bin/sleep", (dir / "telegram").c_str()), 0);
  // The pipe's write end closes at exec: EOF means the child runs sleep.
  int exec_pipe[2];
  ASSERT_EQ(::pipe2(exec_pipe, O_CLOEXEC), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::setenv("LD_PRELOAD", "libjemalloc.so.2", 1);
    ::execl((dir / "telegram").c_str(), "renamed-argv0", "1000", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(child, 0);
  ::close(exec_pipe[1]);
  char byte;
  while (::read(exec_pipe[0], &byte, 1) > 0) {
  }
  ::close(exec_pipe[0]);
  // Preloads are mapped before libc: once libc is there, so is jemalloc.
  for (int i = 0; i < 10000 && read_file("/proc/" + std::to_string(child) + "/maps").find("libc.so") == std::string::npos; ++i) {
    ::usleep(1000);
  }
  auto r = ctl({"--json", "explain", std::to_string(child), "-t", table});
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_EQ(r.exit_status, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["backend"], "system") << r.out;
  EXPECT_EQ(doc["invoked_name"], "telegram");
  EXPECT_EQ(doc["process"]["invoked_source"], "AT_EXECFN");
  EXPECT_EQ(doc["resolved_path"], std::filesystem::canonical("/bin/sleep").string());
  EXPECT_FALSE(doc["process"]["memproxy_mapped"].get<bool>());
  ASSERT_EQ(doc["process"]["allocator_paths"].size(), 1u) << r.out;
  EXPECT_NE(doc["process"]["allocator_paths"][0].get<std::string>().find("libjemalloc.so.2"), std::string::npos);
}

TEST(CliStatus, DaemonNotRunning) {
  TempDir dir;
  auto table = make_table(dir, kConfig);
  auto r = ctl({"status", "-t", table});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_NE(r.out.find("not running"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("generation:  1"), std::string::npos) << r.out;
}

TEST(CliStatus, DaemonAliveWhileLockHeld) {
  TempDir dir;
  auto table = make_table(dir, kConfig);
  memproxy::status::Record record;
  record.pid = ::getpid();
  record.state = "running";
  record.config_path = dir / "table.conf";
  record.generation = 1;
  record.entry_count = 4;
  record.last_publish_unix_ns = 1'700'000'000'000'000'000;
  record.rejected_count = 2;
  record.last_rejection_unix_ns = 1'700'000'100'000'000'000;
  record.last_error = "x.conf:3: error: bad";
  record.ready_unix_ns = 1'700'000'000'500'000'000;
  write_file(memproxy::status::status_path_for(table), memproxy::status::to_text(record));
  // Held as memproxyd holds it: a flock and a POSIX write lock.
  int fd = ::open(memproxy::status::lock_path_for(table).c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  struct flock record_lock {};
  record_lock.l_type = F_WRLCK;
  record_lock.l_whence = SEEK_SET;
  ASSERT_EQ(::fcntl(fd, F_SETLK, &record_lock), 0);

  auto r = ctl({"status", "-t", table});
  EXPECT_EQ(r.exit_status, 0) << r.out;
  EXPECT_NE(r.out.find("running (pid " + std::to_string(::getpid()) + ")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("checked by:  lock query: fcntl(F_GETLK)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("x.conf:3: error: bad"), std::string::npos) << r.out;
  auto doc = nlohmann::json::parse(ctl({"status", "-t", table, "--json"}).out);
  EXPECT_TRUE(doc["daemon"]["alive"].get<bool>());
  EXPECT_EQ(doc["daemon"]["method"], "lock_query");
  EXPECT_EQ(doc["daemon"]["lock_holder_pid"], ::getpid());
  EXPECT_EQ(doc["status_record"]["rejected_count"], 2);
  EXPECT_EQ(doc["status_record"]["ready_unix_ns"], 1'700'000'000'500'000'000);
  ::close(fd);

  // Lock released: not alive, even though the record says running.
  EXPECT_EQ(ctl({"status", "-t", table}).exit_status, 1);
}

// The heap watch's history as the daemon records it in its status: the
// samples its writer dropped (a slow disk) are shown, and given in --json.
TEST(CliStatus, ShowsTheHistorysDroppedSamples) {
  TempDir dir;
  auto table = make_table(dir, kConfig);
  memproxy::status::Record record;
  record.pid = ::getpid();
  record.state = "running";
  record.generation = 1;
  record.history_state = "recording";
  record.history_path = dir / "history.sqlite";
  record.history_problem = "database is locked";
  record.history_dropped_samples = 192;
  write_file(memproxy::status::status_path_for(table), memproxy::status::to_text(record));
  auto r = ctl({"status", "-t", table});
  EXPECT_NE(r.out.find("history:     recording " + dir / "history.sqlite"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  last problem: database is locked\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  dropped:   192 samples never recorded"), std::string::npos) << r.out;
  auto doc = nlohmann::json::parse(ctl({"status", "-t", table, "--json"}).out);
  EXPECT_EQ(doc["status_record"]["history"]["dropped_samples"], 192) << doc.dump();

  // None dropped: no line about it.
  record.history_dropped_samples = 0;
  write_file(memproxy::status::status_path_for(table), memproxy::status::to_text(record));
  EXPECT_EQ(ctl({"status", "-t", table}).out.find("dropped"), std::string::npos);
}

TEST(CliStatus, MissingOrCorruptTableExitsThree) {
  TempDir dir;
  EXPECT_EQ(ctl({"status", "-t", dir / "absent"}).exit_status, 3);
  write_file(dir / "garbage", "not a table");
  auto r = ctl({"status", "-t", dir / "garbage", "--json"});
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_FALSE(nlohmann::json::parse(r.out)["table"]["valid"].get<bool>());
}

TEST(CliStatus, NeverTakesTheDaemonsLock) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_program("/usr/bin/strace", "strace"));
  TempDir dir;
  auto table = make_table(dir, kConfig);
  write_file(memproxy::status::lock_path_for(table), "1\n");
  const std::string trace = dir / "trace";
  // Even an instant's lock can make a daemon that starts at that instant fail.
  ProgramResult r = run_program(
      {"/usr/bin/strace", "-f", "-qq", "-e", "trace=flock,fcntl", "-o", trace, MEMPROXYCTL_BINARY, "status", "-t", table},
      {});
  if (r.exit_status != 1 && r.err.find("ptrace") != std::string::npos) GTEST_SKIP() << "strace cannot trace here: " << r.err;
  EXPECT_EQ(r.exit_status, 1) << r.out << r.err;
  const std::string calls = read_file(trace);
  EXPECT_EQ(calls.find("flock("), std::string::npos) << calls;
  EXPECT_EQ(calls.find("F_SETLK"), std::string::npos) << calls;
  EXPECT_NE(calls.find("F_GETLK"), std::string::npos) << calls;
}

TEST(CliStatus, AReadLockIsNotADaemon) {
  TempDir dir;
  auto table = make_table(dir, kConfig);
  int fd = ::open(memproxy::status::lock_path_for(table).c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  struct flock shared {};
  shared.l_type = F_RDLCK;
  shared.l_whence = SEEK_SET;
  ASSERT_EQ(::fcntl(fd, F_SETLK, &shared), 0);
  auto r = ctl({"status", "-t", table});
  EXPECT_EQ(r.exit_status, 1) << r.out;
  EXPECT_NE(r.out.find("read-locked by pid " + std::to_string(::getpid())), std::string::npos) << r.out;
  ::close(fd);
}

TEST(CliStatus, AFifoInPlaceOfTheStatusRecordIsAnErrorNotAHang) {
  TempDir dir;
  auto table = make_table(dir, kConfig);
  ASSERT_EQ(::mkfifo(memproxy::status::status_path_for(table).c_str(), 0644), 0);
  auto r = ctl({"status", "-t", table});
  EXPECT_FALSE(r.timed_out) << "status hung on the FIFO";
  EXPECT_EQ(r.exit_status, 1) << r.out;
  EXPECT_NE(r.out.find("is not a status record"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace memproxyctl::testing
