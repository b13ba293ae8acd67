// A monitored CPython gives its small objects to malloc, so the heap account
// sees them; with MEMPROXY_PYTHONMALLOC=keep, a user's PYTHONMALLOC, or
// unmonitored, the interpreter keeps its own arenas (pymalloc), and no
// process gets a PYTHONMALLOC it was not given.
//
// Observed from outside the library: the account as the daemon reads it,
// against what the script holds (sys.getsizeof of its objects), and
// pymalloc's own count of blocks (sys.getallocatedblocks(), 0 when pymalloc
// serves nothing).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "harness.hpp"
#include "memproxy/heap_reader.hpp"

namespace mptest {
namespace {

using memproxy::heap::MappedAccount;
using memproxy::testing::Process;

constexpr char kPython[] = "/usr/bin/python3";
constexpr int kObjects = 200000;

// Stops twice: before and after it makes kObjects bytes objects of 73 bytes
// (sys.getsizeof); the second line says what it holds then. With a third
// argument it then runs an unmonitored interpreter (python3.11 is not in
// the table) and reports what that one sees.
constexpr char kScript[] = R"py(
import os, signal, subprocess, sys
def stop(line):
    print(line, flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
def facts():
    return "blocks=%d pythonmalloc=%s" % (sys.getallocatedblocks(), os.environ.get("PYTHONMALLOC", "-"))
n = int(sys.argv[1])
stop("start " + facts())
held = [bytes(40) for _ in range(n)]
size = sys.getsizeof(held) + sum(map(sys.getsizeof, held))
stop("held=%d " % size + facts())
if len(sys.argv) > 2:
    child = "import os, sys\nheld = [bytes(40) for _ in range(%d)]\n" % n
    child += "print('blocks=%d pythonmalloc=%s' % (sys.getallocatedblocks(), os.environ.get('PYTHONMALLOC', '-')))"
    out = subprocess.run(["/usr/bin/python3.11", "-c", child], stdout=subprocess.PIPE, check=True).stdout
    print("child " + out.decode().strip(), flush=True)
)py";

struct ScriptRun {
  uint64_t held = 0;           // what the objects and their list take, by sys.getsizeof
  bool accounted = false;      // the process had an account at both stops
  uint64_t account_grew = 0;   // the account's live bytes across making them
  uint64_t pymalloc_blocks = 0;
  std::string pythonmalloc;    // as the script's environment has it, "-" when unset
  std::map<std::string, std::string> child;  // the unmonitored child's facts, when asked for
};

class CPythonObjects : public testing::Test {
 protected:
  void SetUp() override {
    MEMPROXY_REQUIRE(memproxy::testing::run({kPython, "-c", "pass"}, {}).ok() ? "" : "no /usr/bin/python3 here");
  }

  std::vector<std::string> env(const std::vector<std::string>& extra, const std::string& config = "[monitor]\npython3\n",
                               const std::string& preload = MP_LIB64) {
    std::vector<std::string> e = env_with(preload, make_table(dir, config));
    e.insert(e.end(), extra.begin(), extra.end());
    return e;
  }

  // Runs the script and reads the account at both stops; an unmonitored
  // process has none, and its growth is then reported as 0.
  ScriptRun run_script(const std::vector<std::string>& env, const std::vector<std::string>& flags = {},
                 bool with_child = false) {
    std::vector<std::string> argv{kPython};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"-c", kScript, std::to_string(kObjects)});
    if (with_child) argv.push_back("child");
    Process p(argv, env);
    ScriptRun r;
    uint64_t live[2] = {0, 0};
    int accounts = 0;
    for (int stop = 0; stop < 2; ++stop) {
      auto line = p.read_line();
      EXPECT_TRUE(line.has_value()) << p.finish().describe();
      if (!line) return r;
      EXPECT_TRUE(p.wait_stopped()) << p.finish().describe();
      auto facts = parse_facts(*line);
      if (stop == 1) {
        r.held = std::stoull(facts["held"]);
        r.pymalloc_blocks = std::stoull(facts["blocks"]);
        r.pythonmalloc = facts["pythonmalloc"];
      }
      std::string why;
      MappedAccount account = MappedAccount::of_process(p.pid(), &why);
      if (account) {
        live[stop] = account.totals(p.pid()).live_bytes;
        ++accounts;
      }
      p.resume();
    }
    r.accounted = accounts == 2;
    r.account_grew = live[1] > live[0] ? live[1] - live[0] : 0;
    if (with_child) {
      auto line = p.read_line();
      EXPECT_TRUE(line.has_value() && line->rfind("child ", 0) == 0) << p.finish().describe();
      if (line) r.child = parse_facts(line->substr(6));
    }
    auto outcome = p.finish();
    EXPECT_TRUE(outcome.ok()) << outcome.describe();
    return r;
  }

  static std::map<std::string, std::string> parse_facts(const std::string& line) {
    std::map<std::string, std::string> kv;
    size_t at = 0;
    while (at < line.size()) {
      size_t end = line.find(' ', at);
      if (end == std::string::npos) end = line.size();
      const std::string word = line.substr(at, end - at);
      const size_t eq = word.find('=');
      if (eq != std::string::npos) kv[word.substr(0, eq)] = word.substr(eq + 1);
      at = end + 1;
    }
    return kv;
  }

  // The account covers every object: never less than their sizes, and no
  // more than the allocator's rounding of a 73-byte request (glibc: 88
  // usable bytes; jemalloc: 80) adds to it.
  static void expect_seen_whole(const ScriptRun& r) {
    EXPECT_TRUE(r.accounted);
    EXPECT_GE(r.account_grew, r.held);
    EXPECT_LE(r.account_grew, r.held + r.held / 4);
    EXPECT_EQ(r.pymalloc_blocks, 0u);
    EXPECT_EQ(r.pythonmalloc, "-");
  }

  // pymalloc serves the objects: the account sees at most the list's array,
  // about a tenth of what the script holds.
  static void expect_in_arenas(const ScriptRun& r) {
    EXPECT_TRUE(r.accounted);
    EXPECT_LT(r.account_grew, r.held / 4);
    EXPECT_GE(r.pymalloc_blocks, static_cast<uint64_t>(kObjects));
  }

  TempDir dir;
};

TEST_F(CPythonObjects, MonitoredObjectsReachTheAccountOnTheSystemAllocator) {
  ScriptRun r = run_script(env({}));
  expect_seen_whole(r);
  EXPECT_GT(r.held, 200000u * 73);
}

TEST_F(CPythonObjects, MonitoredObjectsReachTheAccountOnJemalloc) {
  const Arch a = arches().front();
  MEMPROXY_REQUIRE(a.missing(backend("jemalloc")));
  expect_seen_whole(run_script(env({}, "[monitor]\npython3\n", a.lib + ":" + a.jemalloc())));
}

// -E and -I make the interpreter ignore PYTHONMALLOC; the switch does not
// go through the environment, so they are seen whole too.
TEST_F(CPythonObjects, IsolatedInterpreterIsSeenWholeToo) {
  expect_seen_whole(run_script(env({}), {"-I"}));
}

TEST_F(CPythonObjects, KeepSwitchLeavesTheArenas) {
  ScriptRun r = run_script(env({"MEMPROXY_PYTHONMALLOC=keep"}));
  expect_in_arenas(r);
  EXPECT_EQ(r.pythonmalloc, "-");
}

TEST_F(CPythonObjects, UsersPythonmallocIsKept) {
  ScriptRun r = run_script(env({"PYTHONMALLOC=pymalloc"}));
  expect_in_arenas(r);
  EXPECT_EQ(r.pythonmalloc, "pymalloc");
  // Under -I the interpreter ignores it; it is still the user's choice, not ours to override.
  ScriptRun isolated = run_script(env({"PYTHONMALLOC=pymalloc"}), {"-I"});
  expect_in_arenas(isolated);
}

TEST_F(CPythonObjects, UnmonitoredInterpreterIsUnchanged) {
  ScriptRun r = run_script(env({}, "[exclude]\npython3\n"));
  EXPECT_FALSE(r.accounted);
  EXPECT_GE(r.pymalloc_blocks, static_cast<uint64_t>(kObjects));
  EXPECT_EQ(r.pythonmalloc, "-");
}

// A monitored interpreter's child inherits nothing of the switch: an
// unmonitored python3.11 it starts keeps pymalloc and gets no PYTHONMALLOC.
TEST_F(CPythonObjects, ChildOfAMonitoredInterpreterIsUnchanged) {
  ScriptRun r = run_script(env({}), {}, true);
  expect_seen_whole(r);
  ASSERT_EQ(r.child.count("blocks"), 1u);
  EXPECT_GE(std::stoull(r.child["blocks"]), static_cast<uint64_t>(kObjects));
  EXPECT_EQ(r.child["pythonmalloc"], "-");
}

}  // namespace
}  // namespace mptest
