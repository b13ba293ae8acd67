// The heap watch's query protocol, spoken on memproxyd's query socket
// (query.sock beside the table) and by memproxyctl top, leaks and history.
// The one definition of its requests, field names, JSON shapes and limits:
// the daemon writes and the CLI reads through the conversions below, so the
// two sides cannot drift.
//
// One JSON object per line in each direction, one answer per request, in
// order:
//
//   {"request":"top"}                      -> {"processes":[VIEW...]}
//   {"request":"leaks"}                    -> {"processes":[VIEW...]}  (trend "growing" only)
//   {"request":"history","pid":N}          -> HISTORY
//   {"request":"history","program":"NAME"}    (the newest such process)
//     optional "since_unix_ns", "until_unix_ns" (default: everything kept)
//   anything wrong                         -> {"error":"why"}
//
//   VIEW     {"process":PROCESS,"latest":SAMPLE,"allocations_per_second":X,
//             "frees_per_second":X,"verdict":VERDICT}
//   PROCESS  {"pid","start_ticks","uid","user","program","exe",
//             "started_unix_ns","ended_unix_ns"}            (ended 0 = running)
//   SAMPLE   {"unix_ns","live_bytes","peak_bytes","rss_bytes","allocations","frees"}
//   VERDICT  {"trend","finding","slope_bytes_per_hour","confidence",
//             "mann_kendall_z","observed_s","analysed_s","live_at_start_bytes",
//             "live_now_bytes","fragmentation_growing",
//             "fragmentation_slope_bytes_per_hour"}
//   HISTORY  {"process":PROCESS,"samples":[SAMPLE...],"truncated":BOOL,
//             "verdict":VERDICT or null}   (null: the process has ended)
//
// Visibility: the daemon answers with the processes of the connecting
// user (the kernel's SO_PEERCRED uid) only, every process for root; a
// process the user may not see is answered as if it did not exist.
#ifndef MEMPROXY_HEAP_QUERY_HPP
#define MEMPROXY_HEAP_QUERY_HPP

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace memproxy::heap_query {

// Limits the daemon enforces; a client may rely on them.
inline constexpr size_t kMaxRequestBytes = 64 * 1024;      // one request line, newline included
inline constexpr size_t kMaxClients = 64;                  // connections served at once
inline constexpr std::chrono::seconds kIdleTimeout{10};    // silence after which a client is closed
inline constexpr size_t kMaxHistorySamples = 100000;       // per answer; the newest are kept, "truncated" says so
inline constexpr size_t kMaxResponseBytes = 64u << 20;     // a client may refuse a longer answer line

namespace request {
inline constexpr const char* kTop = "top";
inline constexpr const char* kLeaks = "leaks";
inline constexpr const char* kHistory = "history";
}  // namespace request

// The trend words of a verdict.
namespace trend {
inline constexpr const char* kGrowing = "growing";
inline constexpr const char* kStable = "stable";
inline constexpr const char* kNotEnoughData = "not enough data";
}  // namespace trend

namespace field {
inline constexpr const char* kRequest = "request";
inline constexpr const char* kPid = "pid";
inline constexpr const char* kProgram = "program";
inline constexpr const char* kSince = "since_unix_ns";
inline constexpr const char* kUntil = "until_unix_ns";
inline constexpr const char* kError = "error";
inline constexpr const char* kProcesses = "processes";
inline constexpr const char* kProcess = "process";
inline constexpr const char* kSamples = "samples";
inline constexpr const char* kTruncated = "truncated";
inline constexpr const char* kVerdict = "verdict";
}  // namespace field

struct Process {
  pid_t pid = 0;
  uint64_t start_ticks = 0;
  uid_t uid = 0;
  std::string user;
  std::string program;
  std::string exe;
  int64_t started_unix_ns = 0;
  int64_t ended_unix_ns = 0;
};

struct Sample {
  int64_t unix_ns = 0;
  uint64_t live_bytes = 0;
  uint64_t peak_bytes = 0;
  uint64_t rss_bytes = 0;
  uint64_t allocations = 0;
  uint64_t frees = 0;
};

struct Verdict {
  std::string trend = trend::kNotEnoughData;
  std::string finding;
  double slope_bytes_per_hour = 0;
  double confidence = 0;
  double mann_kendall_z = 0;
  int64_t observed_s = 0;
  int64_t analysed_s = 0;
  uint64_t live_at_start_bytes = 0;
  uint64_t live_now_bytes = 0;
  bool fragmentation_growing = false;
  double fragmentation_slope_bytes_per_hour = 0;
};

struct View {
  Process process;
  Sample latest;
  double allocations_per_second = 0;
  double frees_per_second = 0;
  Verdict verdict;
};

struct History {
  Process process;
  std::vector<Sample> samples;  // oldest first
  bool truncated = false;       // older samples were left out (kMaxHistorySamples)
  std::optional<Verdict> verdict;
};

struct Request {
  std::string name;  // one of request::
  // history: exactly one of these
  std::optional<pid_t> pid;
  std::optional<std::string> program;
  int64_t since_unix_ns = 0;
  int64_t until_unix_ns = std::numeric_limits<int64_t>::max();
};

// A request line (without its newline) as the daemon reads it: the request,
// or why it is refused (the text of the {"error":...} answer).
std::variant<Request, std::string> parse_request(const std::string& line);
// The line a client sends, without the newline.
std::string request_line(const Request& request);

// An answer as one line, without the newline; invalid UTF-8 in any string
// (program names come from processes) is replaced by U+FFFD.
std::string answer_line(const nlohmann::json& answer);
// {"error":"why"}, without the newline.
std::string error_line(const std::string& why);

void to_json(nlohmann::json& j, const Process& p);
void to_json(nlohmann::json& j, const Sample& s);
void to_json(nlohmann::json& j, const Verdict& v);
void to_json(nlohmann::json& j, const View& v);
void to_json(nlohmann::json& j, const History& h);
// Each throws nlohmann::json::exception when a field is missing or of the
// wrong type.
void from_json(const nlohmann::json& j, Process& p);
void from_json(const nlohmann::json& j, Sample& s);
void from_json(const nlohmann::json& j, Verdict& v);
void from_json(const nlohmann::json& j, View& v);
void from_json(const nlohmann::json& j, History& h);

// The answers to top and leaks, and their reading by a client.
nlohmann::json views_answer(const std::vector<View>& views);
std::vector<View> views_from_answer(const nlohmann::json& answer);

}  // namespace memproxy::heap_query

#endif
