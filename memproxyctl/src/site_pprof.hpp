// Call sites as a pprof heap profile (profile.proto of
// github.com/google/pprof), for `pprof`, speedscope and the like: two
// sample types, inuse_space/bytes and inuse_objects/count (the estimates
// of each site's live bytes and blocks), one location per return address
// with its lines innermost first (the inlined ones before the function
// they were inlined into), functions by name and file, one mapping per
// object with its build-id. The period is the sampling mean, in bytes.
// A sample's stack starts at its first frame outside the allocator
// (site_name.hpp's first_outside_allocator), as every output's does.
//
// A location's address is the return address the process recorded; its
// mapping starts at address - object offset (of the lowest such base), so
// that pprof can symbolize an address again from the object.
#ifndef MEMPROXYCTL_SITE_PPROF_HPP
#define MEMPROXYCTL_SITE_PPROF_HPP

#include <string>

#include "memproxy/heap_query.hpp"
#include "profile.pb.h"

namespace memproxyctl {

perftools::profiles::Profile pprof_profile(const memproxy::heap_query::SitesAnswer& answer);

// `data` compressed as a gzip stream (what pprof reads); throws
// std::runtime_error when zlib fails.
std::string gzip(const std::string& data);

// The bytes of a .pb.gz file: pprof_profile(answer), serialized, gzipped.
std::string pprof_file(const memproxy::heap_query::SitesAnswer& answer);

}  // namespace memproxyctl

#endif
