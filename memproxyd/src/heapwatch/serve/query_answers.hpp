// What the query socket answers, apart from the socket: a request of a
// given user, answered from the watch state, as the JSON of
// memproxy/heap_query.hpp. Pure, so that visibility and every answer's
// content are tested without a connection.
#ifndef MEMPROXYD_HEAPWATCH_QUERY_ANSWERS_HPP
#define MEMPROXYD_HEAPWATCH_QUERY_ANSWERS_HPP

#include <sys/types.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "heapwatch/analysis/process_view.hpp"
#include "memproxy/heap_query.hpp"

namespace memproxy::heapwatch {

// Root sees every process; any other user only the processes of their uid.
inline bool visible_to(uid_t peer, uid_t owner) { return peer == 0 || peer == owner; }

// Of the processes `peer` may see that `named` accepts, the one started
// last (a pid is reused: the newest is the one a user means); none when
// there is none. Whatever order `processes` is in.
std::optional<WatchedProcess> newest_visible(const std::vector<WatchedProcess>& processes, uid_t peer,
                                             const std::function<bool(const WatchedProcess&)>& named);


// An answer before it is JSON: what the request asks, copied out of the
// watch state. Collecting it is cheap and must happen where the state is
// read (the daemon's loop); turning it into JSON is the costly part (a
// full history is about 10 MB of text) and may happen anywhere.
// The answer to leaks: what grows, and what is not judged yet (so that
// nothing growing never reads as nothing judged).
struct LeaksViews {
  std::vector<heap_query::View> growing;
  std::vector<heap_query::View> not_judged;  // soonest first verdict first
  std::vector<heap_query::View> ended_growing;  // WatchState::ended_growing
};

struct Answer {
  std::variant<std::vector<heap_query::View>, heap_query::History, std::string /* error */, heap_query::SitesAnswer,
               LeaksViews>
      content;
};

// Hands what `request` from user `peer` gets to `done`, on the watch
// state's thread: at once for top and leaks, later for a history the state
// must look up in its store. Never throws for any request parse_request()
// accepted (an error answer when there is nothing to show); `state` must
// outlive the call.
void collect(const heap_query::Request& request, uid_t peer, const WatchState& state,
             std::function<void(Answer)> done);
nlohmann::json to_json(const Answer& answer);
// A bound on the length of to_json(answer)'s line, in bytes, from the
// sizes measured of views (about 625 bytes) and samples (about 105), with
// room for long names: what the server reserves of its answer budget
// while the line is being made.
size_t line_bytes_bound(const Answer& answer);

}  // namespace memproxy::heapwatch

#endif
