#include "preload_verify.hpp"

#include <sstream>

#include "platform.hpp"
#include "preload_file.hpp"
#include "process_info.hpp"
#include "run_program.hpp"

namespace memproxyctl {

Verification verify_preload(const std::vector<std::string>& entries, bool expect_memproxy,
                            const VerifyOptions& options) {
  Verification v;
  const std::string list = join_entries(entries);
  const std::string command = "LD_PRELOAD=" + list + " " + options.program + " " + platform::kVerifyArgument;
  RunLimits limits;
  limits.timeout = options.timeout;
  ProgramResult run = run_program({options.program, platform::kVerifyArgument}, {{"LD_PRELOAD", list}}, limits);
  if (!run.started) {
    v.detail = "could not start `" + command + "`";
    return v;
  }
  if (run.timed_out) {
    const auto ms = options.timeout.count();
    v.detail = "`" + command + "` did not finish within " +
               (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms") +
               " and was killed: with this list programs may hang";
    return v;
  }
  if (run.signal != 0 || run.exit_status != 0) {
    v.detail = "`" + command + "` failed (" +
               (run.signal != 0 ? "signal " + std::to_string(run.signal) : "exit " + std::to_string(run.exit_status)) +
               ")" + (run.err.empty() ? "" : ": " + run.err);
    return v;
  }
  // glibc reports an unloadable preload on stderr and carries on without it.
  if (run.err.find("ld.so") != std::string::npos || run.err.find("cannot be preloaded") != std::string::npos) {
    v.detail = "the dynamic linker rejected the preload list in `" + command + "`: " + run.err;
    return v;
  }
  if (expect_memproxy) {
    bool mapped = false;
    std::istringstream maps(run.out);
    std::string line;
    while (std::getline(maps, line)) {
      auto slash = line.find('/');
      if (slash != std::string::npos && is_memproxy_library(line.substr(slash))) mapped = true;
    }
    if (!mapped) {
      v.detail = "`" + command + "` ran, but libmemproxy.so was not mapped in it";
      return v;
    }
  }
  v.ok = true;
  v.detail = "`" + command + "` ran and mapped every library";
  return v;
}

}  // namespace memproxyctl
