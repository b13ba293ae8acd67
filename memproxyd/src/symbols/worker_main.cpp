// memproxyd-symbolize: the sandboxed worker (sandbox.hpp) that parses
// objects for the daemon. Reads requests on stdin and writes replies on
// stdout (protocol.hpp) until its input ends; keeps its caches between
// requests, so one worker serves all of one user's processes.
//
// It trusts its requests (they come from the daemon) but not the objects
// they name: everything it reads through them is the monitored user's.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "symbols/dwarf_frames.hpp"
#include "symbols/message_io.hpp"
#include "symbols/object_files.hpp"
#include "symbols/protocol.hpp"
#include "symbols/symbolizer.hpp"

namespace {

using namespace memproxy::symbols;
using memproxy::UniqueFd;

// Seconds of CPU this process has used.
double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Its rlimit kills the worker at the soft CPU limit; it retires, asking
// for a successor, once it has used half.
double cpu_budget() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_CPU, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
  return static_cast<double>(limit.rlim_cur) / 2;
}

std::string bounded(std::string text) {
  if (text.size() > kMaxTextBytes) text.resize(kMaxTextBytes);
  return text;
}

protocol::Reply answer(Symbolizer& symbolizer, const protocol::Request& request, std::vector<UniqueFd>& fds) {
  // The Symbolizer wants sorted, disjoint mappings; the fd index of each
  // travels beside it.
  std::vector<protocol::WorkerMapping> sorted = request.mappings;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.mapping.start < b.mapping.start; });
  std::vector<Mapping> mappings;
  std::vector<int> fd_of;
  for (const protocol::WorkerMapping& m : sorted) {
    if (!mappings.empty() && mappings.back().end > m.mapping.start) continue;
    mappings.push_back(m.mapping);
    fd_of.push_back(m.fd);
  }
  const pid_t pid = static_cast<pid_t>(request.pid);
  const uid_t uid = ::getuid();
  auto open = [&](const Mapping& mapping, std::string* why) -> UniqueFd {
    const int index = fd_of[static_cast<size_t>(&mapping - mappings.data())];
    if (index < 0) return open_mapping_path(pid, mapping, why);
    std::string reason;
    UniqueFd fd = reopen_readable(fds[static_cast<size_t>(index)].get(), &reason);
    if (!fd) *why = "cannot read " + mapping.path + " as uid " + std::to_string(uid) + ": " + reason;
    return fd;
  };
  std::vector<Location> locations = symbolizer.symbolize_return_addresses(mappings, request.addresses, open);
  protocol::Reply reply;
  for (Location& location : locations) {
    reply.answers.push_back({std::move(location.build_id), std::move(location.frames), bounded(location.note)});
  }
  return reply;
}

}  // namespace

int main(int argc, char** argv) {
  // Other processes of the same user may not ptrace this one or read its
  // memory, and it never needs another process.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // It never forks; with debuginfod on, libcurl resolves names on a thread
  // of its own, which RLIMIT_NPROC would refuse too.
  rlimit no_processes{0, 0};
  if (::getuid() != 0 && ::getenv("DEBUGINFOD_URLS") == nullptr) ::setrlimit(RLIMIT_NPROC, &no_processes);
  ::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"memproxyd's symbolizing worker: started by memproxyd, speaks its protocol on stdin/stdout"};
  SymbolizerOptions options;
  app.add_option("--max-objects", options.max_objects, "parsed objects kept")->check(CLI::PositiveNumber);
  app.add_option("--max-addresses", options.max_addresses, "resolved addresses kept")->check(CLI::PositiveNumber);
  app.add_option("--debuginfo-path", options.debuginfo_path, "libdwfl's debug information search path");
  CLI11_PARSE(app, argc, argv);

  Symbolizer symbolizer(options);
  const double budget = cpu_budget();
  for (;;) {
    std::string body, why;
    std::vector<UniqueFd> fds;
    IoStatus status = read_message(0, protocol::kMaxRequestBytes, &body, &fds, &why);
    if (status == IoStatus::closed) return 0;
    if (status != IoStatus::ok) return 2;
    std::optional<protocol::Request> request = protocol::decode_request(body, fds.size(), &why);
    if (!request) return 2;
    protocol::Reply reply = answer(symbolizer, *request, fds);
    reply.retire = budget > 0 && cpu_seconds() > budget;
    const std::string encoded = protocol::encode_reply(reply);
    if (!write_all(1, protocol::header(encoded.size()) + encoded)) return 2;
    if (reply.retire) return 0;
  }
}
