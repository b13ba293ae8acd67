// `memproxyctl leaks PID` as text: one line per call site (rank, estimated
// live bytes and blocks, growth per hour, the frame that names it), and
// with --stack every frame of each site. Pure, so the output is tested
// exactly.
#ifndef MEMPROXYCTL_SITE_TEXT_HPP
#define MEMPROXYCTL_SITE_TEXT_HPP

#include <cstddef>
#include <string>
#include <vector>

#include "memproxy/heap_query.hpp"
#include "site_name.hpp"

namespace memproxyctl {

// frame_label() (site_name.hpp) and "(file:line)" when known, the file's
// last component unless `full_path`, safe for a terminal.
std::string frame_name(const memproxy::heap_query::FrameView& frame, bool full_path = false);

// Of the call sites of a process that ended (the history kept them while it
// ran): "pid N ended at T, killed by ...; these are its call sites as kept
// at T2, D before its end". "" for a running process.
std::string ended_sites_note(const memproxy::heap_query::SitesAnswer& answer);

// A summary line (and why there are no symbols, if so), the header and a
// line per site (and its frames, indented, when `stacks`); the header and
// the sites' lines are cut to `width` columns, the others are whole.
std::vector<std::string> site_lines(const memproxy::heap_query::SitesAnswer& answer, bool stacks, int width);

}  // namespace memproxyctl

#endif
