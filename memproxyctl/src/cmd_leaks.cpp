// `memproxyctl leaks`: the watched processes whose verdict is growing, with
// the evidence.
#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "heap_tables.hpp"
#include "output.hpp"
#include "query_client.hpp"
#include "terminal.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;

int cmd_leaks(const GlobalOptions& options) {
  hq::Request request;
  request.name = hq::request::kLeaks;
  return with_daemon(options, [&] {
    nlohmann::json answer = ask(query_socket_path(options), request);
    std::vector<hq::View> leaks = hq::views_from_answer(answer);
    if (options.json) {
      print_json(answer);
    } else {
      for (const std::string& line : leak_lines(leaks, terminal_size().columns)) std::cout << line << '\n';
    }
    return leaks.empty() ? kExitOk : kExitNegative;
  });
}

}  // namespace memproxyctl
