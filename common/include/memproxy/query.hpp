// Every request the daemon's query socket takes, read from its line once:
// top, leaks and history (heap_query::Request), the call sites of one
// process (heap_query::SitesRequest) and a trace (trace_query::TraceRequest).
// The server parses each line here and dispatches on the result, so no
// request is read twice and no kind of request can be read by the wrong
// parser.
#ifndef MEMPROXY_QUERY_HPP
#define MEMPROXY_QUERY_HPP

#include <string>
#include <variant>

#include "memproxy/heap_query.hpp"
#include "memproxy/trace_query.hpp"

namespace memproxy::query {

// Why a line is not a request: the text of its {"error":...} answer.
struct Refusal {
  std::string why;
};

using Query = std::variant<Refusal, heap_query::Request, heap_query::SitesRequest, trace_query::TraceRequest>;

// The request on `line` (without its newline). Never throws, whatever the
// line holds.
Query parse_query(const std::string& line);

}  // namespace memproxy::query

#endif
