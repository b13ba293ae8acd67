// `memproxyctl leaks PID`: the call sites of one process, the growing ones
// first, as text, JSON, folded stacks or a pprof profile.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "commands.hpp"
#include "debug_packages.hpp"
#include "exit_codes.hpp"
#include "output.hpp"
#include "query_client.hpp"
#include "site_collapsed.hpp"
#include "site_pprof.hpp"
#include "site_text.hpp"
#include "terminal.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;

namespace {

// Writes `bytes` to `path` (created 0644 or truncated); "" or why not.
std::string write_file(const std::string& path, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return "cannot open " + path + ": " + std::strerror(errno);
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string why = "cannot write " + path + ": " + std::strerror(errno);
      ::close(fd);
      return why;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return "cannot write " + path + ": " + std::strerror(errno);
  return "";
}

}  // namespace

int cmd_sites(const GlobalOptions& options, const SitesArgs& args) {
  hq::SitesRequest request;
  request.pid = args.pid;
  request.limit = args.limit;
  return with_daemon(options, [&]() -> int {
    nlohmann::json reply = ask_line(query_socket_path(options), hq::sites_request_line(request));
    const hq::SitesAnswer answer = hq::sites_from_answer(reply);
    if (!args.pprof_path.empty()) {
      std::string error = write_file(args.pprof_path, pprof_file(answer));
      if (!error.empty()) {
        std::cerr << "memproxyctl: " << error << '\n';
        return kExitInput;
      }
    }
    if (options.json) {
      print_json(reply);
    } else if (args.collapsed) {
      std::cout << collapsed_stacks(answer);
    } else if (args.pprof_path.empty()) {
      for (const std::string& line : site_lines(answer, args.stacks, terminal_size().columns)) std::cout << line << '\n';
      for (const std::string& line : debug_package_hints(answer)) std::cout << line << '\n';
    }
    for (const hq::SiteView& s : answer.sites) {
      if (s.growing) return kExitNegative;
    }
    return kExitOk;
  }, args.pid);
}

}  // namespace memproxyctl
