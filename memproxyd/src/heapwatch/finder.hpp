// Finding the monitored processes already running, by their accounts'
// memfd name in /proc/PID/fd: what a (re)started daemon does first, so a
// restart loses no process. Needs the right to open other users'
// descriptors (root, or CAP_SYS_PTRACE).
#ifndef MEMPROXYD_HEAPWATCH_FINDER_HPP
#define MEMPROXYD_HEAPWATCH_FINDER_HPP

#include <string>

#include "heapwatch/registry.hpp"

namespace memproxy::heapwatch {

// Adds every running process with an account meant for `heap_socket` (the
// daemon's own; accounts handed to another daemon's socket are left to it)
// that `registry` does not have yet; returns how many were added.
size_t find_running(Registry& registry, const std::string& heap_socket);

}  // namespace memproxy::heapwatch

#endif
