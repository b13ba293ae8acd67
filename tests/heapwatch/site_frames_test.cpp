// The daemon's frames from the symbolizer's locations: an inlined chain
// becomes several frames of one address, innermost first; an object
// without symbols one frame naming object and offset; an address the
// symbolizer did not answer, or that no object maps, only its address.
#include "heapwatch/serve/site_frames.hpp"

#include <gtest/gtest.h>

namespace memproxy::heapwatch {
namespace {

namespace hq = memproxy::heap_query;

hq::FrameView address_only(uint64_t address) {
  hq::FrameView f;
  f.address = address;
  return f;
}

TEST(SiteFrames, LocationsBecomeFramesInnermostFirst) {
  symbols::Location inlined;
  inlined.address = 0x1010;
  inlined.mapped = true;
  inlined.object = "/usr/bin/app";
  inlined.build_id = "abcd";
  inlined.offset = 0x10;
  inlined.frames = {{"push", "/src/a.h", 3, 5, true}, {"leak", "/src/a.c", 9, 1, false}};
  symbols::Location bare;
  bare.address = 0x2020;
  bare.mapped = true;
  bare.object = "/lib/libz.so";
  bare.offset = 0x220;
  symbols::Location unmapped;
  unmapped.address = 0x10;

  const std::vector<hq::FrameView> frames =
      frames_of(Stack{0x1010, 0x2020, 0x10, 0x3030}, {{0x1010, inlined}, {0x2020, bare}, {0x10, unmapped}});
  ASSERT_EQ(frames.size(), 5u);
  EXPECT_EQ(frames[0].function, "push");
  EXPECT_TRUE(frames[0].inlined);
  EXPECT_EQ(frames[0].column, 5u);
  EXPECT_EQ(frames[1].function, "leak");
  EXPECT_EQ(frames[1].line, 9u);
  EXPECT_FALSE(frames[1].inlined);
  for (int i : {0, 1}) {
    EXPECT_EQ(frames[i].address, 0x1010u);
    EXPECT_EQ(frames[i].object, "/usr/bin/app");
    EXPECT_EQ(frames[i].build_id, "abcd");
    EXPECT_EQ(frames[i].object_offset, 0x10u);
  }
  EXPECT_EQ(frames[2].function, "");
  EXPECT_EQ(frames[2].object, "/lib/libz.so");
  EXPECT_EQ(frames[2].object_offset, 0x220u);
  EXPECT_EQ(frames[3], address_only(0x10));
  EXPECT_EQ(frames[4], address_only(0x3030));
}

TEST(SiteFrames, AHostileChainIsCutToTheProtocolsLimit) {
  symbols::Location deep;
  deep.address = 0x1;
  deep.frames.assign(hq::kMaxSiteFrames * 2, {"f", "", 0, 0, true});
  const std::vector<hq::FrameView> frames = frames_of(Stack{0x1, 0x1}, {{0x1, deep}});
  EXPECT_EQ(frames.size(), hq::kMaxSiteFrames);
}

}  // namespace
}  // namespace memproxy::heapwatch
