// The one rule that names a call site, for every output that shows one
// (leaks PID as text and --stack, --collapsed, --pprof, the HTML report):
// which frames are the allocator's and memproxy's (left out of folded
// stacks and pprof, passed over when naming); a site is named by its
// innermost frame outside the allocator and memproxy that has a name, and a frame by its function, else by its
// object and the offset in it, else by its address.
#ifndef MEMPROXYCTL_SITE_NAME_HPP
#define MEMPROXYCTL_SITE_NAME_HPP

#include <cstddef>
#include <string>
#include <vector>

#include "memproxy/heap_query.hpp"

namespace memproxyctl {

// The allocator's code or memproxy's, not what a reader wants a site named
// after: a frame in libmemproxy or in a custom allocator's library
// (jemalloc, tcmalloc, mimalloc, TBB malloc), the malloc family and libc's
// internals of it, a custom allocator's entry points and internals
// (je_*, mi_*, tc_*, tcmalloc::), operator new and operator delete.
bool allocator_frame(const memproxy::heap_query::FrameView& frame);

// The index of `site`'s innermost frame that is not allocator_frame(): the
// frames before it are the allocator's own, which no output shows as part
// of the site (folded stacks and pprof start there, and the naming frame
// is at or after it). 0 when every frame is the allocator's (a stack read
// inside the allocator says nothing else) or there are none.
size_t first_outside_allocator(const memproxy::heap_query::SiteView& site);

// The index of the frame that names `site`: its innermost frame that is
// not allocator_frame() and has a function name (a stripped object's
// static function has none: the caller that has one says more, as a
// debugger's backtrace reads); else its innermost frame that is not
// allocator_frame(); the innermost one when all are; 0 for a site without
// frames.
size_t naming_frame(const memproxy::heap_query::SiteView& site);

// A frame's name: its function; else "OBJECT+0xOFFSET", the object's last
// path component (or all of it, `full_path`); else "0xADDRESS". Not made
// safe for a terminal or a markup: each output does that.
std::string frame_label(const memproxy::heap_query::FrameView& frame, bool full_path = false);

// The name of `site`: frame_label() of its naming frame; "(no stack)" for
// a site without frames.
std::string site_label(const memproxy::heap_query::SiteView& site);

// What tells each site of `sites` apart from the others that share its
// site_label(), one entry per site in order: "" for a site whose label no
// other has; else " [OBJECT+0xOFFSET]" of the frame where its stack parts
// from the stack most like it (frames compared by address, from the first
// outside the allocator outward: an unnamed frame further out, or the
// naming frame's own call site); " #N" (its rank among those still alike)
// when that is not enough. Label + suffix is unique within `sites`.
std::vector<std::string> label_suffixes(const std::vector<memproxy::heap_query::SiteView>& sites);

}  // namespace memproxyctl

#endif
