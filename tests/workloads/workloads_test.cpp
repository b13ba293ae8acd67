// Real programs under the preload, in both routings.
//
// Every workload runs once without any preload and then under
// LD_PRELOAD=libmemproxy.so:libjemalloc.so.2 with a table that lists its
// programs (-> system allocator) and one that does not (-> jemalloc), and under
// the original preload order libmemproxy.so:libc.so.6:libjemalloc.so.2. Each
// run must behave exactly like the run without the preload: same exit status,
// same stdout, same stderr once memproxy's own MEMPROXY_DEBUG lines are taken
// out. The routing itself is checked from those debug lines (every process of
// the workload, children included, made the expected decision) and, for
// Python, independently of memproxy: by jemalloc's and glibc's own counters.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

const char* const kLibmemproxy = MEMPROXY_LIBRARY;
const char* const kMktable = MEMPROXY_MKTABLE;
const char* const kJemalloc = MEMPROXY_JEMALLOC;
const char* const kSourceDir = MEMPROXY_WORKLOADS_DIR;

// Every program the workloads start, by invoked or resolved name: the
// "system" table must cover children too (g++ -> cc1plus, as, collect2, ld;
// git -> its git-core helpers, which are the git binary itself).
const char* const kPrograms[] = {
    "python3", "python3.11", "g++", "g++-12", "x86_64-linux-gnu-g++-12", "cc1plus", "as",
    "x86_64-linux-gnu-as", "collect2", "ld", "ld.bfd", "x86_64-linux-gnu-ld.bfd", "prog", "git",
    "sh", "dash", "cat", "sort", "ls", "sha256sum", "wc", "tr", "uniq", "head", "seq", "cut",
    "md5sum", "tac", "gzip", "grep",
};

struct Result {
  int status = -1;  // exit status, or 128+signal
  std::string out;
  std::string err;  // stderr without memproxy's debug lines
  std::vector<std::string> decisions;  // memproxy's debug lines, in order
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << p;
}

bool is_debug_line(const std::string& line) { return line.rfind("memproxy", 0) == 0; }

enum class Routing { kNone, kSystem, kCustom, kCustomOriginalOrder };

// Also the run's directory name.
const char* name_of(Routing r) {
  switch (r) {
    case Routing::kNone: return "no-preload";
    case Routing::kSystem: return "memproxy-system";
    case Routing::kCustom: return "memproxy-jemalloc";
    case Routing::kCustomOriginalOrder: return "memproxy-libc-jemalloc";
  }
  return "?";
}

// The decision a debug line reports: "system", "custom" or "" if it names
// neither unambiguously.
std::string decision_of(const std::string& line) {
  static const std::regex kField(R"((?:decision|backend)[=: ]+\"?(system|custom))");
  std::smatch m;
  if (std::regex_search(line, m, kField)) return m[1];
  const bool sys = line.find("system") != std::string::npos;
  const bool cus = line.find("custom") != std::string::npos;
  if (sys != cus) return sys ? "system" : "custom";
  return "";
}

class Workloads : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_dir_ = new memproxy::testing::TempDir;
    std::string listed = "# every program of the workloads: routed to the system allocator\n";
    for (const char* p : kPrograms) listed += std::string(p) + "\n";
    system_table_ = new std::string(make_table("system", listed));
    custom_table_ = new std::string(make_table("custom", "# nothing here: everything goes to jemalloc\nmemproxy-workloads-no-such-program\n"));
  }

  static void TearDownTestSuite() {
    delete suite_dir_;
    delete system_table_;
    delete custom_table_;
    suite_dir_ = nullptr;
  }

  static std::string make_table(const std::string& name, const std::string& config) {
    const fs::path conf = suite_dir_->file(name + ".conf");
    const fs::path table = suite_dir_->file(name + ".table");
    spit(conf, config);
    const std::string cmd = std::string(kMktable) + " " + conf.string() + " " + table.string() +
                            " --allocator " + kJemalloc;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return table.string();
  }

  void SetUp() override { MEMPROXY_REQUIRE(memproxy::testing::missing_file(kJemalloc, "libjemalloc2")); }

  // A fixed, minimal environment so runs differ only in the preload.
  std::vector<std::string> environment(Routing routing, const fs::path& home) const {
    std::vector<std::string> env = {
        "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home.string(), "LC_ALL=C", "TZ=UTC",
        "MEMPROXY_DEBUG=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=Memproxy Test",
        "GIT_AUTHOR_EMAIL=test@memproxy.invalid", "GIT_COMMITTER_NAME=Memproxy Test",
        "GIT_COMMITTER_EMAIL=test@memproxy.invalid", "GIT_AUTHOR_DATE=2026-11-21T12:00:00Z",
        "GIT_COMMITTER_DATE=2026-11-21T12:00:00Z", "PYTHONHASHSEED=0", "PYTHONDONTWRITEBYTECODE=1",
    };
    switch (routing) {
      case Routing::kNone:
        break;
      case Routing::kSystem:
        env.push_back(std::string("LD_PRELOAD=") + kLibmemproxy + ":" + kJemalloc);
        env.push_back("MEMPROXY_TABLE=" + *system_table_);
        break;
      case Routing::kCustom:
        env.push_back(std::string("LD_PRELOAD=") + kLibmemproxy + ":" + kJemalloc);
        env.push_back("MEMPROXY_TABLE=" + *custom_table_);
        break;
      case Routing::kCustomOriginalOrder:
        env.push_back(std::string("LD_PRELOAD=") + kLibmemproxy + ":libc.so.6:" + kJemalloc);
        env.push_back("MEMPROXY_TABLE=" + *custom_table_);
        break;
    }
    return env;
  }

  // Runs argv in cwd with stdout and stderr captured to files.
  Result run(const std::vector<std::string>& argv, Routing routing, const fs::path& cwd) const {
    const fs::path out = cwd / ".stdout", err = cwd / ".stderr";
    std::vector<std::string> env = environment(routing, cwd / ".home");
    fs::create_directories(cwd / ".home");
    std::vector<char*> cargv, cenv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int in = open("/dev/null", O_RDONLY);
      if (o < 0 || e < 0 || in < 0 || chdir(cwd.c_str()) != 0) _exit(126);
      dup2(in, 0);
      dup2(o, 1);
      dup2(e, 2);
      execvpe(cargv[0], cargv.data(), cenv.data());
      _exit(127);
    }
    Result r;
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return r;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.out = slurp(out);
    std::istringstream lines(slurp(err));
    for (std::string line; std::getline(lines, line);) {
      if (is_debug_line(line))
        r.decisions.push_back(line);
      else
        r.err += line + "\n";
    }
    fs::remove(out);
    fs::remove(err);
    return r;
  }

  // Runs the same command in a fresh copy of `setup`'s directory under every
  // routing and compares each with the run without the preload. Returns the
  // baseline result.
  Result same_everywhere(const std::vector<std::string>& argv,
                         const std::function<void(const fs::path&)>& setup = {},
                         const std::function<void(const fs::path&, Routing)>& check = {}) {
    Result base;
    for (Routing routing : {Routing::kNone, Routing::kSystem, Routing::kCustom, Routing::kCustomOriginalOrder}) {
      SCOPED_TRACE(name_of(routing));
      const fs::path cwd = dir_ / name_of(routing);
      fs::create_directories(cwd);
      if (setup) setup(cwd);
      Result r = run(argv, routing, cwd);
      if (routing == Routing::kNone) {
        EXPECT_TRUE(r.decisions.empty()) << r.decisions.front();
        EXPECT_EQ(r.status, 0) << r.err;
        base = r;
      } else {
        const std::string want = routing == Routing::kSystem ? "system" : "custom";
        EXPECT_FALSE(r.decisions.empty()) << "no MEMPROXY_DEBUG line: was the library loaded?\n" << r.err;
        for (const auto& d : r.decisions) EXPECT_EQ(decision_of(d), want) << d;
        EXPECT_EQ(r.status, base.status) << r.err;
        EXPECT_EQ(r.out, base.out);
        EXPECT_EQ(r.err, base.err);
      }
      if (check) check(cwd, routing);
    }
    return base;
  }

  static fs::path source(const char* name) { return fs::path(kSourceDir) / name; }

  static inline memproxy::testing::TempDir* suite_dir_ = nullptr;
  static inline std::string* system_table_ = nullptr;
  static inline std::string* custom_table_ = nullptr;
  memproxy::testing::TempDir tmp_;
  const fs::path dir_ = tmp_.path();
};

TEST_F(Workloads, PythonJsonSqliteThreads) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_program("/usr/bin/python3", "python3"));
  const Result r = same_everywhere({"/usr/bin/python3", source("workload.py").string()});
  EXPECT_NE(r.out.find("sqlite after"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\ndone\n"), std::string::npos) << r.out;
}

// Independent of memproxy's report: which allocator's own statistics see a
// 32 MiB allocation made by the interpreter.
TEST_F(Workloads, PythonRoutingSeenByTheAllocators) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_program("/usr/bin/python3", "python3"));
  const std::vector<std::string> probe = {"/usr/bin/python3", source("routing_probe.py").string()};
  const fs::path cwd = dir_ / "probe";
  fs::create_directories(cwd);
  const Result sys = run(probe, Routing::kSystem, cwd);
  ASSERT_EQ(sys.status, 0) << sys.err;
  EXPECT_EQ(sys.out, "jemalloc_grew False\nglibc_grew True\n");
  for (Routing routing : {Routing::kCustom, Routing::kCustomOriginalOrder}) {
    SCOPED_TRACE(name_of(routing));
    const Result cus = run(probe, routing, cwd);
    ASSERT_EQ(cus.status, 0) << cus.err;
    EXPECT_EQ(cus.out, "jemalloc_grew True\nglibc_grew False\n");
  }
}

TEST_F(Workloads, GxxCompilesAndTheResultRuns) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_program("/usr/bin/g++", "g++"));
  std::map<Routing, std::string> binaries;
  same_everywhere(
      {"g++", "-O1", "-pthread", "-o", "prog", "hello.cpp"},
      [](const fs::path& cwd) { fs::copy_file(source("hello.cpp"), cwd / "hello.cpp"); },
      [&](const fs::path& cwd, Routing routing) { binaries[routing] = slurp(cwd / "prog"); });
  ASSERT_FALSE(binaries[Routing::kNone].empty());
  // The compiler produced the same bytes whichever allocator it ran on.
  for (const auto& [routing, bytes] : binaries) EXPECT_TRUE(bytes == binaries[Routing::kNone]) << name_of(routing);
  // And the C++ program (operator new, threads) runs the same under each routing.
  const fs::path built = dir_ / name_of(Routing::kNone) / "prog";
  const Result r = same_everywhere({built.string()});
  EXPECT_NE(r.out.find("nodes 3280"), std::string::npos) << r.out;
}

TEST_F(Workloads, GitInitCommitLogGc) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_program("/usr/bin/git", "git"));
  const char* script = R"sh(set -e
git init -q -b main repo
cd repo
for i in 1 2 3 4 5; do
  seq 1 $((i * 1000)) > numbers.txt
  printf 'file %s\n' "$i" > "f$i.txt"
  git add -A
  git commit -q -m "commit $i"
done
git checkout -q -b side HEAD~2
echo side > side.txt
git add side.txt
git commit -q -m side
git checkout -q main
git merge -q --no-edit side
git log --format='%H %s' --stat
git diff HEAD~3 --stat
git gc -q
git count-objects -v | grep -v size
git rev-parse HEAD^{tree}
git cat-file -p HEAD
)sh";
  const Result r = same_everywhere({"sh", "-c", script});
  EXPECT_NE(r.out.find("commit 5"), std::string::npos) << r.out;
}

TEST_F(Workloads, Coreutils) {
  const char* script = R"sh(set -e
i=0
while [ $i -lt 3000 ]; do echo "line $((i * 7919 % 3001)) $(( (i * 31) % 97 ))"; i=$((i + 1)); done > data.txt
sort -k3,3n -k2,2n data.txt | sha256sum
sort -u -k2,2 data.txt | wc -l
cut -d' ' -f3 data.txt | sort -n | uniq -c | sort -rn | head -5
tr 'a-z' 'A-Z' < data.txt | tac | md5sum
cat data.txt data.txt | gzip -9n | gzip -d | sha256sum
seq 1 100000 | sort -rn | head -3
ls -1 /usr/bin | sort | sha256sum
ls -la --time-style=+ data.txt | cut -d' ' -f1,5
)sh";
  const Result r = same_everywhere({"sh", "-c", script});
  EXPECT_NE(r.out.find("100000"), std::string::npos) << r.out;
}

// A process routed to jemalloc has libjemalloc mapped; cat reads its own maps.
TEST_F(Workloads, JemallocIsMappedInARoutedProcess) {
  const fs::path cwd = dir_ / "maps";
  fs::create_directories(cwd);
  EXPECT_EQ(run({"cat", "/proc/self/maps"}, Routing::kNone, cwd).out.find("libjemalloc"), std::string::npos);
  for (Routing routing : {Routing::kCustom, Routing::kCustomOriginalOrder}) {
    SCOPED_TRACE(name_of(routing));
    const Result r = run({"cat", "/proc/self/maps"}, routing, cwd);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("libjemalloc.so.2"), std::string::npos);
    EXPECT_NE(r.out.find("libmemproxy"), std::string::npos);
    ASSERT_FALSE(r.decisions.empty());
    EXPECT_EQ(decision_of(r.decisions.front()), "custom") << r.decisions.front();
  }
}

}  // namespace
