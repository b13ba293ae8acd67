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

namespace memproxyctl {

// The allocator's own code (malloc, operator new, a custom allocator's
// library) or memproxy's: not what a reader wants a site named after.
bool allocator_frame(const memproxy::heap_query::FrameView& frame);

// The index of the innermost frame that is not allocator_frame(); the
// innermost one when all are; 0 for a site without frames.
size_t naming_frame(const memproxy::heap_query::SiteView& site);

// "function (file:line)" with the file's last component, down to what is
// known: "object+0xOFFSET", "0xADDRESS".
std::string frame_name(const memproxy::heap_query::FrameView& frame, bool full_path = false);

// A summary line (and why there are no symbols, if so), the header and a
// line per site (and its frames, indented, when `stacks`); the header and
// the sites' lines are cut to `width` columns, the others are whole.
std::vector<std::string> site_lines(const memproxy::heap_query::SitesAnswer& answer, bool stacks, int width);

}  // namespace memproxyctl

#endif
