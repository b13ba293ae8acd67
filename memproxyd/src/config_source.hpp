// Reading the configuration the way the daemon must: only from a trusted
// path, bounded, without blocking, and knowing whether its text may appear
// in world-readable output.
#ifndef MEMPROXYD_CONFIG_SOURCE_HPP
#define MEMPROXYD_CONFIG_SOURCE_HPP

#include <string>

#include "memproxy/config.hpp"

namespace memproxy::daemon {

struct LoadedConfig {
  config::ParseResult parsed;
  // Everyone could read the file: its text may go where everyone can read
  // (the status record). When false only Diagnostic::redacted() may.
  bool text_is_public = false;
};

// The config must be owned by root (or by the user running memproxyd) and
// not writable by group or others, nor may any directory on its path, links
// followed (memproxy::trust, the rule sudo applies to sudoers): whoever can
// write it decides which programs run on which allocator. An untrusted
// config is an error (FileStatus::unreadable, Problem::untrusted) naming the
// offending component; it is not read. A missing one is FileStatus::missing.
LoadedConfig load_config(const std::string& path);

// Whether every user could read `path`: each directory on its resolved path
// searchable by others, the file readable by others, and no ACL on any of
// them (an ACL entry can deny a user what "others" may do).
bool readable_by_everyone(const std::string& path);

}  // namespace memproxy::daemon

#endif
