// /proc readers: the names and mappings explain reports for a PID.
#include "process_info.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace memproxyctl {
namespace {

TEST(ProcessInfo, InspectsItself) {
  ProcessInfo self = inspect_process(::getpid());
  ASSERT_TRUE(self.exists);
  EXPECT_EQ(self.resolved_path, std::filesystem::canonical("/proc/self/exe").string());
  EXPECT_EQ(self.invoked_source, "AT_EXECFN");
  EXPECT_EQ(base_name(self.invoked_path), base_name(self.resolved_path));
  EXPECT_EQ(self.elf_class, static_cast<int>(sizeof(void*) * 8));
  EXPECT_TRUE(self.maps_readable);
}

TEST(ProcessInfo, UnknownPid) {
  EXPECT_FALSE(inspect_process(999999999).exists);
  EXPECT_FALSE(inspect_process(-1).exists);
}

TEST(ProcessInfo, LibraryNames) {
  EXPECT_TRUE(is_memproxy_library("/usr/lib/x86_64-linux-gnu/libmemproxy.so"));
  EXPECT_TRUE(is_memproxy_library("libmemproxy.so"));
  EXPECT_FALSE(is_memproxy_library("/usr/lib/libmemproxy.so.d/x.so"));
  EXPECT_TRUE(is_allocator_library("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4.5.10"));
  EXPECT_TRUE(is_allocator_library("libtbbmalloc.so.2"));
  EXPECT_FALSE(is_allocator_library("/lib/x86_64-linux-gnu/libc.so.6"));
}

TEST(ProcessInfo, ElfClass) {
  EXPECT_EQ(elf_class_of("/proc/self/exe"), static_cast<int>(sizeof(void*) * 8));
  EXPECT_EQ(elf_class_of("/etc/hostname"), 0);
  EXPECT_EQ(elf_class_of("/nonexistent"), 0);
}

}  // namespace
}  // namespace memproxyctl
