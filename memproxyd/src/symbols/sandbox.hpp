// Starting the symbolizing worker so that what it parses cannot hurt the
// daemon: a separate process with the credentials of the process whose
// objects it reads, and limits on what it may consume.
//
// The child, before it executes the worker:
//   - has the socket as stdin and stdout, /dev/null as stderr, and no other
//     descriptor; only the environment given (empty unless debuginfod is
//     on, debuginfod_settings.hpp); cwd /; a process group of its own (a
//     terminal's ^C is the daemon's);
//   - rlimits: address space, CPU seconds over its life, open files, no
//     core dumps, files written up to file_size_bytes (none by default);
//   - as root: the capability bounding set emptied, supplementary groups
//     cleared, then setresgid(gid) and setresuid(uid) (raw system calls:
//     the child of a threaded parent has one thread, and glibc's wrappers
//     would signal threads that are not there), no capabilities left;
//   - no_new_privs (nothing it executes can gain privileges), and SIGKILL
//     when the thread that started it dies (PR_SET_PDEATHSIG);
//   - executes the worker through a descriptor the daemon opened, so its
//     user needs the right to execute the file, not to reach it (a build
//     tree under a 0700 home).
// The worker itself then makes itself non-dumpable, so other processes of
// the same user cannot ptrace it or read its memory, and sets RLIMIT_NPROC
// to 0 (it never forks) unless debuginfod is on (libcurl resolves names on
// a thread, which RLIMIT_NPROC counts). A step that fails is reported and
// nothing runs.
#ifndef MEMPROXYD_SYMBOLS_SANDBOX_HPP
#define MEMPROXYD_SYMBOLS_SANDBOX_HPP

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace memproxy::symbols {

struct SandboxLimits {
  // RLIMIT_AS. libdw maps whole objects and debug files: a few GiB of
  // address space is what large programs' debug information takes. 0: none
  // (the sanitizer build's default: its worker reserves terabytes of shadow
  // address space, which any such limit would refuse).
#if defined(__SANITIZE_ADDRESS__)
  uint64_t address_space_bytes = 0;
#else
  uint64_t address_space_bytes = uint64_t{4} << 30;
#endif
  uint64_t cpu_seconds = 120;  // RLIMIT_CPU over the worker's life (it retires at half)
  uint64_t open_files = 1024;  // RLIMIT_NOFILE: descriptors passed in, cached objects, debug files
  uint64_t file_size_bytes = 0;  // RLIMIT_FSIZE: debuginfod's downloads, else nothing
  // From fork to exec. Once the child runs as the target's user, that user
  // may SIGSTOP it before it executes the worker; the thread starting it
  // must not wait on it for longer than this, or one user could hold a
  // symbolizer thread (and the daemon's shutdown) for ever.
  int start_timeout_ms = 5000;
};

struct SandboxIdentity {
  uid_t uid = 0;
  gid_t gid = 0;
};

// Starts `argv` (argv[0] an absolute path) as described above, with
// `socket` as its stdin and stdout, and `environment` ("NAME=value") as
// its whole environment. A child that has not executed it within
// limits.start_timeout_ms is killed and reaped. When this process is not root the
// credentials cannot change and `identity` must be this process's own.
// The pid, or -1 with `why`.
pid_t spawn_sandboxed(const std::vector<std::string>& argv, int socket, const SandboxIdentity& identity,
                      const SandboxLimits& limits, std::string* why,
                      const std::vector<std::string>& environment = {});

}  // namespace memproxy::symbols

#endif
