// The command line's rough edges: an unknown command is named with the
// commands there are; a pid that is not one is said to be not a pid; a pid
// the daemon does not watch comes with the reason; a program's name that
// matches several processes says which it chose; and the man pages and the
// README list every command the binary has, each in its own entry.
#include <sys/wait.h>

#include <csignal>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "fake_daemon.hpp"
#include "process.hpp"
#include "memproxy/heap_query.hpp"
#include "report_test_data.hpp"

namespace {

namespace hq = memproxy::heap_query;
namespace data = report_test_data;
using memproxyctl::testing::ctl;
using memproxyctl::testing::FakeDaemon;
using memproxyctl::testing::read_file;
using memproxyctl::testing::TempDir;

// The commands `memproxyctl --help` lists.
std::vector<std::string> commands() {
  auto help = ctl({"--help"});
  std::vector<std::string> out;
  const auto at = help.out.find("Subcommands:\n");
  std::istringstream lines(at == std::string::npos ? "" : help.out.substr(at + 13));
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, std::regex(R"(  ([a-z]+) .*)"))) out.push_back(m[1]);
  }
  return out;
}

TEST(CliUsage, AnUnknownCommandIsNamedWithTheCommandsThereAre) {
  auto r = ctl({"--json", "-t", "/nonexistent/table", "frobnicate"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_EQ(r.err.find("A subcommand is required"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown command \"frobnicate\""), std::string::npos) << r.err;
  const std::vector<std::string> all = commands();
  ASSERT_GE(all.size(), 11u);
  for (const std::string& command : all) EXPECT_NE(r.err.find(command), std::string::npos) << command;
}

TEST(CliUsage, WhatIsNotAPidIsSaidToBeNotAPid) {
  const std::string huge(300, '9');
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"leaks", "abc"}, std::vector<std::string>{"leaks", huge},
        std::vector<std::string>{"leaks", "0"}, std::vector<std::string>{"trace", "abc"},
        std::vector<std::string>{"trace", "4294967297"}, std::vector<std::string>{"history", "12345678901234"}}) {
    auto r = ctl(args);
    EXPECT_EQ(r.exit_status, 2) << r.err;
    EXPECT_EQ(r.err.rfind("memproxyctl: not a pid: " + args[1], 0), 0u) << r.err;
    EXPECT_EQ(r.err.find("range"), std::string::npos) << r.err;
  }
}

// A daemon that watches nothing.
std::string watches_nothing(const std::string& line) {
  const nlohmann::json request = nlohmann::json::parse(line);
  if (request.contains("pid")) return hq::error_line("no watched process has pid " + request["pid"].dump());
  return hq::answer_line(hq::views_answer({}));
}

TEST(CliUsage, APidTheDaemonDoesNotWatchComesWithTheReason) {
  TempDir dir;
  FakeDaemon daemon(dir / "query.sock", watches_nothing);
  // Above the largest pid the kernel gives, no process has it.
  const long pid_max = std::stol(read_file("/proc/sys/kernel/pid_max"));
  const std::string never = std::to_string(pid_max + 1);
  // This test runs without libmemproxy.
  const std::string self = std::to_string(::getpid());
  for (const char* command : {"leaks", "history", "trace"}) {
    auto absent = ctl({"--query-socket", dir / "query.sock", command, never});
    EXPECT_EQ(absent.exit_status, 4);
    EXPECT_NE(absent.err.find("no watched process has pid " + never + ": no process has pid " + never),
              std::string::npos)
        << absent.err;
    auto unmapped = ctl({"--query-socket", dir / "query.sock", command, self});
    EXPECT_EQ(unmapped.exit_status, 4);
    EXPECT_NE(unmapped.err.find("no watched process has pid " + self + ": libmemproxy.so is not in /proc/" + self +
                                "/maps"),
              std::string::npos)
        << unmapped.err;
  }
}

// A monitored process the daemon does not watch (its account is meant for
// another daemon's socket) is told apart from an unmonitored one.
TEST(CliUsage, AMonitoredProcessTheDaemonDoesNotWatchIsSaidToHaveAnAccount) {
  TempDir dir;
  FakeDaemon daemon(dir / "query.sock", watches_nothing);
  memproxy::testing::Process monitored(
      {"/bin/sh", "-c", "echo started; exec sleep 60"},
      {std::string("LD_PRELOAD=") + MEMPROXY_LIBRARY, "MEMPROXY_MONITOR=1", "MEMPROXY_TABLE=" + (dir / "table")});
  ASSERT_EQ(monitored.read_line(), std::optional<std::string>("started"));
  const std::string pid = std::to_string(monitored.pid());
  // sh execs sleep: the account is sleep's once its maps show it.
  std::string maps;
  for (int i = 0; i < 200 && maps.find("memproxy-heap") == std::string::npos; ++i) {
    maps = read_file("/proc/" + pid + "/maps");
    if (maps.find("/sleep") == std::string::npos) maps.clear();
    ::usleep(10000);
  }
  ASSERT_NE(maps.find("memproxy-heap"), std::string::npos) << maps;
  auto r = ctl({"--query-socket", dir / "query.sock", "leaks", pid});
  EXPECT_EQ(r.exit_status, 4);
  EXPECT_NE(r.err.find("has a heap account, yet memproxyd does not watch it"), std::string::npos) << r.err;
  monitored.signal(SIGKILL);
}

TEST(CliUsage, AProgramsNameSaysWhichOfItsProcessesItChose) {
  TempDir dir;
  const hq::History newest = data::history(5);
  hq::View older;
  older.process = newest.process;
  older.process.pid = 4000;
  older.process.start_ticks = 100;
  hq::View chosen;
  chosen.process = newest.process;
  FakeDaemon daemon(dir / "query.sock", [&](const std::string& line) {
    if (nlohmann::json::parse(line)["request"] == "top") return hq::answer_line(hq::views_answer({older, chosen}));
    return hq::answer_line(nlohmann::json(newest));
  });
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"history", "leaky"}, std::vector<std::string>{"history", "leaky", "--csv"}}) {
    std::vector<std::string> all{"--query-socket", dir / "query.sock"};
    all.insert(all.end(), args.begin(), args.end());
    auto r = ctl(all);
    EXPECT_EQ(r.exit_status, 0) << r.err;
    const std::string said = r.out + r.err;
    EXPECT_NE(said.find("leaky names pid 4242"), std::string::npos) << said;
    EXPECT_NE(said.find("also pid 4000"), std::string::npos) << said;
    EXPECT_NE(said.find("give a pid to choose another"), std::string::npos) << said;
  }
}

// `mandoc -T lint` output of `page` at `level`, or nullopt without mandoc.
std::optional<memproxyctl::ProgramResult> mandoc(const std::vector<std::string>& args) {
  if (!std::filesystem::exists("/usr/bin/mandoc")) return std::nullopt;
  std::vector<std::string> argv{"/usr/bin/mandoc"};
  argv.insert(argv.end(), args.begin(), args.end());
  return memproxyctl::run_program(argv, {});
}

const std::string kMan = std::string(MEMPROXY_SOURCE_DIR) + "/docs/man/";

TEST(CliDocs, TheManPagesLintClean) {
  for (const char* page : {"memproxyctl.8", "memproxyd.8", "memproxy.conf.5"}) {
    auto r = mandoc({"-T", "lint", "-W", "warning", kMan + page});
    if (!r) GTEST_SKIP() << "mandoc is not installed (scripts/install-deps installs it)";
    EXPECT_EQ(r->exit_status, 0) << r->out << r->err;
    EXPECT_EQ(r->out + r->err, "") << page;
  }
  // This one is the CLI's own, and kept clean of style messages too.
  auto r = mandoc({"-T", "lint", "-W", "style", kMan + "memproxyctl.8"});
  EXPECT_EQ(r->exit_status, 0) << r->out << r->err;
  EXPECT_EQ(r->out + r->err, "");
}

TEST(CliDocs, EveryCommandHasItsOwnLineInTheSynopsisAndItsOwnEntryInTheManPage) {
  auto rendered = mandoc({"-T", "ascii", "-O", "width=78", kMan + "memproxyctl.8"});
  if (!rendered) GTEST_SKIP() << "mandoc is not installed (scripts/install-deps installs it)";
  // Without the overstrike of bold and underlined text.
  const std::string text = std::regex_replace(rendered->out, std::regex(".\b"), "");
  const auto synopsis = text.find("\nSYNOPSIS\n"), description = text.find("\nDESCRIPTION\n");
  const auto entries = text.find("\nCOMMANDS\n"), trace_section = text.find("\nTRACE\n");
  ASSERT_TRUE(synopsis < description && entries < trace_section && trace_section != std::string::npos) << text;
  for (const std::string& command : commands()) {
    EXPECT_TRUE(std::regex_search(text.substr(synopsis, description - synopsis),
                                  std::regex("\n       memproxyctl " + command + "( |\n)")))
        << command << " has no line of its own in SYNOPSIS";
    EXPECT_TRUE(std::regex_search(text.substr(entries, trace_section - entries),
                                  std::regex("\n       " + command + "( |\n)")))
        << command << " has no entry of its own in COMMANDS";
  }
}

TEST(CliDocs, TheReadmeListsEveryCommand) {
  const std::string readme = read_file(std::string(MEMPROXY_SOURCE_DIR) + "/README.md");
  const auto row = readme.find("| `memproxyctl/` |");
  ASSERT_NE(row, std::string::npos);
  const std::string line = readme.substr(row, readme.find('\n', row) - row);
  for (const std::string& command : commands()) {
    EXPECT_NE(line.find("`" + command), std::string::npos) << command << " is missing from: " << line;
  }
}

}  // namespace
