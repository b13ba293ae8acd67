#include "history_request.hpp"

#include <chrono>
#include <tuple>

#include "pid_text.hpp"
#include "query_client.hpp"
#include "terminal_text.hpp"
#include "time_spec.hpp"
#include "output.hpp"
#include "memproxy/clock.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

std::variant<hq::Request, std::string> history_request(const std::string& target, bool force_name,
                                                       const std::string& since, const std::string& until,
                                                       int64_t now) {
  hq::Request request;
  request.name = hq::request::kHistory;
  if (all_digits(target) && !force_name) {
    request.pid = parse_pid(target);
    if (!request.pid) return not_a_pid(target) + " (--name takes it as a program's name)";
  } else {
    request.program = target;
  }
  for (auto [text, destination, option] : {std::tuple{&since, &request.since_unix_ns, "--since"},
                                           std::tuple{&until, &request.until_unix_ns, "--until"}}) {
    if (text->empty()) continue;
    auto parsed = parse_time_spec(*text, now);
    if (auto* why = std::get_if<std::string>(&parsed)) return std::string(option) + ": " + *why;
    *destination = std::get<int64_t>(parsed);
  }
  return request;
}

std::string chosen_process_note(const std::string& program, const hq::Process& chosen,
                                const std::vector<hq::View>& running) {
  std::vector<std::string> others;
  for (const hq::View& v : running) {
    if (v.process.program != program) continue;
    if (v.process.pid == chosen.pid && v.process.start_ticks == chosen.start_ticks) continue;
    others.push_back("pid " + std::to_string(v.process.pid) + " (started " + format_unix_ns(v.process.started_unix_ns) + ")");
  }
  if (others.empty()) return "";
  std::string note = terminal_safe(program) + " names pid " + std::to_string(chosen.pid) + " (started " +
                     format_unix_ns(chosen.started_unix_ns) + "), the newest of the watched processes so named; also ";
  for (size_t i = 0; i < others.size(); ++i) note += (i == 0 ? "" : ", ") + others[i];
  return note + ": give a pid to choose another";
}

std::string chosen_process_note(const std::string& socket, const hq::Request& request, const hq::Process& chosen) {
  if (!request.program) return "";
  hq::Request top;
  top.name = hq::request::kTop;
  try {
    return chosen_process_note(*request.program, chosen, hq::views_from_answer(ask(socket, top)));
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace memproxyctl
