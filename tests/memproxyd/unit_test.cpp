// Unit tests of memproxyd's parts, in process.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>

#include "atomic_file.hpp"
#include "config_source.hpp"
#include "instance_lock.hpp"
#include "memproxy/atomic_replace.hpp"
#include "memproxy/status_record.hpp"
#include "memproxy/table_builder.hpp"
#include "memproxy/table_reader.hpp"
#include "options.hpp"
#include "publisher.hpp"
#include "reloader.hpp"
#include "runtime_dir.hpp"
#include "status_writer.hpp"
#include "test_support.hpp"
#include "watcher.hpp"

namespace memproxyd_test {
namespace {

using namespace memproxy::daemon;
namespace table = memproxy::table;

mode_t mode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

ParsedOptions parse(std::vector<const char*> args) {
  args.insert(args.begin(), "memproxyd");
  return parse_options(static_cast<int>(args.size()), args.data());
}

class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t mask) : old_(::umask(mask)) {}
  ~UmaskGuard() { ::umask(old_); }

 private:
  mode_t old_;
};

TEST(OptionsTest, DefaultsAreThePlatformPaths) {
  ParsedOptions parsed = parse({});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->config_path, "/etc/memproxy.conf");
  EXPECT_EQ(parsed.options->table_path, "/run/memproxy/table");
  EXPECT_FALSE(parsed.options->foreground);
  EXPECT_FALSE(parsed.options->once);
  EXPECT_FALSE(parsed.options->check);
  EXPECT_EQ(parsed.options->watch, WatchMode::automatic);
}

TEST(OptionsTest, EveryOption) {
  ParsedOptions parsed = parse({"-c", "/x.conf", "-t", "/r/t", "--allocator", "libtcmalloc.so", "-f", "--once",
                                "--watch", "poll", "--poll-interval", "25"});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->config_path, "/x.conf");
  EXPECT_EQ(parsed.options->table_path, "/r/t");
  EXPECT_EQ(parsed.options->allocator, "libtcmalloc.so");
  EXPECT_TRUE(parsed.options->foreground);
  EXPECT_TRUE(parsed.options->once);
  EXPECT_EQ(parsed.options->watch, WatchMode::poll);
  EXPECT_EQ(parsed.options->poll_interval, std::chrono::milliseconds(25));
  EXPECT_TRUE(parse({"--config", "/a", "--table", "/b", "--foreground", "--check"}).options->check);
}

// ADMIN.md: the history is kept in /var/lib/memproxy/history.sqlite, of at
// most 10,000 processes and 1,000 of any one user but root; --no-history
// keeps none.
TEST(OptionsTest, TheHistorysDefaultsAndNoHistory) {
  ParsedOptions parsed = parse({});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->history_path, "/var/lib/memproxy/history.sqlite");
  EXPECT_EQ(parsed.options->history_max_processes, 10'000u);
  EXPECT_EQ(parsed.options->history_user_quota, 1'000u);
  ParsedOptions none = parse({"--no-history"});
  ASSERT_TRUE(none.options);
  EXPECT_EQ(none.options->history_path, "");
}

#if !MEMPROXY_HEAP_WATCH
// Built without the heap watch, the daemon runs without it and refuses the
// options that ask it for something; those that ask for nothing pass.
TEST(OptionsTest, WithoutTheHeapWatchItsOptionsAreUsageErrors) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(parse({"--history", "/var/lib/memproxy/h.sqlite"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"--prometheus-listen", "9100"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"--verdict-time-scale", "60"}).exit_code, kExitUsage);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("--history: this memproxyd is built without the heap watch"), std::string::npos) << err;
  ParsedOptions plain = parse({"--no-heap-watch", "--no-history"});
  ASSERT_TRUE(plain.options);
  EXPECT_FALSE(plain.options->heap_watch);
  ParsedOptions defaults = parse({});
  ASSERT_TRUE(defaults.options);
  EXPECT_FALSE(defaults.options->heap_watch);
}
#endif

TEST(OptionsTest, UsageErrorsExitWith2) {
  testing::internal::CaptureStderr();
  testing::internal::CaptureStdout();
  std::string long_name(table::kMaxAllocatorLength + 1, 'x');
  EXPECT_EQ(parse({"--once", "--check"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"--bogus"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"--watch", "telepathy"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"--allocator", long_name.c_str()}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"extra"}).exit_code, kExitUsage);
  ParsedOptions help = parse({"--help"});
  EXPECT_FALSE(help.options);
  EXPECT_EQ(help.exit_code, kExitOk);
  testing::internal::GetCapturedStdout();
  testing::internal::GetCapturedStderr();
}

TEST(RuntimeDirTest, ParentDir) {
  EXPECT_EQ(parent_dir("/run/memproxy/table"), "/run/memproxy");
  EXPECT_EQ(parent_dir("/table"), "/");
  EXPECT_EQ(parent_dir("table"), ".");
}

TEST(RuntimeDirTest, CreatesMissingDirectories0755) {
  TempDir dir;
  UmaskGuard umask(077);
  std::string nested = dir / "a/b/c";
  EXPECT_EQ(ensure_runtime_dir(nested), "");
  EXPECT_EQ(mode_of(nested), 0755u);
  EXPECT_EQ(mode_of(dir / "a"), 0755u);
  EXPECT_EQ(check_runtime_dir(nested), "");
  EXPECT_EQ(ensure_runtime_dir(nested), "") << "an existing directory is fine";
}

TEST(RuntimeDirTest, RejectsWhatOthersCanWrite) {
  TempDir dir;
  std::string d = dir / "d";
  ASSERT_EQ(::mkdir(d.c_str(), 0755), 0);
  EXPECT_EQ(check_runtime_dir(d), "");
  ASSERT_EQ(::chmod(d.c_str(), 0777), 0);
  EXPECT_NE(check_runtime_dir(d).find("writable by others"), std::string::npos);
  ASSERT_EQ(::chmod(d.c_str(), 01777), 0);
  EXPECT_NE(check_runtime_dir(d), "") << "the sticky bit does not stop a rename over the table's name";
  ASSERT_EQ(::chmod(d.c_str(), 0770), 0);
  EXPECT_NE(check_runtime_dir(d).find("writable by its group"), std::string::npos);
  write_file(dir / "f", "");
  EXPECT_NE(check_runtime_dir(dir / "f").find("not a directory"), std::string::npos);
  EXPECT_NE(check_runtime_dir(dir / "absent"), "");
}

TEST(AtomicFileTest, ReplacesWithExactModeAndNoLeftovers) {
  TempDir dir;
  UmaskGuard umask(077);
  std::string target = dir / "file";
  write_file(target, "old");
  write_file(staging_path_for(target), "stale staging from a killed writer");
  ASSERT_EQ(::chmod(staging_path_for(target).c_str(), 0600), 0);
  EXPECT_EQ(replace_file(target, "new", 3, 0644), "");
  EXPECT_EQ(read_file(target), "new");
  EXPECT_EQ(mode_of(target), 0644u);
  EXPECT_FALSE(fs::exists(staging_path_for(target)));
  EXPECT_EQ(replace_file(target, "", 0, 0644), "") << "an empty file is written too";
  EXPECT_EQ(read_file(target), "");
}

TEST(AtomicFileTest, AReaderKeepsTheOldInode) {
  TempDir dir;
  std::string target = dir / "file";
  write_file(target, "one");
  int fd = ::open(target.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(replace_file(target, "two", 3, 0644), "");
  char buffer[4] = {};
  EXPECT_EQ(::pread(fd, buffer, 3, 0), 3);
  ::close(fd);
  EXPECT_STREQ(buffer, "one");
  EXPECT_EQ(read_file(target), "two");
}

TEST(AtomicFileTest, FailsCleanlyInAMissingDirectory) {
  TempDir dir;
  EXPECT_NE(replace_file(dir / "absent/file", "x", 1, 0644), "");
}

TEST(AtomicReplaceTest, NeverWritesThroughALinkPlantedAsTheStagingFile) {
  TempDir dir;
  std::string target = dir / "file", victim = dir / "victim";
  write_file(victim, "precious");
  ASSERT_EQ(::symlink(victim.c_str(), memproxy::atomic::staging_path_for(target).c_str()), 0);
  EXPECT_EQ(memproxy::atomic::replace_file(target, "new", 0644), "");
  EXPECT_EQ(read_file(target), "new");
  EXPECT_EQ(read_file(victim), "precious");
  EXPECT_FALSE(fs::exists(memproxy::atomic::staging_path_for(target)));
}

TEST(AtomicReplaceTest, OwnerAndModeAreExactWhateverTheUmask) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_root("give a file to nobody"));
  MEMPROXY_REQUIRE(memproxy::testing::missing_user("nobody"));
  struct passwd* nobody = ::getpwnam("nobody");
  TempDir dir;
  UmaskGuard umask(0);
  std::string target = dir / "file";
  EXPECT_EQ(memproxy::atomic::replace_file(target, "x", 0640, memproxy::atomic::Owner{nobody->pw_uid, nobody->pw_gid}),
            "");
  struct stat st {};
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, nobody->pw_uid);
}

TEST(AtomicReplaceTest, AnUncommittedStagingFileIsRemovedAndTheTargetKept) {
  TempDir dir;
  std::string target = dir / "file";
  write_file(target, "old");
  {
    memproxy::atomic::StagedFile staged(target, 0644);
    ASSERT_TRUE(staged.ok()) << staged.error();
    EXPECT_TRUE(staged.write("half"));
    EXPECT_TRUE(fs::exists(staged.path()));
  }
  EXPECT_EQ(read_file(target), "old");
  EXPECT_FALSE(fs::exists(memproxy::atomic::staging_path_for(target)));
}

uint64_t generation_in(const std::string& path) {
  std::string bytes = read_file(path);
  table::View view;
  if (table::open(bytes.data(), bytes.size(), &view) != table::Status::ok) return 0;
  return view.header->generation;
}

TEST(PublisherTest, GenerationGrowsByOneAndContinuesTheLiveTable) {
  TempDir dir;
  std::string path = dir / "table";
  auto image = table::build({{"seed", table::kFlagExclude}}, {}, 41);
  write_file(path, std::string(image.begin(), image.end()));
  EXPECT_EQ(live_generation(path), 41u);

  Publisher publisher(path, {"libmimalloc.so.2", table::kFailSystem, 0});
  EXPECT_EQ(publisher.generation(), 41u);
  PublishOutcome first = publisher.publish({{"alpha", table::kFlagExclude}, {"beta", table::kFlagMonitor}});
  ASSERT_EQ(first.error, "");
  EXPECT_EQ(first.generation, 42u);
  EXPECT_EQ(first.entry_count, 2u);
  EXPECT_EQ(first.table_bytes, fs::file_size(path));
  EXPECT_GT(first.published_unix_ns, 0);
  PublishOutcome second = publisher.publish({});
  ASSERT_EQ(second.error, "");
  EXPECT_EQ(second.generation, 43u);
  EXPECT_EQ(generation_in(path), 43u);
  EXPECT_EQ(mode_of(path), 0644u);

  std::string bytes = read_file(path);
  table::View view;
  ASSERT_EQ(table::open(bytes.data(), bytes.size(), &view), table::Status::ok);
  EXPECT_STREQ(view.header->allocator, "libmimalloc.so.2");
}

TEST(PublisherTest, AnInvalidLiveTableRestartsAtOne) {
  TempDir dir;
  std::string path = dir / "table";
  write_file(path, std::string(8192, 'x'));
  EXPECT_EQ(live_generation(path), 0u);
  Publisher publisher(path, {});
  EXPECT_EQ(publisher.publish({}).generation, 1u);
  EXPECT_EQ(live_generation(dir / "absent"), 0u);
}

TEST(PublisherTest, RefusesAnUnsafeDirectoryAndKeepsTheTable) {
  TempDir dir;
  std::string run = dir / "run";
  ASSERT_EQ(::mkdir(run.c_str(), 0755), 0);
  Publisher publisher(run + "/table", {});
  ASSERT_EQ(publisher.publish({{"alpha", table::kFlagExclude}}).error, "");
  ASSERT_EQ(::chmod(run.c_str(), 0757), 0);
  PublishOutcome refused = publisher.publish({});
  EXPECT_NE(refused.error.find("refusing"), std::string::npos) << refused.error;
  EXPECT_EQ(publisher.generation(), 1u);
  EXPECT_EQ(generation_in(run + "/table"), 1u);
}

TEST(InstanceLockTest, SecondHolderIsToldTheFirstsPid) {
  TempDir dir;
  std::string path = dir / "table.lock";
  {
    InstanceLock first;
    ASSERT_EQ(first.acquire(path), "");
    EXPECT_TRUE(first.held());
    InstanceLock second;
    std::string error = second.acquire(path);
    EXPECT_NE(error.find("pid " + std::to_string(::getpid())), std::string::npos) << error;
    EXPECT_FALSE(second.held());
  }
  InstanceLock again;
  EXPECT_EQ(again.acquire(path), "") << "released with its holder";
  EXPECT_EQ(read_lock_pid(path), ::getpid());
}

TEST(InstanceLockTest, APosixRecordLockProbeSeesItHeld) {
  TempDir dir;
  std::string path = dir / "table.lock";
  InstanceLock lock;
  ASSERT_EQ(lock.acquire(path), "");
  // memproxyctl may probe with fcntl locks (Boost file_lock); a child process
  // is needed, since a process never conflicts with its own record locks.
  pid_t child = ::fork();
  if (child == 0) {
    int fd = ::open(path.c_str(), O_RDWR);
    struct flock probe {};
    probe.l_type = F_WRLCK;
    probe.l_whence = SEEK_SET;
    ::fcntl(fd, F_GETLK, &probe);
    ::_exit(probe.l_type == F_WRLCK && probe.l_pid == ::getppid() ? 0 : 1);
  }
  EXPECT_EQ(wait_exit(child), 0);
}

TEST(InstanceLockTest, TheLockFileIsPrivateWhateverTheUmask) {
  TempDir dir;
  UmaskGuard umask(0);
  std::string path = dir / "table.lock";
  InstanceLock lock;
  ASSERT_EQ(lock.acquire(path), "");
  EXPECT_EQ(mode_of(path), 0600u);
}

TEST(InstanceLockTest, AnOpenModeLockFileIsReplacedByAPrivateOne) {
  TempDir dir;
  std::string path = dir / "table.lock";
  write_file(path, "1\n");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  // Someone still has the old file open (it was readable): a new inode
  // leaves their descriptor pointing at a file nobody locks any more.
  int old_fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(old_fd, 0);
  InstanceLock lock;
  ASSERT_EQ(lock.acquire(path), "");
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_NE(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mode & 07777, 0600u);
  EXPECT_EQ(read_lock_pid(path), ::getpid());
  ::close(old_fd);
}

TEST(InstanceLockTest, ADaemonHoldingAnOpenModeLockFileIsNotDisplaced) {
  TempDir dir;
  std::string path = dir / "table.lock";
  write_file(path, "");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  // A daemon of an older version: a write lock on its 0644 file.
  pid_t holder = ::fork();
  if (holder == 0) {
    int fd = ::open(path.c_str(), O_RDWR);
    struct flock record {};
    record.l_type = F_WRLCK;
    record.l_whence = SEEK_SET;
    char byte = ::fcntl(fd, F_SETLK, &record) == 0 ? 'y' : 'n';
    (void)!::write(report[1], &byte, 1);
    ::pause();
    ::_exit(0);
  }
  char byte = 0;
  ASSERT_EQ(::read(report[0], &byte, 1), 1);
  ASSERT_EQ(byte, 'y');
  InstanceLock lock;
  std::string error = lock.acquire(path);
  EXPECT_NE(error.find("another memproxyd (pid " + std::to_string(holder) + ")"), std::string::npos) << error;
  EXPECT_EQ(mode_of(path), 0644u) << "left as it is for its daemon";
  ::kill(holder, SIGKILL);
  wait_exit(holder);
  ::close(report[0]);
  ::close(report[1]);
}

// Runs `io` until `fired` or the patience runs out.
bool run_until(boost::asio::io_context& io, const bool& fired) {
  auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (!fired && std::chrono::steady_clock::now() < deadline) io.run_for(10ms);
  return fired;
}

class WatcherTest : public ::testing::TestWithParam<WatchMode> {
 protected:
  std::unique_ptr<Watcher> start(const std::string& config) {
    std::string error;
    auto watcher = start_watcher(GetParam(), config, 10ms, io_, [this] { fired_ = true; }, &error);
    EXPECT_EQ(error, "");
    return watcher;
  }
  bool changed() {
    bool result = run_until(io_, fired_);
    fired_ = false;
    return result;
  }

  TempDir dir_;
  boost::asio::io_context io_;
  bool fired_ = false;
};

TEST_P(WatcherTest, SeesEveryKindOfChange) {
  std::string config = dir_ / "memproxy.conf";
  write_file(config, "a\n");
  auto watcher = start(config);
  ASSERT_TRUE(watcher);

  write_file(config, "b\n");
  EXPECT_TRUE(changed()) << "in-place write";

  write_file(dir_ / "staged", "c\n");
  ASSERT_EQ(::rename((dir_ / "staged").c_str(), config.c_str()), 0);
  EXPECT_TRUE(changed()) << "rename over";

  ASSERT_EQ(::unlink(config.c_str()), 0);
  write_file(config, "d\n");
  EXPECT_TRUE(changed()) << "delete and recreate";

  fs::create_directory(dir_ / "elsewhere");
  write_file(dir_ / "elsewhere/real.conf", "e\n");
  ASSERT_EQ(::unlink(config.c_str()), 0);
  ASSERT_EQ(::symlink((dir_ / "elsewhere/real.conf").c_str(), config.c_str()), 0);
  EXPECT_TRUE(changed()) << "replaced by a symlink";

  write_file(dir_ / "elsewhere/real.conf", "f\n");
  EXPECT_TRUE(changed()) << "edit of the symlink's target";

  write_file(dir_ / "linked.conf", "g\n");
  ASSERT_EQ(::unlink(config.c_str()), 0);
  io_.run_for(50ms);  // let the poll watcher see the gap: the link must be a change of its own
  fired_ = false;
  ASSERT_EQ(::link((dir_ / "linked.conf").c_str(), config.c_str()), 0);
  EXPECT_TRUE(changed()) << "a hard link created in its place";
}

TEST_P(WatcherTest, IgnoresOtherFilesInTheDirectory) {
  std::string config = dir_ / "memproxy.conf";
  write_file(config, "a\n");
  auto watcher = start(config);
  ASSERT_TRUE(watcher);
  write_file(dir_ / "unrelated", "x\n");
  // The watcher's next handler has looked at the write: inotify's reads the
  // directory's events, already queued when the write returned; the
  // poller's next look stats the config after the write. A notice for the
  // unrelated file comes from that handler or never.
  ASSERT_EQ(io_.run_one_for(kPatience), 1u) << "the watcher looked";
  EXPECT_FALSE(fired_) << "a notice for another file";
  // And it is watching: the config's own change is noticed.
  write_file(config, "b\n");
  EXPECT_TRUE(changed());
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, WatcherTest, ::testing::Values(WatchMode::inotify, WatchMode::poll),
                         [](const auto& info) { return info.param == WatchMode::inotify ? "inotify" : "poll"; });

TEST(WatcherFactoryTest, NoneAndForeignMechanisms) {
  boost::asio::io_context io;
  std::string error;
  EXPECT_EQ(start_watcher(WatchMode::none, "/etc/memproxy.conf", 10ms, io, [] {}, &error), nullptr);
  EXPECT_EQ(error, "");
  EXPECT_EQ(start_watcher(WatchMode::ports, "/etc/memproxy.conf", 10ms, io, [] {}, &error), nullptr);
  EXPECT_NE(error, "");
}

TEST(WatcherFactoryTest, AutomaticFallsBackToPollingWithoutTheDirectory) {
  TempDir dir;
  boost::asio::io_context io;
  std::string error;
  auto watcher = start_watcher(WatchMode::automatic, dir / "absent/memproxy.conf", 10ms, io, [] {}, &error);
  ASSERT_TRUE(watcher) << error;
  EXPECT_STREQ(watcher->name(), "poll");
}

TEST(ConfigSourceTest, ReadableByEveryoneNeedsEveryDirectorySearchable) {
  TempDir dir;
  fs::create_directory(dir / "sub");
  std::string config = dir / "sub/memproxy.conf";
  write_file(config, "alpha\n");
  ASSERT_EQ(::chmod(config.c_str(), 0644), 0);
  EXPECT_TRUE(readable_by_everyone(config));
  ASSERT_EQ(::chmod((dir / "sub").c_str(), 0711), 0);
  EXPECT_TRUE(readable_by_everyone(config)) << "searchable is enough, listing is not needed";
  ASSERT_EQ(::chmod((dir / "sub").c_str(), 0750), 0);
  EXPECT_FALSE(readable_by_everyone(config));
  ASSERT_EQ(::chmod((dir / "sub").c_str(), 0755), 0);
  ASSERT_EQ(::chmod(config.c_str(), 0640), 0);
  EXPECT_FALSE(readable_by_everyone(config));
  ASSERT_EQ(::symlink(config.c_str(), (dir / "link").c_str()), 0);
  EXPECT_FALSE(readable_by_everyone(dir / "link")) << "judged on the file the link leads to";
  EXPECT_FALSE(readable_by_everyone(dir / "absent"));
}

TEST(ConfigSourceTest, AnUntrustedConfigIsNotRead) {
  TempDir dir;
  std::string config = dir / "memproxy.conf";
  write_file(config, "alpha\n");
  ASSERT_EQ(::chmod(config.c_str(), 0666), 0);
  LoadedConfig loaded = load_config(config);
  EXPECT_FALSE(loaded.parsed.publishable());
  EXPECT_TRUE(loaded.parsed.entries.empty());
  ASSERT_EQ(loaded.parsed.diagnostics.size(), 1u);
  EXPECT_EQ(loaded.parsed.diagnostics[0].problem, memproxy::config::Problem::untrusted);
  EXPECT_NE(loaded.parsed.diagnostics[0].format().find(config + " is writable by group or others"),
            std::string::npos)
      << loaded.parsed.diagnostics[0].format();
  ASSERT_EQ(::chmod(config.c_str(), 0644), 0);
  EXPECT_TRUE(load_config(config).parsed.publishable());
  EXPECT_EQ(load_config(dir / "absent").parsed.file_status, memproxy::config::FileStatus::missing);
}

TEST(ReloaderUnitTest, RejectsKeepsAndRecords) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table_path = dir / "table";
  Publisher publisher(table_path, {});
  StatusWriter status(table_path);
  status.record().pid = 1;
  status.record().state = "running";
  Reloader reloader(config, publisher, status);
  testing::internal::CaptureStderr();

  EXPECT_EQ(reloader.reload(true, "start"), ReloadResult::published) << "missing at start: empty table";
  EXPECT_EQ(live_generation(table_path), 1u);
  EXPECT_EQ(reloader.reload(false, "test"), ReloadResult::rejected) << "missing later: keep the table";
  EXPECT_EQ(live_generation(table_path), 1u);

  write_file(config, "ok\n");
  EXPECT_EQ(reloader.reload(false, "test"), ReloadResult::published);
  write_file(config, "ok\nnot/ok\n");
  EXPECT_EQ(reloader.reload(false, "test"), ReloadResult::rejected);
  EXPECT_EQ(live_generation(table_path), 2u);
  testing::internal::GetCapturedStderr();

  std::string error;
  auto record = memproxy::status::from_text(read_file(table_path + ".status"), &error);
  ASSERT_TRUE(record) << error;
  EXPECT_EQ(record->generation, 2u);
  EXPECT_EQ(record->entry_count, 1u);
  EXPECT_EQ(record->rejected_count, 2u);
  EXPECT_GT(record->last_rejection_unix_ns, record->last_publish_unix_ns);
  EXPECT_NE(record->last_error.find(config + ":2: error"), std::string::npos) << record->last_error;
}

}  // namespace
}  // namespace memproxyd_test
