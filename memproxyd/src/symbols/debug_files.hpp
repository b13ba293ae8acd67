// Finding an object's separate debug information the ways a distribution
// installs it, as libdwfl's find_debuginfo callback: by build-id
// (DIR/.build-id/xx/rest.debug under each absolute directory of the search
// path, /usr/lib/debug by default), then by .gnu_debuglink (the object's
// directory, its .debug/ subdirectory, DIR/<the object's directory>/), and
// an absolute .gnu_debugaltlink (dwz's shared file) as named.
//
// Unlike dwfl_standard_find_debuginfo, every candidate is opened
// O_NONBLOCK and used only when fstat says it is a regular file: a FIFO or
// device put where a debug file is looked for (by the user whose process
// is symbolized) can neither block the worker nor be read. A candidate is
// believed when its build-id is the object's, else when its CRC is the
// one .gnu_debuglink records.
//
// Then, when DEBUGINFOD_URLS is set in this process's environment (the
// daemon sets it for its workers only when the admin turned debuginfod
// on, debuginfod_settings.hpp), elfutils' own client fetches the debug
// file by build-id into DEBUGINFOD_CACHE_PATH: dwfl_standard_find_debuginfo
// with neither a file name nor a debuglink, and a debug search path with
// no directory (ElfObject's callbacks), so it opens nothing locally and
// asks debuginfod alone. What it returns is used only if it is a regular
// file with the object's build-id. Not for dwz's shared file (an absolute
// link), which is looked for locally only.
#ifndef MEMPROXYD_SYMBOLS_DEBUG_FILES_HPP
#define MEMPROXYD_SYMBOLS_DEBUG_FILES_HPP

#include <elfutils/libdwfl.h>

namespace memproxy::symbols {

// The search path's syntax is libdwfl's (":.debug:/usr/lib/debug" when
// empty): "" the object's directory, a relative entry below it, an
// absolute one a debug root. The module's userdata must point to the
// search path, a std::string that outlives the module.
int find_debug_file(Dwfl_Module* module, void** userdata, const char* module_name, Dwarf_Addr base,
                    const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                    char** debuginfo_file_name);

}  // namespace memproxy::symbols

#endif
