// Finding monitored processes by their accounts' memfd, read through
// /proc/PID/map_files: what a (re)started daemon does first, so a restart
// loses no process, and what it does again every rescan interval, so a
// process whose hand-over was refused (heap socket limits, intake.hpp) is
// watched all the same, without the library ever retrying. Needs the right
// to open other users' mappings (root, or CAP_SYS_PTRACE).
//
// Invariant: a process (pid and start time) is examined once, when it is
// at least kSettleTime old: by then a monitored process has its account and
// has made its own hand-over, so the finder neither misses its account nor
// races that hand-over. Examined processes that are gone are forgotten.
#ifndef MEMPROXYD_HEAPWATCH_FINDER_HPP
#define MEMPROXYD_HEAPWATCH_FINDER_HPP

#include <chrono>
#include <set>
#include <string>

#include "heapwatch/intake/registry.hpp"

namespace memproxy::heapwatch {

class Finder {
 public:
  static constexpr std::chrono::seconds kSettleTime{1};

  // Finds accounts meant for `heap_socket` (the daemon's own; accounts
  // handed to another daemon's socket are left to it). `registry` must
  // outlive the finder.
  Finder(Registry& registry, std::string heap_socket) : registry_(registry), heap_socket_(std::move(heap_socket)) {}

  // Examines every running process not examined yet and adds those with an
  // account that `registry` does not have; returns how many were added.
  // `settle` false (the daemon's start): examines the youngest too, whose
  // hand-over cannot have reached a daemon that was not listening yet.
  size_t scan(bool settle = true);

 private:
  Registry& registry_;
  std::string heap_socket_;
  std::set<ProcessId> examined_;
};

}  // namespace memproxy::heapwatch

#endif
