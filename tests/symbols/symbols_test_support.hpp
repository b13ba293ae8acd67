// What the symbolizer's tests share: the test programs (sym_target and its
// library, map_exec) run and read, a client that starts the build tree's
// worker, and the build-id as readelf(1) reports it.
//
// The worker always runs as another user (the target's, nobody for
// root's), so it is started from a copy staged for that user (staged.hpp),
// never from the build tree, which that user may not reach.
#ifndef MEMPROXY_TESTS_SYMBOLS_SUPPORT_HPP
#define MEMPROXY_TESTS_SYMBOLS_SUPPORT_HPP

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "process.hpp"
#include "run_command.hpp"
#include "staged.hpp"
#include "symbols/symbolizer_client.hpp"

namespace memproxy::testing {

// One "WHAT ADDRESS LINE CALL_LINE" line of sym_target.
struct Call {
  uint64_t address = 0;
  int line = 0;
  int call_line = 0;
};

// A running sym_target (or any program printing such lines), stopped
// after it printed them; killed when the object goes.
class Target {
 public:
  Target(std::vector<std::string> argv, std::vector<std::string> env = {}) : process_(std::move(argv), std::move(env)) {
    while (auto line = process_.read_line()) {
      if (*line == "ready") break;
      std::istringstream in(*line);
      std::string what, address;
      in >> what;
      if (what == "object" || what == "mapped") {
        std::string name;
        in >> name >> address;
        objects_[name] = std::stoull(address, nullptr, 16);
        continue;
      }
      Call call;
      in >> address >> call.line >> call.call_line;
      call.address = std::stoull(address, nullptr, 16);
      calls_[what] = call;
    }
    stopped_ = process_.wait_stopped();
  }
  ~Target() { process_.signal(SIGKILL); }

  bool stopped() const { return stopped_; }
  pid_t pid() const { return process_.pid(); }
  const Call& call(const std::string& what) { return calls_.at(what); }
  uint64_t object(const std::string& name) { return objects_.at(name); }
  const std::map<std::string, Call>& calls() const { return calls_; }
  const std::map<std::string, uint64_t>& objects() const { return objects_; }
  std::string output() { return process_.finish(std::chrono::milliseconds(100)).describe(); }

 private:
  Process process_;
  std::map<std::string, Call> calls_;
  std::map<std::string, uint64_t> objects_;
  bool stopped_ = false;
};

// Options whose worker is the build tree's, staged in `staged` (copied on
// the first call). Callers first MEMPROXY_REQUIRE(staged.missing()).
inline symbols::ClientOptions worker_options(StagedForOtherUser& staged) {
  symbols::ClientOptions options;
  options.worker_command = {staged.program(MEMPROXY_SYMBOLIZE_WORKER_BIN)};
#if defined(__SANITIZE_ADDRESS__)
  // A sanitized worker reserves terabytes of shadow address space.
  options.limits.address_space_bytes = 0;
#endif
  return options;
}

// The "Build ID:" readelf -n prints for `path`.
inline std::string readelf_build_id(const std::string& path) {
  std::string out = run_command("readelf -n '" + path + "'");
  size_t at = out.find("Build ID: ");
  if (at == std::string::npos) return "";
  size_t begin = at + 10;
  return out.substr(begin, out.find_first_of("\n ", begin) - begin);
}

inline bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

inline std::string describe_all(const std::vector<symbols::Location>& locations) {
  std::string out;
  for (const auto& location : locations) out += symbols::describe(location) + " {" + location.note + "}\n";
  return out;
}

}  // namespace memproxy::testing

#endif
