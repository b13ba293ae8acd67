// Why memproxyd watches no process of a pid, as far as this host can tell:
// what the daemon's "no watched process has pid N" cannot say, since it
// answers as if another user's process did not exist.
#ifndef MEMPROXYCTL_UNWATCHED_HPP
#define MEMPROXYCTL_UNWATCHED_HPP

#include <sys/types.h>

#include <string>

#include "options.hpp"

namespace memproxyctl {

// One sentence, the first reason that holds: no such process (what the
// daemon's history keeps of it when it was watched and ended: when, how,
// and where its samples and last verdict are still shown); another
// user's; its maps unreadable; libmemproxy not in its /proc/PID/maps; its
// program not under [monitor] (nor MEMPROXY_MONITOR=1 in its environment);
// no heap account in its maps; set-id or not dumpable; else that the
// daemon's log says whether it refused the account.
std::string why_unwatched(const GlobalOptions& options, pid_t pid);

}  // namespace memproxyctl

#endif
