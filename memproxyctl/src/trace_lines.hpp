// What `memproxyctl trace` prints of a trace stream
// (memproxy/trace_query.hpp): one line per call, a header and a summary,
// or one JSON object per call. Pure, so the output is testable.
#ifndef MEMPROXYCTL_TRACE_LINES_HPP
#define MEMPROXYCTL_TRACE_LINES_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "memproxy/trace_query.hpp"

namespace memproxyctl {

// --filter's argument: "size>=N", N in bytes or with a binary unit (K, KiB,
// M, MiB, G, GiB); the smallest size traced, or why the text is not one.
std::variant<uint64_t, std::string> parse_size_filter(const std::string& text);

// "tracing pid N (PROGRAM, user U) for S s, calls of at least M bytes;
// Ctrl-C ends it" and the column heads.
std::string started_text(const memproxy::trace_query::Started& started);
std::string column_heads();
// One call: its local time (microseconds, `utc_offset_s` east of UTC),
// thread, function, size, pointer argument, result, and the caller's
// innermost function with its file:line (or its address, object and why
// there is no function). `caller` may be nullptr (the daemon named none).
std::string record_text(const memproxy::trace_query::Record& record, const memproxy::trace_query::Caller* caller,
                        int64_t utc_offset_s);
std::string summary_text(const memproxy::trace_query::Summary& summary);

// --json: one object per call, the caller inlined.
nlohmann::json record_json(const memproxy::trace_query::Record& record, const memproxy::trace_query::Caller* caller);

}  // namespace memproxyctl

#endif
