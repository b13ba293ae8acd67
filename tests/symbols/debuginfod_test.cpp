// Debug files fetched with debuginfod, through elfutils' own client in the
// worker, only when the client's settings turn it on: a stripped program's
// frames named from a debug file a local server lays out as debuginfod
// does (GET /buildid/ID/debuginfo), kept in the cache of the symbolized
// processes' user (0700, owned by the worker's user); and with debuginfod
// off, nothing asked of the server, even when the daemon's own
// environment names it.
#include <dlfcn.h>
#include <pwd.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "capability.hpp"
#include "process.hpp"
#include "staged.hpp"
#include "symbols_test_support.hpp"
#include "temp_dir.hpp"

namespace memproxy::testing {
namespace {

using symbols::SymbolizerClient;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

std::string missing_libdebuginfod() {
  void* handle = ::dlopen("libdebuginfod.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (handle == nullptr) return "libdebuginfod.so.1 cannot be loaded (apt-get install libdebuginfod1)";
  ::dlclose(handle);
  return "";
}

// python3's http.server on 127.0.0.1 over `root`, at a port it chose; its
// request log (one line per request) in `log`.
class DebuginfodServer {
 public:
  DebuginfodServer(const std::string& root, const std::string& log)
      : log_(log),
        process_({"/bin/sh", "-c",
                  "exec python3 -u -m http.server --bind 127.0.0.1 --directory '" + root + "' 0 2>>'" + log + "'"},
                 {"PATH=/usr/bin:/bin"}) {
    // "Serving HTTP on 127.0.0.1 port N (http://127.0.0.1:N/) ..."
    if (auto line = process_.read_line()) {
      std::istringstream in(*line);
      std::string word;
      while (in >> word && word != "port") {
      }
      in >> port_;
    }
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string requests() const { return read_file(log_); }

 private:
  std::string log_;
  Process process_;
  int port_ = 0;
};

class DebuginfodTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MEMPROXY_REQUIRE(missing_unprivileged_runner());
    MEMPROXY_REQUIRE(staged_.missing());
    MEMPROXY_REQUIRE(missing_program("/usr/bin/objcopy", "binutils"));
    MEMPROXY_REQUIRE(missing_program("/usr/bin/python3", "python3"));
    MEMPROXY_REQUIRE(missing_libdebuginfod());
    build_id_ = readelf_build_id(SYM_TARGET);
    ASSERT_EQ(build_id_.size(), 40u);
    // The program without a symbol table or DWARF, and nothing local that
    // names it: only the server has its debug file.
    stripped_ = dir_ / "sym_target";
    ASSERT_EQ(run_command("objcopy --strip-all '" SYM_TARGET "' '" + stripped_ + "' 2>&1"), "");
    const std::string served = served_ / ("buildid/" + build_id_);
    std::filesystem::create_directories(served);
    ASSERT_EQ(run_command("objcopy --only-keep-debug '" SYM_TARGET "' '" + served + "/debuginfo' 2>&1"), "");
    ASSERT_EQ(run_command("chmod -R a+rX '" + dir_.path() + "'"), "");
    server_ = std::make_unique<DebuginfodServer>(served_.path(), dir_ / "requests.log");
    ASSERT_NE(server_->port(), 0) << "the server did not say its port";
  }

  std::vector<symbols::Location> symbolize_inlined(const symbols::ClientOptions& options, const Call& call,
                                                   pid_t pid) {
    SymbolizerClient client(options);
    auto result = client.symbolize(pid, 0, 0, std::vector<uint64_t>{call.address}, std::chrono::seconds(60));
    EXPECT_TRUE(result.ok()) << result.error;
    return result.locations;
  }

  StagedForOtherUser staged_;
  TempDir dir_{0755};
  TempDir served_{0755};
  TempDir cache_root_{0755};
  std::string build_id_;
  std::string stripped_;
  std::unique_ptr<DebuginfodServer> server_;
};

TEST_F(DebuginfodTest, OnTheStrippedProgramIsNamedFromTheServedDebugFileKeptInItsUsersCache) {
  Target target({stripped_});
  ASSERT_TRUE(target.stopped()) << target.output();
  auto options = worker_options(staged_);
  options.debuginfod.urls = server_->url();
  options.debuginfod.cache_root = cache_root_.path();
  const Call& call = target.call("inlined");
  const auto locations = symbolize_inlined(options, call, target.pid());
  ASSERT_EQ(locations.size(), 1u);
  const std::string all = describe_all(locations);
  ASSERT_EQ(locations[0].frames.size(), 2u) << all << server_->requests();
  EXPECT_EQ(locations[0].frames[0].function, "(anonymous namespace)::inlined_function") << all;
  EXPECT_TRUE(ends_with(locations[0].frames[0].file, "sym_target.cpp")) << all;
  EXPECT_EQ(locations[0].frames[0].line, static_cast<uint32_t>(call.line)) << all;
  EXPECT_EQ(locations[0].frames[1].line, static_cast<uint32_t>(call.call_line)) << all;
  EXPECT_EQ(count_of(server_->requests(), "GET /buildid/" + build_id_ + "/debuginfo"), 1u) << server_->requests();

  // Root's processes (uid 0): their own directory, the worker's user's.
  struct stat st;
  const std::string cache = cache_root_ / "0";
  ASSERT_EQ(::lstat(cache.c_str(), &st), 0) << cache;
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, options.unprivileged.uid);
  const std::string downloaded = cache + "/" + build_id_ + "/debuginfo";
  ASSERT_EQ(::lstat(downloaded.c_str(), &st), 0) << downloaded;
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_uid, options.unprivileged.uid);
}

// Root's worker runs as nobody, as nobody's own does; their caches are
// still apart, so what nobody's worker downloads (or puts in its cache)
// never names root's frames.
TEST_F(DebuginfodTest, EachUserOfTheSymbolizedProcessesHasACacheOfItsOwn) {
  staged_.library(SYM_LIB);
  const std::string theirs_program = staged_.program(stripped_, "sym_target_stripped");
  Target theirs(as_nobody({theirs_program}), {staged_.library_path_variable()});
  ASSERT_TRUE(theirs.stopped()) << theirs.output();
  Target roots({stripped_});
  ASSERT_TRUE(roots.stopped()) << roots.output();
  const passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);

  auto options = worker_options(staged_);
  options.debuginfod.urls = server_->url();
  options.debuginfod.cache_root = cache_root_.path();
  SymbolizerClient client(options);
  for (auto [target, uid, gid] : {std::tuple{&theirs, nobody->pw_uid, nobody->pw_gid}, std::tuple{&roots, 0u, 0u}}) {
    auto result = client.symbolize(target->pid(), uid, gid, std::vector<uint64_t>{target->call("inlined").address},
                                   std::chrono::seconds(60));
    ASSERT_TRUE(result.ok()) << result.error;
    EXPECT_EQ(result.locations[0].frames.at(0).line, static_cast<uint32_t>(target->call("inlined").line))
        << describe_all(result.locations);
  }
  for (const std::string& user : {std::to_string(nobody->pw_uid), std::string("0")}) {
    const std::string downloaded = cache_root_ / (user + "/" + build_id_ + "/debuginfo");
    EXPECT_TRUE(std::filesystem::is_regular_file(downloaded)) << downloaded;
  }
  EXPECT_EQ(count_of(server_->requests(), "GET /buildid/" + build_id_ + "/debuginfo"), 2u) << server_->requests();
}

TEST_F(DebuginfodTest, OffNothingIsAskedOfTheServerEvenWhenTheDaemonsEnvironmentNamesIt) {
  // A host's profile may set these for everyone, the daemon included; only
  // the client's settings turn debuginfod on for its workers.
  ASSERT_EQ(::setenv("DEBUGINFOD_URLS", server_->url().c_str(), 1), 0);
  // A cache any worker could write, so that only the settings stand
  // between a worker and the server.
  TempDir anyones_cache(01777);
  ASSERT_EQ(::setenv("DEBUGINFOD_CACHE_PATH", anyones_cache.path().c_str(), 1), 0);
  Target target({stripped_});
  ASSERT_TRUE(target.stopped()) << target.output();
  const auto options = worker_options(staged_);
  ASSERT_FALSE(options.debuginfod.enabled());
  const auto locations = symbolize_inlined(options, target.call("inlined"), target.pid());
  ::unsetenv("DEBUGINFOD_URLS");
  ::unsetenv("DEBUGINFOD_CACHE_PATH");
  EXPECT_EQ(count_of(server_->requests(), "GET "), 0u) << server_->requests();
  EXPECT_TRUE(std::filesystem::is_empty(cache_root_.path()));
  EXPECT_TRUE(std::filesystem::is_empty(anyones_cache.path())) << run_command("ls -la '" + anyones_cache.path() + "'");
  ASSERT_EQ(locations.size(), 1u);
  const std::string all = describe_all(locations);
  for (const auto& frame : locations[0].frames) {
    EXPECT_EQ(frame.line, 0u) << all;
    EXPECT_NE(frame.function, "(anonymous namespace)::inlined_function") << all;
  }

  // The log does record requests: one made here is in it.
  ASSERT_EQ(run_command("python3 -c 'import urllib.request; urllib.request.urlopen(\"" + server_->url() +
                        "/buildid/" + build_id_ + "/debuginfo\").read()' 2>&1"),
            "");
  EXPECT_EQ(count_of(server_->requests(), "GET /buildid/" + build_id_ + "/debuginfo"), 1u) << server_->requests();
}

// The daemon's environment turns debuginfod on; what it says of the
// worker's limits is bounded by ours.
TEST(DebuginfodSettingsTest, TheDaemonsEnvironmentTurnsItOnWithinOurBounds) {
  ::unsetenv("DEBUGINFOD_URLS");
  ::unsetenv("DEBUGINFOD_CACHE_PATH");
  ::unsetenv("DEBUGINFOD_TIMEOUT");
  ::unsetenv("DEBUGINFOD_MAXSIZE");
  EXPECT_FALSE(symbols::debuginfod_from_environment().enabled());

  ::setenv("DEBUGINFOD_URLS", "https://debuginfod.example", 1);
  ::setenv("DEBUGINFOD_TIMEOUT", "3600", 1);
  ::setenv("DEBUGINFOD_MAXSIZE", "99999999999999", 1);
  auto settings = symbols::debuginfod_from_environment();
  EXPECT_TRUE(settings.enabled());
  EXPECT_EQ(settings.cache_root, symbols::kDefaultCacheRoot);
  EXPECT_EQ(settings.timeout_seconds, symbols::kMaxTimeoutSeconds);
  EXPECT_EQ(settings.max_file_bytes, symbols::kMaxFileBytes);

  ::setenv("DEBUGINFOD_CACHE_PATH", "/srv/debug-cache", 1);
  ::setenv("DEBUGINFOD_TIMEOUT", "-5", 1);
  ::setenv("DEBUGINFOD_MAXSIZE", "1048576", 1);
  settings = symbols::debuginfod_from_environment();
  EXPECT_EQ(settings.cache_root, "/srv/debug-cache");
  EXPECT_EQ(settings.timeout_seconds, 10u);
  EXPECT_EQ(settings.max_file_bytes, 1048576u);
  const auto environment = symbols::debuginfod_environment(settings, "/srv/debug-cache/1000");
  EXPECT_EQ(environment, (std::vector<std::string>{"DEBUGINFOD_URLS=https://debuginfod.example",
                                                   "DEBUGINFOD_CACHE_PATH=/srv/debug-cache/1000",
                                                   "DEBUGINFOD_TIMEOUT=10", "DEBUGINFOD_MAXSIZE=1048576"}));
  for (const char* name : {"DEBUGINFOD_URLS", "DEBUGINFOD_CACHE_PATH", "DEBUGINFOD_TIMEOUT", "DEBUGINFOD_MAXSIZE"}) {
    ::unsetenv(name);
  }
}

// A root another user could write would let them replace a user's cache
// directory with one of their own.
TEST(DebuginfodSettingsTest, ARootOthersMayWriteIsRefused) {
  MEMPROXY_REQUIRE(missing_root("a root owned by root is checked only as root"));
  TempDir parent(0755);
  std::string why;
  const std::string root = parent / "debuginfod";
  ASSERT_TRUE(symbols::prepare_cache_root(root, &why)) << why;
  struct stat st;
  ASSERT_EQ(::stat(root.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::chmod(root.c_str(), 01777), 0);
  EXPECT_FALSE(symbols::prepare_cache_root(root, &why));
  EXPECT_NE(why.find("writable by no one else"), std::string::npos) << why;
  EXPECT_FALSE(symbols::prepare_cache_root("relative/path", &why));
}

}  // namespace
}  // namespace memproxy::testing
