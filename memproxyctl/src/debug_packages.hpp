// Which distribution package would name a site's frames: an object whose
// frames have no file:line has no debug information on this host, and on
// a dpkg system `dpkg-query -S` says which package installed the object,
// whose debug symbols are then `PACKAGE-dbgsym` (Debian's debug archive)
// or, for a few, `PACKAGE-dbg`.
//
// Computed by the CLI, never the daemon: it asks the package database of
// the host the admin is on, only when dpkg-query is installed, and only
// for object paths it cannot mistake for a pattern or an option.
#ifndef MEMPROXYCTL_DEBUG_PACKAGES_HPP
#define MEMPROXYCTL_DEBUG_PACKAGES_HPP

#include <map>
#include <string>
#include <vector>

#include "memproxy/heap_query.hpp"

namespace memproxyctl {

// The objects of `answer`'s frames that have none with a file, in order of
// first appearance, at most `limit`; only absolute paths with no glob
// character and no control character.
std::vector<std::string> objects_without_debug_info(const memproxy::heap_query::SitesAnswer& answer, size_t limit = 8);

// The other path of `object` on a host whose /bin, /sbin and /lib are links
// into /usr (the kernel names a mapping by its resolved path; dpkg may list
// the file under the unresolved one); "" when there is none.
std::string merged_usr_alias(const std::string& object);

// object -> the package that installed it, by `dpkg-query -S` (one run
// for all, with the merged-/usr aliases); empty when dpkg-query is not at
// `dpkg_query` or fails to run. Objects no package installed are left out.
std::map<std::string, std::string> owning_packages(const std::vector<std::string>& objects,
                                                   const std::string& dpkg_query = "/usr/bin/dpkg-query");

// One line per object of `answer` without debug information that a
// package installed, naming the object, the package and what to install;
// none when the symbolizer did not answer (answer.symbols_error).
std::vector<std::string> debug_package_hints(const memproxy::heap_query::SitesAnswer& answer,
                                             const std::string& dpkg_query = "/usr/bin/dpkg-query");

}  // namespace memproxyctl

#endif
