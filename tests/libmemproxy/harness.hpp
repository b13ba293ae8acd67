// Running the probe programs under a chosen preload, table and environment.
#ifndef MEMPROXY_TESTS_LIBMEMPROXY_HARNESS_HPP
#define MEMPROXY_TESTS_LIBMEMPROXY_HARNESS_HPP

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>

#include <vector>

#include "capability.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mptest {

using Result = memproxy::testing::Outcome;

// Runs argv with exactly `env` (nothing inherited); a run that outlives
// `timeout_seconds` is killed and reported as timed_out (a deadlock fails, never hangs).
Result run(const std::vector<std::string>& argv, const std::vector<std::string>& env, int timeout_seconds = 120);

// key=value lines of a probe's stdout.
std::map<std::string, std::string> parse(const std::string& out);

using memproxy::testing::TempDir;

// A custom allocator the tests route to, as Debian packages it.
struct Backend {
  std::string name;     // "jemalloc", ...
  std::string file;     // the preloadable object, in the bitness's libdir
  std::string package;  // Debian package (":i386" is added for 32-bit)
};
const std::vector<Backend>& custom_backends();
const Backend& backend(const std::string& name);

// One build flavour: the library and the test programs of one bitness.
struct Arch {
  std::string name;  // "64" or "32"
  std::string lib;
  std::string probe;
  std::string probe_cxx;
  std::string deeplib;
  std::string own_malloc;  // programs that bring their own allocator
  std::string own_new;
  std::string heap_sites;  // known call sites for the sampling and trace tests
  std::string libdir;         // the system's library directory for this bitness
  std::string missing_build;  // why this bitness was not built, "" when it was

  std::string path(const Backend& b) const { return libdir + "/" + b.file; }
  std::string jemalloc() const { return path(backend("jemalloc")); }
  // Why this bitness's programs cannot run here ("" when they can).
  std::string missing_execution() const;
  // Why `b` cannot be routed to here: programs that cannot run, or the package missing.
  std::string missing(const Backend& b) const;
};
// Both bitnesses, always: one that was not built or cannot run here is
// reported by each test as SKIPPED with the reason, never left out.
std::vector<Arch> arches();
void PrintTo(const Arch& arch, std::ostream* os);
std::string arch_name(const testing::TestParamInfo<Arch>& info);

// A fixture for tests that run a bitness's programs: skipped with the reason
// where they cannot run, or where what needs() names is missing.
class RunsArch : public testing::TestWithParam<Arch> {
 protected:
  void SetUp() override { MEMPROXY_REQUIRE(needs()); }
  virtual std::string needs() const { return a.missing_execution(); }
  const Arch& a = GetParam();
};

// A table from `config` text, written by the 64-bit memproxy-mktable.
std::string make_table(const TempDir& dir, const std::string& config, const std::string& allocator = "",
                       const std::string& fail_policy = "system");

// The environment of a probe run.
std::vector<std::string> env_with(const std::string& preload, const std::string& table, bool debug = true);

// The environment that runs `program` (and its 32-bit build, `program`
// + "32") monitored under `backend_name`: a custom backend preloaded after
// the library, or "system", the system allocator of a process that
// preloads jemalloc ([exclude] and [monitor] both name the program).
std::vector<std::string> monitored_env(const Arch& a, const TempDir& dir, const std::string& backend_name,
                                       const std::string& program);

long long number(const std::map<std::string, std::string>& kv, const std::string& key);

// The numbers of one "a=0x10 b=20" line: {a: 16, b: 20}.
std::map<std::string, uint64_t> numbers_of_line(const std::string& line);

// Which of a program's functions (name -> start address, as it printed
// them) a return address lies in: the nearest start at or below it, within
// 4 KiB; "?" for none.
std::string function_of(uint64_t pc, const std::map<std::string, uint64_t>& functions);

}  // namespace mptest

#endif
