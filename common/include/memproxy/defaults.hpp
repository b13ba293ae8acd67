// Platform defaults shared by the daemon, the CLI and the library's tests.
#ifndef MEMPROXY_DEFAULTS_HPP
#define MEMPROXY_DEFAULTS_HPP

namespace memproxy::defaults {

#if defined(__sun)
inline constexpr const char* kConfigPath = "/etc/memproxy.conf";
inline constexpr const char* kRuntimeDir = "/var/run/memproxy";
inline constexpr const char* kTablePath = "/var/run/memproxy/table";
#else
inline constexpr const char* kConfigPath = "/etc/memproxy.conf";
inline constexpr const char* kRuntimeDir = "/run/memproxy";
inline constexpr const char* kTablePath = "/run/memproxy/table";
#endif

// Beside the table: monitored processes hand their heap account to the
// daemon here; a process finds it in its table's directory.
inline constexpr const char* kHeapSocketName = "heap.sock";
// Beside the table: memproxyctl top, leaks and history ask the daemon here.
inline constexpr const char* kQuerySocketName = "query.sock";

// The heap watch's history (SQLite), kept across restarts and reboots; its
// directory is the daemon's own (systemd's StateDirectory=memproxy).
inline constexpr const char* kHistoryPath = "/var/lib/memproxy/history.sqlite";

}  // namespace memproxy::defaults

#endif
