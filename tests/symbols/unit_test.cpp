// The symbolizer's parts without processes: reading maps text, the
// protocol's encoding and its refusals, the LRU bound, demangling.
#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include "symbols/demangle.hpp"
#include "symbols/dwarf_frames.hpp"
#include "symbols/location.hpp"
#include "symbols/lru_cache.hpp"
#include "symbols/mappings.hpp"
#include "symbols/protocol.hpp"

namespace memproxy::symbols {
namespace {

TEST(MapsTest, KeepsExecutableFileMappingsOnly) {
  const std::string text =
      "55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 1234    /usr/bin/prog\n"
      "55d0c0a01000-55d0c0a05000 r-xp 00001000 08:01 1234    /usr/bin/prog\n"
      "7f0000000000-7f0000001000 r-xp 00000000 00:00 0 \n"
      "7f0000001000-7f0000002000 rwxp 00000000 00:00 0    [heap]\n"
      "7f0000010000-7f0000020000 r-xp 00002000 fd:02 99   /tmp/a b\\012c (deleted)\n"
      "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";
  std::vector<Mapping> maps = parse_maps(text);
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0].start, 0x55d0c0a01000u);
  EXPECT_EQ(maps[0].end, 0x55d0c0a05000u);
  EXPECT_EQ(maps[0].offset, 0x1000u);
  EXPECT_EQ(maps[0].dev, makedev(8, 1));
  EXPECT_EQ(maps[0].inode, 1234u);
  EXPECT_EQ(maps[0].path, "/usr/bin/prog");
  EXPECT_FALSE(maps[0].deleted);
  EXPECT_EQ(maps[1].path, "/tmp/a b\nc");
  EXPECT_TRUE(maps[1].deleted);
  EXPECT_EQ(maps[1].dev, makedev(0xfd, 2));
}

TEST(MapsTest, MalformedAndOverlappingLinesAreDropped) {
  const std::string text =
      "zz-10 r-xp 0 08:01 1 /a\n"
      "2000-1000 r-xp 0 08:01 1 /backwards\n"
      "1000-3000 r-xp 0 08:01 1 /first\n"
      "2000-4000 r-xp 0 08:01 1 /overlaps\n"
      "5000-6000 r-xp 0 08:01 notanumber /bad-inode\n"
      "7000-8000 r-xp 0 0801 1 /bad-device\n"
      "9000-a000 r-x\n"
      "\n";
  std::vector<Mapping> maps = parse_maps(text);
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps[0].path, "/first");
}

TEST(MapsTest, AReturnAddressBelongsToTheMappingOfItsCall) {
  std::vector<Mapping> maps = parse_maps("1000-2000 r-xp 0 08:01 1 /a\n3000-4000 r-xp 0 08:01 2 /b\n");
  EXPECT_EQ(find_call_mapping(maps, 0x2000)->path, "/a");  // a call ending the mapping
  EXPECT_EQ(find_call_mapping(maps, 0x1001)->path, "/a");
  EXPECT_EQ(find_call_mapping(maps, 0x1000), nullptr);
  EXPECT_EQ(find_call_mapping(maps, 0x3000), nullptr);
  EXPECT_EQ(find_call_mapping(maps, 0), nullptr);
  EXPECT_EQ(find_mapping(maps, 0x3fff)->path, "/b");
  EXPECT_EQ(find_mapping(maps, 0x4000), nullptr);
}

TEST(ProtocolTest, RequestsRoundTripWithBinaryPaths) {
  protocol::Request request;
  request.pid = 42;
  request.addresses = {1, UINT64_MAX};
  Mapping mapping{0x1000, 0x2000, 0x3000, makedev(8, 1), 77, std::string("/odd\xff\n path", 11), true};
  request.mappings.push_back({mapping, 0});
  request.mappings.push_back({mapping, -1});
  std::string why;
  auto decoded = protocol::decode_request(protocol::encode_request(request), 1, &why);
  ASSERT_TRUE(decoded) << why;
  EXPECT_EQ(decoded->pid, 42);
  EXPECT_EQ(decoded->addresses, request.addresses);
  ASSERT_EQ(decoded->mappings.size(), 2u);
  EXPECT_EQ(decoded->mappings[0].mapping, mapping);
  EXPECT_EQ(decoded->mappings[0].fd, 0);
  EXPECT_EQ(decoded->mappings[1].fd, -1);
  // A descriptor index the message did not carry.
  EXPECT_FALSE(protocol::decode_request(protocol::encode_request(request), 0, &why));
}

TEST(ProtocolTest, RepliesRoundTrip) {
  protocol::Reply reply;
  reply.answers.push_back({"00ff", {{"f(int)", "/src/a.cpp", 12, 3, true}, {"g", "/src/b.c", 4, 0, false}}, ""});
  reply.answers.push_back({"", {}, "cannot read"});
  reply.retire = true;
  std::string why;
  auto decoded = protocol::decode_reply(protocol::encode_reply(reply), 2, &why);
  ASSERT_TRUE(decoded) << why;
  EXPECT_EQ(decoded->answers, reply.answers);
  EXPECT_TRUE(decoded->retire);
}

TEST(ProtocolTest, InvalidUtf8FromAnObjectBecomesReplacementCharacters) {
  protocol::Reply reply;
  reply.answers.push_back({"", {{std::string("bad\xff", 4), "", 0, 0, false}}, ""});
  std::string why;
  auto decoded = protocol::decode_reply(protocol::encode_reply(reply), 1, &why);
  ASSERT_TRUE(decoded) << why;
  EXPECT_EQ(decoded->answers[0].frames[0].function, "bad\xef\xbf\xbd");
}

TEST(ProtocolTest, BadRepliesAreRefused) {
  const std::string frame = R"({"function":"f","file":"","line":1,"column":0,"inlined":false})";
  std::string many_frames;
  for (size_t i = 0; i <= kMaxFrames; ++i) many_frames += (i ? "," : "") + frame;
  const std::string long_text(3 * kMaxTextBytes + 1, 'x');
  const std::vector<std::string> bad = {
      "",
      "[]",
      "{}",
      R"({"answers":[],"retire":false})",
      R"({"answers":[{}],"retire":false})",
      R"({"answers":[{"build_id":"xyz","note":"","frames":[]}],"retire":false})",
      R"({"answers":[{"build_id":"","note":"","frames":[)" + many_frames + R"(]}],"retire":false})",
      R"({"answers":[{"build_id":"","note":")" + long_text + R"(","frames":[]}],"retire":false})",
      R"({"answers":[{"build_id":"","note":"","frames":[{"function":"f","file":"","line":4294967296,"column":0,"inlined":false}]}],"retire":false})",
      R"({"answers":[{"build_id":"","note":"","frames":[{"function":"f","file":"","line":-1,"column":0,"inlined":false}]}],"retire":false})",
      R"({"answers":[{"build_id":"","note":"","frames":[]}],"retire":"yes"})",
      R"({"answers":[{"build_id":"","note":"","frames":[]}],"retire":false,"x":[[[[[[[1]]]]]]]})",
      std::string(100000, '['),
  };
  for (const std::string& body : bad) {
    std::string why;
    EXPECT_FALSE(protocol::decode_reply(body, 1, &why)) << body.substr(0, 200);
    EXPECT_FALSE(why.empty());
  }
}

TEST(ProtocolTest, HeadersAreChecked) {
  std::string why;
  EXPECT_EQ(protocol::parse_header(protocol::header(17), 100, &why), 17u);
  EXPECT_FALSE(protocol::parse_header(protocol::header(101), 100, &why));
  EXPECT_FALSE(protocol::parse_header("MPS\x02\x01\x00\x00\x00", 100, &why));
  EXPECT_FALSE(protocol::parse_header("XYZ\x01\x01\x00\x00\x00", 100, &why));
  EXPECT_FALSE(protocol::parse_header("MPS", 100, &why));
}

TEST(ProtocolTest, AReplyTooLargeLosesFramesNotAnswers) {
  protocol::Reply reply;
  const std::string name(kMaxTextBytes, 'n');
  std::vector<Frame> frames(kMaxFrames, Frame{name, name, 1, 1, true});
  for (size_t i = 0; i < protocol::kMaxAddressesPerRequest; ++i) reply.answers.push_back({"ab", frames, ""});
  const std::string encoded = protocol::encode_reply(reply);
  EXPECT_LE(encoded.size(), protocol::kMaxReplyBytes);
  std::string why;
  auto decoded = protocol::decode_reply(encoded, reply.answers.size(), &why);
  ASSERT_TRUE(decoded) << why;
  EXPECT_EQ(decoded->answers.front().frames.size(), kMaxFrames);
  EXPECT_TRUE(decoded->answers.back().frames.empty());
  EXPECT_EQ(decoded->answers.back().build_id, "ab");
  EXPECT_FALSE(decoded->answers.back().note.empty());
}

TEST(LruCacheTest, ForgetsTheLeastRecentlyUsed) {
  LruCache<int, std::string> cache(2);
  cache.put(1, "one");
  cache.put(2, "two");
  ASSERT_NE(cache.find(1), nullptr);  // 2 is now the least recently used
  cache.put(3, "three");
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.evictions(), 1u);
  EXPECT_EQ(cache.find(2), nullptr);
  EXPECT_EQ(*cache.find(1), "one");
  EXPECT_EQ(*cache.find(3), "three");
  cache.put(3, "drei");
  EXPECT_EQ(*cache.find(3), "drei");
  EXPECT_EQ(cache.size(), 2u);
}

TEST(DemangleTest, MangledNamesAreReadable) {
  EXPECT_EQ(demangle("_ZN2ns5outerEi"), "ns::outer(int)");
  EXPECT_EQ(demangle("main"), "main");
  EXPECT_EQ(demangle("_Zgarbage"), "_Zgarbage");
  const std::string huge = "_Z" + std::string(kMaxDemangledInput, 'N');
  EXPECT_EQ(demangle(huge), huge);
}

TEST(LocationTest, DescribesEachKind) {
  Location unknown;
  unknown.address = 0x10;
  EXPECT_EQ(describe(unknown), "0x10 [unknown]");
  Location bare;
  bare.address = 0x7f00;
  bare.mapped = true;
  bare.object = "/lib/x.so";
  bare.offset = 0x1f00;
  EXPECT_EQ(describe(bare), "0x7f00 /lib/x.so+0x1f00");
  bare.frames = {{"in()", "/s/a.c", 3, 2, true}, {"out", "/s/a.c", 9, 0, false}};
  EXPECT_EQ(describe(bare),
            "0x7f00 in() (/s/a.c:3:2) in /lib/x.so+0x1f00 [inlined]\n0x7f00 out (/s/a.c:9) in /lib/x.so+0x1f00");
}

}  // namespace
}  // namespace memproxy::symbols
