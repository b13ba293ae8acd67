// What the query socket answers, apart from the socket: a request of a
// given user, answered from the watch state, as the JSON of
// memproxy/heap_query.hpp. Pure, so that visibility and every answer's
// content are tested without a connection.
#ifndef MEMPROXYD_HEAPWATCH_QUERY_ANSWERS_HPP
#define MEMPROXYD_HEAPWATCH_QUERY_ANSWERS_HPP

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include "heapwatch/process_view.hpp"
#include "memproxy/heap_query.hpp"

namespace memproxy::heapwatch {

// Root sees every process; any other user only the processes of their uid.
inline bool visible_to(uid_t peer, uid_t owner) { return peer == 0 || peer == owner; }

heap_query::Process to_wire(const WatchedProcess& p);
heap_query::Sample to_wire(const Sample& s);
heap_query::Verdict to_wire(const VerdictSummary& v);
heap_query::View to_wire(const ProcessView& v);

// The answer to `request` from user `peer`: never throws for any request
// parse_request() accepted; {"error":...} when there is nothing to show.
nlohmann::json answer(const heap_query::Request& request, uid_t peer, const WatchState& state);

}  // namespace memproxy::heapwatch

#endif
