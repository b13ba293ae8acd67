// What memproxyctl leaks PID makes of a sites answer: the table names each
// site by its innermost frame that is not the allocator's, growing sites
// marked; folded stacks go root first with the live bytes; the pprof
// profile, read back with pprof's own message types, carries the same
// sites, values, inlined lines, functions and mappings with build-ids.
// Folded stacks and pprof leave out the allocator's frames at the leaf,
// as the table does when it names a site (site_name.hpp).
#include <zlib.h>

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "site_collapsed.hpp"
#include "site_pprof.hpp"
#include "site_text.hpp"

namespace {

namespace hq = memproxy::heap_query;
namespace pp = perftools::profiles;
using namespace memproxyctl;

hq::FrameView frame(uint64_t address, std::string function, std::string file, uint32_t line, std::string object,
                    uint64_t offset, bool inlined = false) {
  hq::FrameView f;
  f.address = address;
  f.function = std::move(function);
  f.file = std::move(file);
  f.line = line;
  f.object = std::move(object);
  f.build_id = f.object.empty() ? "" : (f.object == "/usr/bin/app" ? "abcd" : "ef01");
  f.object_offset = offset;
  f.inlined = inlined;
  return f;
}

// A leak in leak_block (with push_leak inlined into it), a cache reached
// through libmemproxy's malloc, and a site nothing names.
hq::SitesAnswer known_answer() {
  hq::SitesAnswer a;
  a.process.pid = 42;
  a.process.program = "app";
  a.process.user = "alice";
  a.unix_ns = 1700000000000000000;
  a.sample_mean_bytes = 65536;
  a.samples = 9;
  a.estimated_bytes = 8000;
  a.sites_total = 3;
  hq::SiteView leak;
  leak.frames = {frame(0x401010, "push_leak", "/src/leak.h", 10, "/usr/bin/app", 0x1010, true),
                 frame(0x401010, "leak_block", "/src/a.c", 20, "/usr/bin/app", 0x1010),
                 frame(0x402000, "main", "/src/main.c", 5, "/usr/bin/app", 0x2000)};
  leak.estimated_bytes = 3000;
  leak.estimated_blocks = 3;
  leak.samples = 3;
  leak.growing = true;
  leak.growth_bytes_per_hour = 1 << 20;
  leak.series = {{1, 1000}, {2, 3000}};
  hq::SiteView cache;
  cache.frames = {frame(0x7f0000001234, "malloc", "", 0, "/usr/lib/libmemproxy.so", 0x1234),
                  frame(0x403000, "fill_cache", "/src/c.c", 7, "/usr/bin/app", 0x3000),
                  frame(0x402000, "main", "/src/main.c", 5, "/usr/bin/app", 0x2000)};
  cache.estimated_bytes = 5000;
  cache.estimated_blocks = 5;
  cache.samples = 5;
  hq::SiteView unknown;
  unknown.frames = {frame(0x9999, "", "", 0, "", 0)};
  unknown.samples = 1;
  a.sites = {leak, cache, unknown};
  return a;
}

std::string gunzip(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buffer[65536];
  int result = Z_OK;
  while (result == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    result = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - z.avail_out);
  }
  inflateEnd(&z);
  EXPECT_EQ(result, Z_STREAM_END);
  return out;
}

TEST(SiteExports, TheTableNamesEachSiteByItsCodeNotTheAllocator) {
  const std::vector<std::string> lines = site_lines(known_answer(), false, 200);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "pid 42 (app, user alice): 7.8 KiB estimated from 9 samples, one per 64.0 KiB; 3 sites");
  EXPECT_EQ(lines[1], "RANK      LIVE    BLOCKS       GROWTH  SITE");
  EXPECT_EQ(lines[2], "   1   2.9 KiB         3   +1.0 MiB/h  push_leak (leak.h:10)  [growing]");
  EXPECT_EQ(lines[3], "   2   4.9 KiB         5            -  fill_cache (c.c:7)");
  EXPECT_EQ(lines[4], "   3       0 B         0            -  0x9999");
}

TEST(SiteExports, StacksShowEveryFrameWithFullPathsAndInlining) {
  const std::vector<std::string> lines = site_lines(known_answer(), true, 80);
  const std::vector<std::string> leak(lines.begin() + 3, lines.begin() + 6);
  EXPECT_EQ(leak[0], "        0x401010 push_leak (/src/leak.h:10) in /usr/bin/app+0x1010 [inlined]");
  EXPECT_EQ(leak[1], "        0x401010 leak_block (/src/a.c:20) in /usr/bin/app+0x1010");
  EXPECT_EQ(leak[2], "        0x402000 main (/src/main.c:5) in /usr/bin/app+0x2000");
  EXPECT_EQ(lines[7], "        0x7f0000001234 malloc in /usr/lib/libmemproxy.so+0x1234");
}

TEST(SiteExports, WithoutSymbolsTheTableSaysWhy) {
  hq::SitesAnswer a = known_answer();
  a.symbols_error = "the symbolizer did not answer within 5000 ms";
  const std::vector<std::string> lines = site_lines(a, false, 200);
  EXPECT_EQ(lines[1], "no symbols: the symbolizer did not answer within 5000 ms");
}

TEST(SiteExports, FoldedStacksGoRootFirstWithLiveBytes) {
  EXPECT_EQ(collapsed_stacks(known_answer()),
            "main;leak_block;push_leak 3000\n"
            "main;fill_cache 5000\n");
}

TEST(SiteExports, FoldedStacksLeaveOutEveryAllocatorFrameAtTheLeaf) {
  hq::SitesAnswer a = known_answer();
  a.sites.resize(2);
  a.sites[1].frames.insert(a.sites[1].frames.begin(),
                           {frame(0x7f0000002000, "je_malloc_default", "", 0, "/usr/lib/libjemalloc.so.2", 0x2000),
                            frame(0x7f0000003000, "operator new(unsigned long)", "", 0, "/usr/lib/libstdc++.so.6", 0x3000)});
  std::swap(a.sites[1].frames[1], a.sites[1].frames[2]);  // jemalloc, malloc (libmemproxy), operator new, fill_cache
  EXPECT_EQ(collapsed_stacks(a), "main;leak_block;push_leak 3000\nmain;fill_cache 5000\n");
  // A stack read inside the allocator says nothing else: it is kept.
  a.sites[1].frames.resize(2);
  EXPECT_EQ(collapsed_stacks(a), "main;leak_block;push_leak 3000\nmalloc;je_malloc_default 5000\n");
}

TEST(SiteExports, FoldedNamesCannotBreakTheFormat) {
  hq::SitesAnswer a = known_answer();
  a.sites.resize(1);
  a.sites[0].frames = {frame(0x10, "evil;name\nwith a line", "", 0, "", 0), frame(0x20, "", "", 0, "/lib/libx.so", 0x20)};
  EXPECT_EQ(collapsed_stacks(a), "libx.so+0x20;evil:name?with a line 3000\n");
}

TEST(SiteExports, ThePprofProfileReadsBackWithTheSameSites) {
  pp::Profile p;
  ASSERT_TRUE(p.ParseFromString(gunzip(pprof_file(known_answer()))));
  auto text = [&](int64_t index) { return p.string_table(static_cast<int>(index)); };
  ASSERT_EQ(p.string_table(0), "");
  ASSERT_EQ(p.sample_type_size(), 2);
  EXPECT_EQ(text(p.sample_type(0).type()), "inuse_space");
  EXPECT_EQ(text(p.sample_type(0).unit()), "bytes");
  EXPECT_EQ(text(p.sample_type(1).type()), "inuse_objects");
  EXPECT_EQ(text(p.sample_type(1).unit()), "count");
  EXPECT_EQ(p.period(), 65536);
  EXPECT_EQ(p.time_nanos(), 1700000000000000000);

  std::map<uint64_t, const pp::Location*> locations;
  for (const pp::Location& l : p.location()) locations[l.id()] = &l;
  std::map<uint64_t, const pp::Function*> functions;
  for (const pp::Function& f : p.function()) functions[f.id()] = &f;
  std::map<uint64_t, const pp::Mapping*> mappings;
  for (const pp::Mapping& m : p.mapping()) mappings[m.id()] = &m;

  ASSERT_EQ(p.sample_size(), 3);
  EXPECT_EQ(p.sample(0).value(0), 3000);
  EXPECT_EQ(p.sample(0).value(1), 3);
  EXPECT_EQ(p.sample(1).value(0), 5000);
  EXPECT_EQ(p.sample(1).value(1), 5);
  // The leak: two locations, the first with the inlined line before its function's.
  ASSERT_EQ(p.sample(0).location_id_size(), 2);
  const pp::Location& inner = *locations.at(p.sample(0).location_id(0));
  EXPECT_EQ(inner.address(), 0x401010u);
  ASSERT_EQ(inner.line_size(), 2);
  EXPECT_EQ(text(functions.at(inner.line(0).function_id())->name()), "push_leak");
  EXPECT_EQ(text(functions.at(inner.line(0).function_id())->filename()), "/src/leak.h");
  EXPECT_EQ(inner.line(0).line(), 10);
  EXPECT_EQ(text(functions.at(inner.line(1).function_id())->name()), "leak_block");
  EXPECT_EQ(inner.line(1).line(), 20);
  const pp::Mapping& app = *mappings.at(inner.mapping_id());
  EXPECT_EQ(text(app.filename()), "/usr/bin/app");
  EXPECT_EQ(text(app.build_id()), "abcd");
  EXPECT_EQ(app.memory_start(), 0x400000u);
  EXPECT_TRUE(app.has_functions() && app.has_filenames() && app.has_line_numbers() && app.has_inline_frames());
  // The allocator's frame is left out, and with it its function and mapping.
  ASSERT_EQ(p.sample(1).location_id_size(), 2);
  // main is one location, shared by both stacks.
  EXPECT_EQ(p.sample(0).location_id(1), p.sample(1).location_id(1));
  const pp::Location& fill = *locations.at(p.sample(1).location_id(0));
  EXPECT_EQ(fill.address(), 0x403000u);
  ASSERT_EQ(fill.line_size(), 1);
  EXPECT_EQ(text(functions.at(fill.line(0).function_id())->name()), "fill_cache");
  for (const pp::Mapping& m : p.mapping()) EXPECT_NE(text(m.filename()), "/usr/lib/libmemproxy.so");
  // A frame nothing names: an address without lines or mapping.
  const pp::Location& unknown = *locations.at(p.sample(2).location_id(0));
  EXPECT_EQ(unknown.address(), 0x9999u);
  EXPECT_EQ(unknown.line_size(), 0);
  EXPECT_EQ(unknown.mapping_id(), 0u);
  EXPECT_EQ(p.function_size(), 4);  // push_leak, leak_block, main, fill_cache
  EXPECT_EQ(p.mapping_size(), 1);     // /usr/bin/app
}

}  // namespace
