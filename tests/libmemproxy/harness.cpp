#include "harness.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mptest {

Result run(const std::vector<std::string>& argv, const std::vector<std::string>& env, int timeout_seconds) {
  memproxy::testing::Options options;
  options.timeout = std::chrono::seconds(timeout_seconds);
  return memproxy::testing::run(argv, env, options);
}

std::map<std::string, std::string> parse(const std::string& out) {
  std::map<std::string, std::string> kv;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos && line.find(' ') > eq) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return kv;
}

long long number(const std::map<std::string, std::string>& kv, const std::string& key) {
  auto it = kv.find(key);
  return it == kv.end() ? -999999999 : std::stoll(it->second);
}

std::map<std::string, uint64_t> numbers_of_line(const std::string& line) {
  std::map<std::string, uint64_t> out;
  std::istringstream words(line);
  std::string word;
  while (words >> word) {
    auto eq = word.find('=');
    if (eq != std::string::npos) out[word.substr(0, eq)] = std::stoull(word.substr(eq + 1), nullptr, 0);
  }
  return out;
}

std::string function_of(uint64_t pc, const std::map<std::string, uint64_t>& functions) {
  std::string best = "?";
  uint64_t best_start = 0;
  for (const auto& [name, start] : functions) {
    if (start <= pc && start >= best_start && pc - start < 4096) {
      best = name;
      best_start = start;
    }
  }
  return best;
}


const std::vector<Backend>& custom_backends() {
  static const std::vector<Backend> all{{"jemalloc", "libjemalloc.so.2", "libjemalloc2"},
                                        {"tcmalloc", "libtcmalloc_minimal.so.4", "libtcmalloc-minimal4"},
                                        {"mimalloc", "libmimalloc.so.2", "libmimalloc2.0"},
                                        {"tbbmalloc", "libtbbmalloc_proxy.so.2", "libtbbmalloc2"}};
  return all;
}

const Backend& backend(const std::string& name) {
  for (const Backend& b : custom_backends())
    if (b.name == name) return b;
  throw std::invalid_argument("no backend " + name);
}

std::string Arch::missing_execution() const {
  if (!missing_build.empty()) return missing_build;
  return name == "32" ? memproxy::testing::missing_32bit_execution() : "";
}

std::string Arch::missing(const Backend& b) const {
  std::string why = missing_execution();
  if (!why.empty()) return why;
  return memproxy::testing::missing_file(path(b), b.package + (name == "32" ? ":i386" : ""));
}

std::vector<Arch> arches() {
  std::vector<Arch> v{{"64", MP_LIB64, MP_PROBE64, MP_PROBE_CXX64, MP_DEEPLIB64, MP_OWN_MALLOC64, MP_OWN_NEW64,
                       MP_HEAP_SITES64, "/usr/lib/x86_64-linux-gnu", ""}};
#ifdef MP_LIB32
  v.push_back({"32", MP_LIB32, MP_PROBE32, MP_PROBE_CXX32, MP_DEEPLIB32, MP_OWN_MALLOC32, MP_OWN_NEW32,
               MP_HEAP_SITES32, "/usr/lib/i386-linux-gnu", ""});
#else
  v.push_back({"32", "", "", "", "", "", "", "", "/usr/lib/i386-linux-gnu",
               "the 32-bit library was not built (MEMPROXY_BUILD_32BIT is OFF)"});
#endif
  return v;
}

void PrintTo(const Arch& arch, std::ostream* os) { *os << arch.name << "-bit"; }

std::string arch_name(const testing::TestParamInfo<Arch>& info) { return "bits" + info.param.name; }

std::string make_table(const TempDir& dir, const std::string& config, const std::string& allocator,
                       const std::string& fail_policy) {
  static int counter = 0;
  std::string n = std::to_string(++counter);
  std::string conf = dir.write("memproxy" + n + ".conf", config);
  std::string table = dir.file("table" + n);
  std::vector<std::string> argv{MP_MKTABLE, conf, table, "--fail-policy", fail_policy};
  if (!allocator.empty()) {
    argv.push_back("--allocator");
    argv.push_back(allocator);
  }
  Result r = run(argv, {"PATH=/usr/bin:/bin"});
  EXPECT_TRUE(r.exited && r.code == 0) << r.describe();
  return table;
}

std::vector<std::string> env_with(const std::string& preload, const std::string& table, bool debug) {
  std::vector<std::string> env{"PATH=/usr/bin:/bin", "LC_ALL=C"};
  if (!preload.empty()) env.push_back("LD_PRELOAD=" + preload);
  if (!table.empty()) env.push_back("MEMPROXY_TABLE=" + table);
  if (debug) env.push_back("MEMPROXY_DEBUG=1");
  return env;
}

std::vector<std::string> monitored_env(const Arch& a, const TempDir& dir, const std::string& backend_name,
                                       const std::string& program) {
  const std::string names = program + "\n" + program + "32\n";
  const bool system = backend_name == "system";
  return env_with(a.lib + ":" + a.path(backend(system ? "jemalloc" : backend_name)),
                  make_table(dir, (system ? "[exclude]\n" + names : "") + "[monitor]\n" + names));
}

}  // namespace mptest
