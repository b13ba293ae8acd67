// C++ names as people read them (abi::__cxa_demangle). A name that is not
// a mangled C++ name, or that the demangler refuses, comes back as it was.
#ifndef MEMPROXYD_SYMBOLS_DEMANGLE_HPP
#define MEMPROXYD_SYMBOLS_DEMANGLE_HPP

#include <string>
#include <string_view>

namespace memproxy::symbols {

// Names longer than this are not demangled: the demangler recurses on the
// name's structure, and a name from a hostile object could be built to
// exhaust its stack.
inline constexpr size_t kMaxDemangledInput = 4096;

std::string demangle(std::string_view name);

}  // namespace memproxy::symbols

#endif
