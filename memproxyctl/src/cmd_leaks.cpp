// `memproxyctl leaks`: the watched processes whose verdict is growing, with
// the evidence, and those not judged yet: nothing growing is all clear only
// when every watched process was judged. Then those that ended while
// growing in the last day, which do not change the exit status: it says
// what runs now.
#include <chrono>
#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "heap_tables.hpp"
#include "human_units.hpp"
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
    // A daemon before the not-judged list does not say: its answer is taken as before.
    std::optional<std::vector<hq::View>> not_judged = hq::not_judged_from_answer(answer);
    if (options.json) {
      print_json(answer);
    } else {
      const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
      for (const std::string& line : leaks_report(leaks, not_judged, terminal_size().columns, local_utc_offset_s(now))) {
        std::cout << line << '\n';
      }
      for (const std::string& line : ended_growing_lines(hq::ended_growing_from_answer(answer), local_utc_offset_s(now))) {
        std::cout << line << '\n';
      }
    }
    if (!leaks.empty()) return kExitNegative;
    return not_judged && !not_judged->empty() ? kExitNotJudged : kExitOk;
  });
}

}  // namespace memproxyctl
