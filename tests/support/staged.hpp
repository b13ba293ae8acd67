// What a test hands to another user (a program run as `nobody`, the
// symbolizer's worker, a library that program loads), copied where that
// user can reach it.
//
// The build tree may lie under a directory only its owner can traverse:
// /root is 0700, and so is every `mktemp -d`. Another user can then neither
// execute a program of the tree nor load a library from it, so a test never
// hands that user a path inside the tree. It copies what the user needs
// into a StagedForOtherUser: a fresh directory of its own under /tmp, owned
// by the test's user, mode 0755, removed with everything in it when the
// object goes.
//
//   StagedForOtherUser staged;
//   MEMPROXY_REQUIRE(staged.missing());
//   run(as_nobody({staged.program(MEMPROXYCTL_BIN), "status"}), ...);
//
// Invariant: every path it returns lies in a directory that every user can
// traverse, and the copy has exactly the mode asked for (never the
// source's, never the umask's).
#ifndef MEMPROXY_TESTS_STAGED_HPP
#define MEMPROXY_TESTS_STAGED_HPP

#include <sys/types.h>

#include <map>
#include <string>

namespace memproxy::testing {

class StagedForOtherUser {
 public:
  StagedForOtherUser();   // throws when no directory can be made under /tmp
  ~StagedForOtherUser();  // removes the directory and all it holds
  StagedForOtherUser(const StagedForOtherUser&) = delete;
  StagedForOtherUser& operator=(const StagedForOtherUser&) = delete;

  // Why another user cannot use what is staged here ("" when they can):
  // a directory above it they cannot traverse, or a noexec mount. Tests
  // MEMPROXY_REQUIRE it before they stage anything.
  const std::string& missing() const { return missing_; }

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

  // Copies `source` into the directory as `name` (its file name when
  // empty), with exactly `mode`; returns the copy's path. A name is copied
  // once: asking again for the same source returns the same copy (so a
  // helper may ask on every call); asking for another source under a name
  // already taken throws, as does a failed copy.
  std::string add(const std::string& source, mode_t mode, const std::string& name = "");
  // A program another user executes: 0755.
  std::string program(const std::string& source, const std::string& name = "") { return add(source, 0755, name); }
  // A library another user's program loads: 0644.
  std::string library(const std::string& source, const std::string& name = "") { return add(source, 0644, name); }

  // "LD_LIBRARY_PATH=<the directory>": for a staged program whose build
  // RUNPATH names the build tree, to load the staged libraries instead.
  std::string library_path_variable() const { return "LD_LIBRARY_PATH=" + path_; }

  // Makes the staged `program` look for its libraries in this directory
  // (its RUNPATH rewritten by patchelf): for a setuid or setgid program,
  // which ignores LD_LIBRARY_PATH. "" when done, else why not.
  std::string run_libraries_from_here(const std::string& program) const;

 private:
  std::string path_;
  std::string missing_;
  std::map<std::string, std::string> sources_;  // name -> the source it was copied from
};

// Why another user cannot reach `path` ("" when they can): the first
// directory on the way that others cannot search (no o+x), named with its
// mode. Judged from the modes alone: the user is assumed to be in none of
// the groups on the way, as `nobody` is.
std::string unreachable_by_others(const std::string& path);

}  // namespace memproxy::testing

#endif
