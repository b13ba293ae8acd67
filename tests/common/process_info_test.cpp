// /proc readers: the names and mappings explain reports for a PID, and the
// numbers the daemon's sampler records.
#include "memproxy/process_info.hpp"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <filesystem>

namespace memproxy::process {
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
  EXPECT_TRUE(is_allocator_library("/usr/lib/libhoard.so"));
  EXPECT_TRUE(is_allocator_library("libsnmalloc.so"));
  EXPECT_FALSE(is_allocator_library("/lib/x86_64-linux-gnu/libc.so.6"));
}

TEST(ProcessInfo, ElfClass) {
  EXPECT_EQ(elf_class_of("/proc/self/exe"), static_cast<int>(sizeof(void*) * 8));
  EXPECT_EQ(elf_class_of("/etc/hostname"), 0);
  EXPECT_EQ(elf_class_of("/nonexistent"), 0);
}

TEST(ProcessInfo, IdentifiesAndMeasuresAProcess) {
  auto ticks = start_ticks(::getpid());
  ASSERT_TRUE(ticks.has_value());
  EXPECT_GT(*ticks, 0u);
  EXPECT_EQ(start_ticks(::getpid()), ticks) << "a process's start time does not change";
  EXPECT_LE(start_ticks(1).value_or(0), *ticks) << "init started first";
  auto rss = resident_bytes(::getpid());
  ASSERT_TRUE(rss.has_value());
  EXPECT_GT(*rss, 1024u * 1024u);
  EXPECT_EQ(real_uid(::getpid()), ::getuid());
  EXPECT_FALSE(start_ticks(999999999).has_value());
  EXPECT_FALSE(resident_bytes(999999999).has_value());
  Names names = names_of(::getpid());
  EXPECT_EQ(names.resolved_path, std::filesystem::canonical("/proc/self/exe").string());
  EXPECT_EQ(base_name(names.invoked_path), base_name(names.resolved_path));
}

TEST(ProcessInfo, AStartTimeSurvivesAParenthesisInTheCommandName) {
  // The command name field may hold spaces and ')': the fields after it are
  // found from the last ')'.
  ASSERT_EQ(::prctl(PR_SET_NAME, "odd) name (x"), 0);
  EXPECT_TRUE(start_ticks(::getpid()).has_value());
}

}  // namespace
}  // namespace memproxy::process
