// The trace request of the heap watch's query socket: every allocator call
// of one monitored process, streamed while its trace ring is on. Spoken by
// memproxyd's query server and `memproxyctl trace`; the one definition of
// the request, its lines and their limits.
//
// Unlike the other requests (memproxy/heap_query.hpp), one request gets a
// stream of lines, and the connection is the trace's: it carries no other
// request, and closing it ends the trace.
//
//   {"request":"trace","pid":N}
//     optional "seconds" (kMinSeconds..kMaxSeconds, default kDefaultSeconds),
//              "min_size" (calls with a smaller size argument are not traced;
//                          default 0: every call)
//
//   refused                -> {"error":"why"}, then the daemon closes
//   accepted, the ring on  -> {"tracing":PROCESS,"seconds","min_size"}
//   then, as calls come    -> {"records":[RECORD...],"callers":[CALLER...]}
//   last                   -> {"summary":SUMMARY}, then the daemon closes
//
//   PROCESS  as heap_query.hpp's
//   RECORD   {"unix_ns","tid","op","size","pointer","result","caller"}
//            op: the allocator function (allocator_family.hpp's names, "?"
//            for a number the daemon does not know); size: the size
//            argument (0: none); pointer: the pointer argument (0: none);
//            result: the pointer the call returned (posix_memalign's: the
//            one it stored; 0: none);
//            caller: the return address into the program
//   CALLER   {"address","frames":[FRAME...],"error"}   one per distinct
//            caller of the batch; frames innermost first (heap_query.hpp's
//            FRAME). When no function is known, "error" says why, and
//            frames are empty or one frame with the object and offset only
//   SUMMARY  {"records","dropped","undelivered","reason"}
//            records: read from the process's ring; dropped: calls the
//            process could not write because the ring was full;
//            undelivered: records read but not sent because the client
//            read too slowly or the symbolizer could not keep up;
//            reason: one of reason:: below
//
// The daemon traces a process for its owner or root only (anyone else is
// told there is no such process), one trace per process at a time (a second
// is refused, saying so), and switches the ring off when the trace ends:
// its time is up, the client closes, the process ends or the daemon stops.
#ifndef MEMPROXY_TRACE_QUERY_HPP
#define MEMPROXY_TRACE_QUERY_HPP

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "memproxy/heap_query.hpp"

namespace memproxy::trace_query {

inline constexpr uint32_t kMinSeconds = 1;
inline constexpr uint32_t kMaxSeconds = 3600;
inline constexpr uint32_t kDefaultSeconds = 10;
// A batch line: at most this many records and callers; a reader may refuse
// a longer line.
inline constexpr size_t kMaxBatchRecords = 16384;
inline constexpr size_t kMaxCallerFrames = 64;
inline constexpr size_t kMaxLineBytes = 64u << 20;

namespace request {
inline constexpr const char* kTrace = "trace";
}  // namespace request

namespace field {
inline constexpr const char* kSeconds = "seconds";
inline constexpr const char* kMinSize = "min_size";
inline constexpr const char* kTracing = "tracing";
inline constexpr const char* kRecords = "records";
inline constexpr const char* kCallers = "callers";
inline constexpr const char* kSummary = "summary";
}  // namespace field

// Why a trace ended.
namespace reason {
inline constexpr const char* kTimeUp = "time is up";
inline constexpr const char* kClientClosed = "the client closed the connection";
inline constexpr const char* kProcessEnded = "the process ended";
inline constexpr const char* kDaemonStopped = "the daemon stopped";
}  // namespace reason

struct TraceRequest {
  pid_t pid = 0;
  uint32_t seconds = kDefaultSeconds;
  uint64_t min_size = 0;
  friend bool operator==(const TraceRequest&, const TraceRequest&) = default;
};

struct Started {
  heap_query::Process process;
  uint32_t seconds = 0;
  uint64_t min_size = 0;
};

struct Record {
  int64_t unix_ns = 0;
  uint32_t tid = 0;
  std::string op;
  uint64_t size = 0;
  uint64_t pointer = 0;
  uint64_t result = 0;
  uint64_t caller = 0;
  friend bool operator==(const Record&, const Record&) = default;
};

struct Caller {
  uint64_t address = 0;
  std::vector<heap_query::FrameView> frames;  // innermost first; empty when `error` says why
  std::string error;
  friend bool operator==(const Caller&, const Caller&) = default;
};

struct Batch {
  std::vector<Record> records;  // in the order the process made the calls
  std::vector<Caller> callers;  // the distinct callers of `records`
  friend bool operator==(const Batch&, const Batch&) = default;
};

struct Summary {
  uint64_t records = 0;
  uint64_t dropped = 0;
  uint64_t undelivered = 0;
  std::string reason;
  friend bool operator==(const Summary&, const Summary&) = default;
};

// {"error":"why"}: the trace was refused.
struct Refused {
  std::string error;
};

// A line the daemon sends, as a client reads it.
using Line = std::variant<Started, Batch, Summary, Refused>;

// {"request":"trace",...} (without its newline): the request, or why it is
// refused. Any other request is refused here.
std::variant<TraceRequest, std::string> parse_trace_request(const std::string& line);
// The same of a line already parsed (query::parse_query dispatches on
// heap_query::request_name first).
std::variant<TraceRequest, std::string> trace_request_from(const nlohmann::json& request);
std::string trace_request_line(const TraceRequest& request);

// The daemon's lines, without the newline. Texts are cut to
// heap_query::kMaxFrameTextBytes at a UTF-8 boundary, a caller to
// kMaxCallerFrames frames and a batch to kMaxBatchRecords records; invalid
// UTF-8 is replaced.
std::string started_line(const Started& started);
std::string batch_line(const Batch& batch);
std::string summary_line(const Summary& summary);

// One line as a client reads it; the same cuts as above apply. Why not,
// when the line is not one of the daemon's.
std::variant<Line, std::string> parse_line(const std::string& line);

// The callers of `batch` by address (the first of any repeated one): what
// each record's `caller` names, or nothing.
std::map<uint64_t, const Caller*> callers_by_address(const Batch& batch);

}  // namespace memproxy::trace_query

#endif
