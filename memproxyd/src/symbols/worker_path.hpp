// Which memproxyd-symbolize the daemon runs when --symbolizer does not
// name one: the worker that was built or installed with this daemon.
//
// A daemon is run from its build tree (bin/memproxyd, the worker in
// libexec/memproxy/), from an install under any prefix (sbin/memproxyd,
// libexec/memproxy/), or as a copy with the worker beside it. Looking
// relative to the running executable finds the matching worker in all of
// these; the configured install prefix comes last, for a daemon moved away
// from its worker. A worker that is missing or cannot run is reported with
// every path looked at and the option that names it, since without it
// call sites and traced callers are object+offset only.
#ifndef MEMPROXYD_SYMBOLS_WORKER_PATH_HPP
#define MEMPROXYD_SYMBOLS_WORKER_PATH_HPP

#include <string>
#include <vector>

namespace memproxy::symbols {

inline constexpr const char* kWorkerName = "memproxyd-symbolize";

// Where the install puts the worker (CMAKE_INSTALL_PREFIX/LIBEXECDIR/memproxy).
std::string installed_worker_path();

// The places looked at, in order, for a daemon whose executable is `self`
// (an absolute path): its directory, ../libexec/memproxy/ from there, then
// installed_worker_path(); without duplicates. Only the install path when
// `self` is not absolute.
std::vector<std::string> worker_candidates(const std::string& self);

struct WorkerChoice {
  std::string path;                // what to run: the first usable candidate, else the install path
  std::vector<std::string> tried;  // the paths looked at, in order
  // "" when `path` is an executable regular file; otherwise why none was,
  // naming each path tried and memproxyd's --symbolizer.
  std::string problem;
};

// `configured` is --symbolizer's value: when not empty it is the only
// candidate. Otherwise the candidates of the running executable
// (/proc/self/exe), or of `self` when given.
WorkerChoice choose_worker(const std::string& configured, const std::string& self = "");

// The hint that ends every message about a worker that cannot run.
std::string worker_option_hint();

}  // namespace memproxy::symbols

#endif
