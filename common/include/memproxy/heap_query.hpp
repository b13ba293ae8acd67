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
//   {"request":"leaks"}                    -> {"processes":[VIEW...],  (trend "growing" only)
//                                              "not_judged":[VIEW...], (trend "not enough data";
//                                              absent from daemons before it)
//                                              "ended_growing":[VIEW...]} (ended within a day
//                                              while growing, latest first; absent likewise)
//   {"request":"history","pid":N}          -> HISTORY
//   {"request":"history","program":"NAME"}    (the newest such process)
//     optional "since_unix_ns", "until_unix_ns" (default: everything kept)
//   anything wrong                         -> {"error":"why"}
//   {"request":"trace","pid":N,...}        -> a stream of lines, and the
//                                             connection is the trace's
//                                             (memproxy/trace_query.hpp)
//
//   VIEW     {"process":PROCESS,"latest":SAMPLE,"allocations_per_second":X,
//             "frees_per_second":X,"verdict":VERDICT}
//   PROCESS  {"pid","start_ticks","uid","user","program","exe",
//             "started_unix_ns","ended_unix_ns"}            (ended 0 = running)
//   SAMPLE   {"unix_ns","live_bytes","peak_bytes","rss_bytes","allocations","frees"}
//   VERDICT  {"trend","finding","slope_bytes_per_hour","confidence",
//             "mann_kendall_z","observed_s","analysed_s","live_at_start_bytes",
//             "live_now_bytes","fragmentation_growing",
//             "fragmentation_slope_bytes_per_hour",
//             "first_verdict_unix_ns","first_verdict_in_s",
//             "exhaustion_unix_ns","exhaustion_in_s","memory_limit_bytes",
//             "memory_limit_source"}   (the last six may be absent, from
//             daemons before them: read as 0 and "")
//   HISTORY  {"process":PROCESS,"samples":[SAMPLE...],"truncated":BOOL,
//             "verdict":VERDICT or null}   (null: the process has ended)
//
// The call sites of one process (the types and conversions below):
//
//   {"request":"sites","pid":N}            -> SITES
//     optional "limit" (1..kMaxSites, default kDefaultSites)
//
//   SITES    {"process":PROCESS,"unix_ns","sample_mean_bytes","samples",
//             "rejected_samples","estimated_bytes","sites_total",
//             "truncated":BOOL,"symbols_error","sites":[SITE...]}
//   SITE     {"frames":[FRAME...],"estimated_bytes","estimated_blocks",
//             "samples","truncated_samples","growth_bytes_per_hour",
//             "growth_confidence","growing","first_seen_unix_ns",
//             "oldest_allocation_unix_ns","newest_allocation_unix_ns",
//             "series":[{"unix_ns","estimated_bytes"}...]}
//   FRAME    {"address","function","file","line","column","object",
//             "build_id","object_offset","inlined"}
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

// The trend words of a verdict. "not enough data" is a process not judged
// yet: it is neither growing nor stable.
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
inline constexpr const char* kNotJudged = "not_judged";
inline constexpr const char* kEndedGrowing = "ended_growing";
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
  // How it ended, as the kernel told the daemon ("exited with status 0",
  // "killed by SIGSEGV (core dumped)", "killed by the OOM killer
  // (SIGKILL)"); "" while it runs, or when the kernel did not say.
  std::string ended_how;
};

// One reading of a process's account, taken periodically (not a sampled
// allocation). Live bytes are the usable sizes of the blocks allocated and
// not yet freed, so they are exact; peak is the highest live value the
// process itself observed.
struct Reading {
  int64_t unix_ns = 0;
  uint64_t live_bytes = 0;
  uint64_t peak_bytes = 0;
  uint64_t rss_bytes = 0;     // resident set size, /proc/PID/statm
  uint64_t allocations = 0;   // allocation calls since the process started (malloc, calloc, aligned, new, ...)
  uint64_t frees = 0;         // free calls since the process started (free, delete, ...)
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
  // When the process has history enough for its first verdict, and the
  // seconds from the answer until then (0 once judged or due); both 0 when
  // the daemon makes no verdicts (it keeps no history).
  int64_t first_verdict_unix_ns = 0;
  int64_t first_verdict_in_s = 0;
  // When its memory reaches what it may use at its present growth, and the
  // seconds from the answer until then: both 0 when nothing is forecast (a
  // steady process). The limit (0 unknown) and its source ("cgroup
  // memory.max", ..., "host": what is available plus what it holds).
  int64_t exhaustion_unix_ns = 0;
  int64_t exhaustion_in_s = 0;
  uint64_t memory_limit_bytes = 0;
  std::string memory_limit_source;
};

struct View {
  Process process;
  Reading latest;
  double allocations_per_second = 0;
  double frees_per_second = 0;
  Verdict verdict;
};

struct History {
  Process process;
  std::vector<Reading> samples;  // oldest first
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
// The same of a line already parsed (query::parse_query dispatches on
// request_name first).
std::variant<Request, std::string> request_from(const nlohmann::json& request);
// The "request" string of a parsed line; "" when it has none (or the line
// is not an object).
std::string request_name(const nlohmann::json& request);
// Why a request of kind `name` is refused by a daemon that answers only
// top, leaks and history.
std::string unknown_request(const std::string& name);
// The line a client sends, without the newline.
std::string request_line(const Request& request);

// An answer as one line, without the newline; invalid UTF-8 in any string
// (program names come from processes) is replaced by U+FFFD.
std::string answer_line(const nlohmann::json& answer);
// {"error":"why"}, without the newline.
std::string error_line(const std::string& why);

void to_json(nlohmann::json& j, const Process& p);
void to_json(nlohmann::json& j, const Reading& s);
void to_json(nlohmann::json& j, const Verdict& v);
void to_json(nlohmann::json& j, const View& v);
void to_json(nlohmann::json& j, const History& h);
// Each throws nlohmann::json::exception when a field is missing or of the
// wrong type.
void from_json(const nlohmann::json& j, Process& p);
void from_json(const nlohmann::json& j, Reading& s);
void from_json(const nlohmann::json& j, Verdict& v);
void from_json(const nlohmann::json& j, View& v);
void from_json(const nlohmann::json& j, History& h);

// The answers to top and leaks, and their reading by a client.
nlohmann::json views_answer(const std::vector<View>& views);
std::vector<View> views_from_answer(const nlohmann::json& answer);
// The answer to leaks: the growing processes, those not judged yet, and
// those that ended recently while growing.
nlohmann::json leaks_answer(const std::vector<View>& growing, const std::vector<View>& not_judged,
                            const std::vector<View>& ended_growing = {});
// The processes a leaks answer says are not judged yet; nullopt from a
// daemon that does not say.
std::optional<std::vector<View>> not_judged_from_answer(const nlohmann::json& answer);
// The processes a leaks answer says ended recently while growing; none
// from a daemon that does not say.
std::vector<View> ended_growing_from_answer(const nlohmann::json& answer);

// --- Call sites -------------------------------------------------------
//
// Function, file and object names come from the binaries a process maps,
// which it may have made itself: every text is cut to kMaxFrameTextBytes
// (at a UTF-8 boundary), a site to kMaxSiteFrames frames and
// kMaxSitePoints points, an answer to kMaxSites sites and, by
// site_bytes_bound(), to kMaxSitesAnswerBytes of JSON. Both directions
// apply the same cuts (limit_site), so a reader never holds more.

inline constexpr size_t kMaxSites = 256;              // per answer
inline constexpr size_t kDefaultSites = 50;
inline constexpr size_t kMaxSiteFrames = 256;         // a site's frames, inlined ones included
inline constexpr size_t kMaxFrameTextBytes = 1024;    // function, file, object
inline constexpr size_t kMaxBuildIdBytes = 128;       // hex digits (a GNU build-id is 40)
inline constexpr size_t kMaxSitePoints = 1440;        // a site's series
inline constexpr size_t kMaxSitesAnswerBytes = 16u << 20;  // the sites of one answer, as JSON

namespace request {
inline constexpr const char* kSites = "sites";
}  // namespace request

namespace field {
inline constexpr const char* kLimit = "limit";
inline constexpr const char* kSites = "sites";
}  // namespace field

// One frame of a call site's stack, as the symbolizer resolved it. A
// return address whose code was inlined gives several frames: the inlined
// ones first (innermost first), each with `inlined` set, then the function
// they were inlined into; all of them carry the same address.
struct FrameView {
  uint64_t address = 0;        // the return address in the process
  std::string function;        // demangled; "" when unknown
  std::string file;            // source file; "" when unknown
  uint32_t line = 0;           // 0 when unknown
  uint32_t column = 0;         // 0 when unknown
  std::string object;          // the mapped file the address is in; "" when unknown
  std::string build_id;        // that file's GNU build-id, lowercase hex; "" when none
  uint64_t object_offset = 0;  // the address in the file's terms (what addr2line takes)
  bool inlined = false;        // inlined into the next frame
  friend bool operator==(const FrameView&, const FrameView&) = default;
};

struct SitePointView {
  int64_t unix_ns = 0;
  uint64_t estimated_bytes = 0;
  friend bool operator==(const SitePointView&, const SitePointView&) = default;
};

// A call site: the live samples with one stack. Estimates are unbiased
// sums over the samples (memproxy::heap::estimated_bytes), rounded.
struct SiteView {
  std::vector<FrameView> frames;  // innermost first
  uint64_t estimated_bytes = 0;
  uint64_t estimated_blocks = 0;
  uint64_t samples = 0;
  uint64_t truncated_samples = 0;   // samples whose stack is incomplete
  double growth_bytes_per_hour = 0;  // robust slope of its snapshots (Theil-Sen)
  double growth_confidence = 0;      // 1 - p of an upward trend (Mann-Kendall), 0..1
  bool growing = false;              // judged responsible for growth
  bool shrinking = false;            // shrinks as much as the growing sites grow, in a process judged stable
  int64_t first_seen_unix_ns = 0;    // when the daemon started tracking it
  int64_t oldest_allocation_unix_ns = 0;  // of its live samples, as the process wrote them
  int64_t newest_allocation_unix_ns = 0;
  std::vector<SitePointView> series;  // its estimated bytes at each snapshot, oldest first
  friend bool operator==(const SiteView&, const SiteView&) = default;
};

// A site's state in the process verdict's words: trend::kGrowing,
// "shrinking", or trend::kStable. What every view calls it.
inline const char* site_state(const SiteView& s) {
  return s.growing ? trend::kGrowing : s.shrinking ? "shrinking" : trend::kStable;
}

struct SitesRequest {
  pid_t pid = 0;
  size_t limit = kDefaultSites;
};

struct SitesAnswer {
  Process process;
  int64_t unix_ns = 0;             // when the samples were read
  uint64_t sample_mean_bytes = 0;  // the process's sampling mean then; 0 = not sampling
  uint64_t samples = 0;            // live samples, of every site
  uint64_t rejected_samples = 0;   // left out as implausible
  uint64_t estimated_bytes = 0;    // of every site, shown or not
  uint64_t sites_total = 0;        // sites in the reading
  bool truncated = false;          // more sites than shown
  std::vector<SiteView> sites;     // the growing first, then by estimated bytes
  // Why the frames name nothing but their addresses (the symbolizer failed
  // or took too long); "" when they were symbolized. Cut like a frame's texts.
  std::string symbols_error;
};

// {"request":"sites",...} (without its newline): the request, or why it is
// refused. Any other request is refused here (parse_request reads those).
std::variant<SitesRequest, std::string> parse_sites_request(const std::string& line);
std::variant<SitesRequest, std::string> sites_request_from(const nlohmann::json& request);
std::string sites_request_line(const SitesRequest& request);

// Cuts `site` to the limits above.
void limit_site(SiteView& site);
// A bound on the bytes of `site`'s JSON, whatever its texts hold (every
// byte of a text may take six escaped).
size_t site_bytes_bound(const SiteView& site);

void to_json(nlohmann::json& j, const FrameView& f);
void to_json(nlohmann::json& j, const SitePointView& p);
void to_json(nlohmann::json& j, const SiteView& s);   // limit_site applied
void to_json(nlohmann::json& j, const SitesAnswer& a);  // sites_answer's cuts applied
void from_json(const nlohmann::json& j, FrameView& f);
void from_json(const nlohmann::json& j, SitePointView& p);
void from_json(const nlohmann::json& j, SiteView& s);  // limit_site applied
void from_json(const nlohmann::json& j, SitesAnswer& a);  // at most kMaxSites sites

// The answer to sites: at most kMaxSites sites, and only as many as fit
// kMaxSitesAnswerBytes by site_bytes_bound (the first ones: the ranking
// puts the ones that matter first); "truncated" set when any were left out.
nlohmann::json sites_answer(const SitesAnswer& answer);
SitesAnswer sites_from_answer(const nlohmann::json& answer);

}  // namespace memproxy::heap_query

#endif
