#include "heapwatch/serve/query_answers.hpp"

#include <algorithm>
#include <limits>
#include <optional>

#include "memproxy/program_name.hpp"

namespace memproxy::heapwatch {

namespace hq = memproxy::heap_query;

namespace {

std::vector<hq::View> visible_views(uid_t peer, const WatchState& state) {
  std::vector<hq::View> out;
  for (const ProcessView& v : state.views()) {
    if (visible_to(peer, v.process.uid)) out.push_back(v);
  }
  return out;
}

LeaksViews visible_leaks(uid_t peer, const WatchState& state) {
  LeaksViews out;
  for (hq::View& v : visible_views(peer, state)) {
    if (v.verdict.trend == hq::trend::kGrowing) {
      out.growing.push_back(std::move(v));
    } else if (v.verdict.trend != hq::trend::kStable) {
      out.not_judged.push_back(std::move(v));
    }
  }
  // Those never to be judged (no history kept: 0) last.
  std::stable_sort(out.not_judged.begin(), out.not_judged.end(), [](const hq::View& a, const hq::View& b) {
    auto key = [](const hq::View& v) {
      return v.verdict.first_verdict_unix_ns == 0 ? std::numeric_limits<int64_t>::max() : v.verdict.first_verdict_unix_ns;
    };
    return key(a) < key(b);
  });
  for (const ProcessView& v : state.ended_growing()) {
    if (visible_to(peer, v.process.uid)) out.ended_growing.push_back(v);
  }
  return out;
}

// The newest process the request names that `peer` may see.
std::optional<WatchedProcess> named_process(const hq::Request& request, uid_t peer,
                                            const std::vector<WatchedProcess>& known) {
  return newest_visible(known, peer, [&](const WatchedProcess& p) {
    return request.pid ? p.pid == *request.pid : process::program_matches(p.program, p.exe, *request.program);
  });
}

std::string not_found(const hq::Request& request) {
  return request.pid ? "no watched process has pid " + std::to_string(*request.pid)
                     : "no watched process is called " + *request.program;
}

void history_of(const hq::Process& process, const hq::Request& request, const WatchState& state,
                std::function<void(Answer)> done) {
  state.history(id_of(process), request.since_unix_ns, request.until_unix_ns,
                [process, &state, done = std::move(done)](Result<std::vector<Reading>> samples) {
                  if (!samples) {
                    done({"cannot read the history of pid " + std::to_string(process.pid) + ": " + samples.error()});
                    return;
                  }
                  hq::History h;
                  h.process = process;
                  const std::vector<Reading>& all = *samples;
                  size_t skip = 0;
                  if (all.size() > hq::kMaxHistorySamples) {
                    skip = all.size() - hq::kMaxHistorySamples;
                    h.truncated = true;
                  }
                  h.samples.reserve(all.size() - skip);
                  for (size_t i = skip; i < all.size(); ++i) h.samples.push_back(all[i]);
                  if (process.ended_unix_ns == 0) {
                    for (const ProcessView& v : state.views()) {
                      if (id_of(v.process) == id_of(process)) h.verdict = v.verdict;
                    }
                    done({std::move(h)});
                    return;
                  }
                  state.kept_verdict(id_of(process), [h = std::move(h), done](Result<std::optional<heap_query::Verdict>> kept) mutable {
                    // Without it the history is still worth answering.
                    if (kept && *kept) {
                      h.verdict = std::move(**kept);
                      // Nothing is forecast, or due, for a process that has ended.
                      h.verdict->exhaustion_unix_ns = h.verdict->exhaustion_in_s = 0;
                      h.verdict->first_verdict_unix_ns = h.verdict->first_verdict_in_s = 0;
                    }
                    done({std::move(h)});
                  });
                });
}

void history(const hq::Request& request, uid_t peer, const WatchState& state, std::function<void(Answer)> done) {
  // A running process is the newest of its pid (the pid is its own while
  // it runs): no need for the list of every process kept.
  if (request.pid) {
    for (const ProcessView& v : state.views()) {
      if (v.process.pid == *request.pid && visible_to(peer, v.process.uid)) {
        history_of(v.process, request, state, std::move(done));
        return;
      }
    }
  }
  state.known_processes([request, peer, &state, done = std::move(done)](Result<std::vector<WatchedProcess>> known) {
    if (!known) {
      done({"cannot look the process up: " + known.error()});
      return;
    }
    std::optional<WatchedProcess> process = named_process(request, peer, *known);
    if (!process) {
      done({not_found(request)});
      return;
    }
    history_of(*process, request, state, done);
  });
}

}  // namespace

std::optional<WatchedProcess> newest_visible(const std::vector<WatchedProcess>& processes, uid_t peer,
                                             const std::function<bool(const WatchedProcess&)>& named) {
  const WatchedProcess* newest = nullptr;
  for (const WatchedProcess& p : processes) {
    if (!visible_to(peer, p.uid) || !named(p)) continue;
    if (newest == nullptr || p.started_unix_ns > newest->started_unix_ns) newest = &p;
  }
  return newest ? std::optional<WatchedProcess>(*newest) : std::nullopt;
}

void collect(const hq::Request& request, uid_t peer, const WatchState& state, std::function<void(Answer)> done) {
  if (request.name == hq::request::kTop) {
    done({visible_views(peer, state)});
  } else if (request.name == hq::request::kLeaks) {
    done({visible_leaks(peer, state)});
  } else if (request.name == hq::request::kHistory && (request.pid || request.program)) {
    history(request, peer, state, std::move(done));
  } else {
    done({"unknown request \"" + request.name + "\""});
  }
}

nlohmann::json to_json(const Answer& a) {
  if (const auto* views = std::get_if<std::vector<hq::View>>(&a.content)) return hq::views_answer(*views);
  if (const auto* h = std::get_if<hq::History>(&a.content)) return *h;
  if (const auto* s = std::get_if<hq::SitesAnswer>(&a.content)) return hq::sites_answer(*s);
  if (const auto* l = std::get_if<LeaksViews>(&a.content)) return hq::leaks_answer(l->growing, l->not_judged, l->ended_growing);
  return nlohmann::json{{hq::field::kError, std::get<std::string>(a.content)}};
}

size_t line_bytes_bound(const Answer& a) {
  constexpr size_t kFixed = 1024, kPerView = 650, kPerSample = 110;
  auto views_bytes = [](const std::vector<hq::View>& views) {
    size_t names = 0;
    for (const hq::View& v : views) {
      names += 6 * (v.process.user.size() + v.process.program.size() + v.process.exe.size() + v.process.ended_how.size());
    }
    return views.size() * kPerView + names;
  };
  if (const auto* views = std::get_if<std::vector<hq::View>>(&a.content)) return kFixed + views_bytes(*views);
  if (const auto* l = std::get_if<LeaksViews>(&a.content)) return kFixed + views_bytes(l->growing) + views_bytes(l->not_judged) + views_bytes(l->ended_growing);
  if (const auto* h = std::get_if<hq::History>(&a.content)) return kFixed + h->samples.size() * kPerSample;
  if (const auto* s = std::get_if<hq::SitesAnswer>(&a.content)) {
    size_t sites = 0;
    for (const hq::SiteView& site : s->sites) sites += hq::site_bytes_bound(site);
    return kFixed + 6 * (s->process.user.size() + s->process.program.size() + s->process.exe.size() +
                         s->symbols_error.size()) + std::min(sites, hq::kMaxSitesAnswerBytes);
  }
  return kFixed + 6 * std::get<std::string>(a.content).size();
}

}  // namespace memproxy::heapwatch
