#include "history_request.hpp"

#include <chrono>
#include <tuple>

#include "time_spec.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;

namespace {

// Under ten digits: every such number is a valid pid_t.
bool all_digits(const std::string& s) {
  return !s.empty() && s.size() < 10 && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

std::variant<hq::Request, std::string> history_request(const std::string& target, bool force_name,
                                                       const std::string& since, const std::string& until,
                                                       int64_t now) {
  hq::Request request;
  request.name = hq::request::kHistory;
  if (all_digits(target) && !force_name) {
    request.pid = static_cast<pid_t>(std::stol(target));
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

int64_t now_unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace memproxyctl
