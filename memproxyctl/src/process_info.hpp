// The CLI's view of a running process is common's (memproxy/process_info.hpp).
#ifndef MEMPROXYCTL_PROCESS_INFO_HPP
#define MEMPROXYCTL_PROCESS_INFO_HPP

#include "memproxy/process_info.hpp"

namespace memproxyctl {

using memproxy::process::base_name;
using memproxy::process::elf_class_of;
using memproxy::process::inspect_process;
using memproxy::process::is_allocator_library;
using memproxy::process::is_memproxy_library;
using memproxy::process::ProcessInfo;

}  // namespace memproxyctl

#endif
