// Golden cases for memproxy.conf: what each line means, and the exact
// diagnostic (file, line, severity, message) a user sees for each mistake.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "memproxy/config.hpp"
#include "temp_dir.hpp"

using memproxy::config::EntryKind;
using memproxy::config::Problem;
using memproxy::config::FileStatus;
using memproxy::config::parse;
using memproxy::config::parse_file;
using memproxy::config::ParseResult;
using memproxy::config::Section;

namespace {

std::vector<std::string> entry_texts(const ParseResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.entries) out.push_back(e.text);
  return out;
}

std::vector<std::string> formatted(const ParseResult& r) {
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics) out.push_back(d.format());
  return out;
}

TEST(ConfigParser, OriginalExampleKeepsOnlyUncommentedNames) {
  auto r = parse("#ls\n;df\n;du\ntop\ntelegram\nwget\n", "memproxy.conf");
  EXPECT_EQ(entry_texts(r), (std::vector<std::string>{"top", "telegram", "wget"}));
  EXPECT_TRUE(r.diagnostics.empty());
  EXPECT_TRUE(r.publishable());
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(r.entries[0].line, 4u);
  EXPECT_EQ(r.entries[2].line, 6u);
  for (const auto& e : r.entries) {
    EXPECT_EQ(e.kind, EntryKind::name);
    EXPECT_EQ(e.section, Section::exclude);
  }
}

TEST(ConfigParser, CrlfIsAcceptedWithOneWarningPerLine) {
  auto r = parse("top\r\n#c\r\nwget\r\n", "c.conf");
  EXPECT_EQ(entry_texts(r), (std::vector<std::string>{"top", "wget"}));
  EXPECT_TRUE(r.publishable());
  EXPECT_EQ(formatted(r), (std::vector<std::string>{
                              "c.conf:1: warning: line ends with CR (DOS line ending); accepted",
                              "c.conf:2: warning: line ends with CR (DOS line ending); accepted",
                              "c.conf:3: warning: line ends with CR (DOS line ending); accepted",
                          }));
}

TEST(ConfigParser, CommentsAfterLeadingBlanksAndTrailingBlanksAreTrimmed) {
  auto r = parse("   # indented comment\n\t; tab comment\n  top  \n\twget\t\n   \n\n", "c.conf");
  EXPECT_EQ(entry_texts(r), (std::vector<std::string>{"top", "wget"}));
  EXPECT_TRUE(r.diagnostics.empty());
}

TEST(ConfigParser, DuplicatesAreWarningsNamingTheFirstLine) {
  auto r = parse("top\nwget\ntop\n[monitor]\ntop\ntop\n", "d.conf");
  EXPECT_TRUE(r.publishable());
  EXPECT_EQ(r.error_count, 0u);
  EXPECT_EQ(formatted(r), (std::vector<std::string>{
                              "d.conf:3: warning: duplicate entry 'top' in [exclude] (first at line 1)",
                              "d.conf:6: warning: duplicate entry 'top' in [monitor] (first at line 5)",
                          }));
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(r.entries[2].section, Section::monitor);
}

TEST(ConfigParser, SectionsAssignEntries) {
  auto r = parse("before\n[monitor]\nwatched\n[ exclude ]\n/usr/bin/ls\n", "s.conf");
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(r.entries[0].section, Section::exclude);
  EXPECT_EQ(r.entries[1].section, Section::monitor);
  EXPECT_EQ(r.entries[2].section, Section::exclude);
  EXPECT_EQ(r.entries[2].kind, EntryKind::path);
}

TEST(ConfigParser, MonitorHeadersSetTheSamplingOfTheirEntries) {
  auto r = parse(
      "before\n[monitor sample=64K]\na\n/opt/b\n[monitor]\nplain\n[monitor sample=off]\nquiet\n"
      "[ monitor\t sample=16 ]\nfinest\n[monitor sample=1G]\ncoarsest\n[monitor sample=2M]\nmiddle\n"
      "[exclude]\nafter\n",
      "s.conf");
  EXPECT_TRUE(r.diagnostics.empty()) << formatted(r).front();
  EXPECT_TRUE(r.publishable());
  struct Expected {
    const char* text;
    Section section;
    bool specified;
    uint64_t mean;
  };
  const Expected expected[] = {{"before", Section::exclude, false, 0},    {"a", Section::monitor, true, 65536},
                               {"/opt/b", Section::monitor, true, 65536}, {"plain", Section::monitor, false, 0},
                               {"quiet", Section::monitor, true, 0},      {"finest", Section::monitor, true, 16},
                               {"coarsest", Section::monitor, true, 1u << 30},
                               {"middle", Section::monitor, true, 2u << 20},
                               {"after", Section::exclude, false, 0}};
  ASSERT_EQ(r.entries.size(), std::size(expected));
  for (std::size_t i = 0; i < r.entries.size(); ++i) {
    const auto& e = r.entries[i];
    SCOPED_TRACE(e.text);
    EXPECT_EQ(e.text, expected[i].text);
    EXPECT_EQ(e.section, expected[i].section);
    EXPECT_EQ(e.sample.specified, expected[i].specified);
    EXPECT_EQ(e.sample.mean_bytes, expected[i].mean);
  }
}

// The same program under two rates is two entries that combine, and says so;
// under the same one it is a duplicate as any other.
TEST(ConfigParser, AProgramUnderAnotherRateIsKeptWithAWarning) {
  auto r = parse("[monitor sample=off]\ntop\n[monitor sample=64K]\ntop\n[monitor sample=off]\ntop\n", "d.conf");
  EXPECT_TRUE(r.publishable());
  EXPECT_EQ(formatted(r), (std::vector<std::string>{
                              "d.conf:4: warning: duplicate entry 'top' in [monitor] with another sample= setting "
                              "(first at line 2); both count: the most detailed sampling asked for applies",
                              "d.conf:6: warning: duplicate entry 'top' in [monitor] (first at line 2)",
                          }));
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].sample.mean_bytes, 0u);
  EXPECT_EQ(r.entries[1].sample.mean_bytes, 65536u);
  EXPECT_EQ(r.entries[1].line, 4u);
}

struct ErrorCase {
  const char* name;
  std::string text;
  std::string expected;  // the single diagnostic
};

class ConfigParserErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigParserErrors, ReportsFileLineAndRefusesToPublish) {
  const auto& c = GetParam();
  auto r = parse(c.text, "e.conf");
  EXPECT_FALSE(r.publishable());
  EXPECT_EQ(r.error_count, 1u);
  EXPECT_EQ(formatted(r), std::vector<std::string>{c.expected});
}

// The long lines are built with append: GCC 12 at -O3 reports a false
// -Wrestrict for `"literal" + std::string(n, c)` here.
INSTANTIATE_TEST_SUITE_P(
    EachErrorClass, ConfigParserErrors,
    ::testing::Values(
        ErrorCase{"RelativePath", "top\n\nbin/ls\n",
                  "e.conf:3: error: relative path 'bin/ls': an entry is a program name (no '/') or an absolute path"},
        ErrorCase{"NulByte", std::string("top\nw\0get\n", 10), "e.conf:2: error: NUL byte at column 2"},
        ErrorCase{"NameOverNameMax", std::string("ok\n").append(256, 'n').append("\n"),
                  "e.conf:2: error: name is 256 bytes, longer than NAME_MAX (255)"},
        ErrorCase{"PathOverPathMax", std::string("/").append(4095, 'p').append("\n"),
                  "e.conf:1: error: path is 4096 bytes, longer than PATH_MAX allows (4095)"},
        ErrorCase{"UnknownSection", "a\n\n[include]\nb\n",
                  "e.conf:3: error: unknown section '[include]'; known sections are [exclude] and [monitor]"},
        ErrorCase{"MalformedSection", "[exclude\n",
                  "e.conf:1: error: malformed section header '[exclude': expected [exclude] or [monitor]"},
        ErrorCase{"ControlByte", "top\nwg\x01" "et\nmore\n",
                  "e.conf:2: error: not a text file: control byte 0x01 at column 3"},
        ErrorCase{"SampleNotAPowerOfTwo", "top\n[monitor sample=100K]\nleaky\n",
                  "e.conf:2: error: sample=100K is not a power of two; use 64K or 128K"},
        ErrorCase{"SampleNotAPowerOfTwoInBytes", "[monitor]\na\n\n[monitor sample=3000]\n",
                  "e.conf:4: error: sample=3000 is not a power of two; use 2K or 4K"},
        ErrorCase{"SampleJustUnderTheLargest", "[monitor sample=1000M]\n",
                  "e.conf:1: error: sample=1000M is not a power of two; use 512M or 1G"},
        ErrorCase{"SampleBelowTheRange", "a\n[monitor sample=8]\n",
                  "e.conf:2: error: sample=8 is below the smallest rate, 16 bytes"},
        ErrorCase{"SampleAboveTheRange", "a\nb\n[monitor sample=2G]\n",
                  "e.conf:3: error: sample=2G is above the largest rate, 1G"},
        ErrorCase{"SampleHugeNumber", "[monitor sample=99999999999999999999999999]\n",
                  "e.conf:1: error: sample=99999999999999999999999999 is above the largest rate, 1G"},
        ErrorCase{"SampleZero", "[monitor sample=0]\n",
                  "e.conf:1: error: sample=0 samples nothing; write sample=off for no sampled stacks"},
        ErrorCase{"SampleLowercaseSuffix", "[monitor sample=64k]\n",
                  "e.conf:1: error: sample=64k: write the suffix as a capital K, M or G (sample=64K)"},
        ErrorCase{"SampleNotASize", "[monitor sample=fast]\n",
                  "e.conf:1: error: sample=fast is not a size; write a power of two from 16 to 1G, with an "
                  "optional K, M or G suffix (e.g. 64K), or off"},
        ErrorCase{"SampleWithAUnit", "[monitor sample=64KB]\n",
                  "e.conf:1: error: sample=64KB is not a size; write a power of two from 16 to 1G, with an "
                  "optional K, M or G suffix (e.g. 64K), or off"},
        ErrorCase{"SampleEmpty", "[monitor sample=]\n",
                  "e.conf:1: error: sample= needs a value: a power of two from 16 to 1G, with an optional K, M or "
                  "G suffix (e.g. 64K), or off"},
        ErrorCase{"SampleWithBlanks", "[monitor sample = 64K]\n",
                  "e.conf:1: error: sample needs a value, with no blanks around '=': sample=SIZE, a power of two "
                  "from 16 to 1G, with an optional K, M or G suffix (e.g. 64K), or off"},
        ErrorCase{"UnknownOption", "x\n[monitor rate=64K]\n",
                  "e.conf:2: error: unknown option 'rate=64K' in '[monitor rate=64K]'; [monitor] takes "
                  "sample=SIZE or sample=off"},
        ErrorCase{"GarbageOption", "[monitor !!]\n",
                  "e.conf:1: error: unknown option '!!' in '[monitor !!]'; [monitor] takes sample=SIZE or "
                  "sample=off"},
        ErrorCase{"OptionOnExclude", "[monitor]\na\n[exclude sample=64K]\nb\n",
                  "e.conf:3: error: [exclude] takes no options, found 'sample=64K' in '[exclude sample=64K]' "
                  "(sample= belongs on a [monitor] header)"},
        ErrorCase{"RepeatedOption", "[monitor sample=64K sample=1M]\n",
                  "e.conf:1: error: sample= is given twice in '[monitor sample=64K sample=1M]'; give it once"},
        ErrorCase{"RepeatedOptionSameValue", "[monitor sample=off sample=off]\n",
                  "e.conf:1: error: sample= is given twice in '[monitor sample=off sample=off]'; give it once"},
        ErrorCase{"UnknownSectionWithOption", "[include sample=64K]\n",
                  "e.conf:1: error: unknown section '[include sample=64K]'; known sections are [exclude] and "
                  "[monitor]"},
        ErrorCase{"MalformedSectionWithOption", "[monitor sample=64K\n",
                  "e.conf:1: error: malformed section header '[monitor sample=64K': expected [exclude] or "
                  "[monitor]"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ConfigParser, LimitsThemselvesAreAccepted) {
  auto r = parse(std::string(255, 'n') + "\n/" + std::string(4094, 'p') + "\n", "l.conf");
  EXPECT_TRUE(r.publishable());
  EXPECT_EQ(r.entries.size(), 2u);
}

TEST(ConfigParser, ErrorsOnSeveralLinesAreAllReportedWithTheirLines) {
  auto r = parse("good\nbad/one\n# fine\n[nope]\nalso/bad\n", "m.conf");
  EXPECT_EQ(r.error_count, 3u);
  ASSERT_EQ(r.diagnostics.size(), 3u);
  EXPECT_EQ(r.diagnostics[0].line, 2u);
  EXPECT_EQ(r.diagnostics[1].line, 4u);
  EXPECT_EQ(r.diagnostics[2].line, 5u);
  EXPECT_EQ(entry_texts(r), std::vector<std::string>{"good"});
}

TEST(ConfigParser, EmptyFileIsAnEmptyPublishableList) {
  auto r = parse("", "empty.conf");
  EXPECT_TRUE(r.publishable());
  EXPECT_TRUE(r.entries.empty());
  EXPECT_TRUE(r.diagnostics.empty());
}

TEST(ConfigParser, LastLineWithoutNewlineCounts) {
  auto r = parse("top\nwget", "n.conf");
  EXPECT_EQ(entry_texts(r), (std::vector<std::string>{"top", "wget"}));
  EXPECT_EQ(r.entries[1].line, 2u);
}

TEST(ConfigParser, BinaryGarbageIsRejectedWithABoundedReport) {
  std::mt19937_64 rng(42);
  std::string garbage(1 << 20, '\0');
  for (auto& c : garbage) c = static_cast<char>(rng());
  auto r = parse(garbage, "bin.conf");
  EXPECT_FALSE(r.publishable());
  EXPECT_GE(r.error_count, 1u);
  EXPECT_LE(r.diagnostics.size(), memproxy::config::kMaxErrors + 1);
}

TEST(ConfigParser, TooManyErrorsStopsWithAFinalError) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "rel/path\n";
  auto r = parse(text, "many.conf");
  EXPECT_EQ(r.error_count, memproxy::config::kMaxErrors + 1);
  EXPECT_EQ(r.diagnostics.back().format(), "many.conf:51: error: too many errors (50); giving up");
}

TEST(ConfigParser, SuspiciousButValidEntriesWarn) {
  auto r = parse("ls # old comment\n/usr//bin/ls\n/usr/bin/../bin/ls\n", "w.conf");
  EXPECT_TRUE(r.publishable());
  EXPECT_EQ(r.warning_count, 3u);
  EXPECT_EQ(r.diagnostics[0].format(),
            "w.conf:1: warning: entry 'ls # old comment' contains blanks; comments must start their own line");
  EXPECT_EQ(r.diagnostics[1].line, 2u);
  EXPECT_EQ(r.diagnostics[2].line, 3u);
}

TEST(ConfigParser, LongEntriesAreShortenedInMessages) {
  auto r = parse("x/" + std::string(300, 'y') + "\n", "q.conf");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_LT(r.diagnostics[0].message.size(), 200u);
  EXPECT_NE(r.diagnostics[0].message.find("...'"), std::string::npos);
}

TEST(ConfigParser, WarningsAreCappedAndTheRestCounted) {
  std::string text;
  // append(), not operator+: GCC 12 at -O3 warns falsely (-Wrestrict) about
  // the temporaries of "p" + std::to_string(i) + "\r\n".
  for (int i = 0; i < 1000; ++i) text.append("p").append(std::to_string(i)).append("\r\n");
  auto r = parse(text, "crlf.conf");
  EXPECT_TRUE(r.publishable());
  EXPECT_EQ(r.entries.size(), 1000u);
  EXPECT_EQ(r.warning_count, 1000u);
  ASSERT_EQ(r.diagnostics.size(), memproxy::config::kMaxWarnings + 1);
  EXPECT_EQ(r.diagnostics.back().format(),
            "crlf.conf: warning: 900 more warnings not shown (at most 100 are reported)");
  EXPECT_EQ(r.diagnostics.back().problem, Problem::more_not_shown);
}

TEST(ConfigParser, EveryDiagnosticHasARedactedFormThatQuotesNothing) {
  const std::string secret = "s3cr3t";
  auto r = parse(secret + "/a\n[" + secret + "]\n" + secret + " x\n" + secret + " x\n/" + secret + "//b\n" +
                     secret + "\r\n" + std::string(300, 'n') + "\n[" + secret + "\n[monitor " + secret +
                     "]\n[monitor sample=" + secret + "]\n[exclude " + secret + "]\n[monitor sample=64K " + secret +
                     "=1]\n[monitor sample=1M sample=" + secret + "]\n",
                 "r.conf");
  ASSERT_GE(r.diagnostics.size(), 12u);
  size_t quoting = 0;
  for (const auto& d : r.diagnostics) {
    quoting += d.format().find(secret) != std::string::npos;
    EXPECT_EQ(d.redacted().find(secret), std::string::npos) << d.redacted();
    EXPECT_EQ(d.redacted().rfind("r.conf:" + std::to_string(d.line) + ": ", 0), 0u) << d.redacted();
  }
  EXPECT_GE(quoting, 11u) << "the full form does quote the file";
  EXPECT_EQ(r.diagnostics[0].redacted(), "r.conf:1: error: relative path entry");
  EXPECT_EQ(r.diagnostics[1].redacted(), "r.conf:2: error: unknown section");
  const auto n = r.diagnostics.size();
  EXPECT_EQ(r.diagnostics[n - 5].redacted(), "r.conf:9: error: unknown section option");
  EXPECT_EQ(r.diagnostics[n - 4].redacted(), "r.conf:10: error: bad sample rate");
  EXPECT_EQ(r.diagnostics[n - 3].redacted(), "r.conf:11: error: option on a section that takes none");
  EXPECT_EQ(r.diagnostics[n - 2].redacted(), "r.conf:12: error: unknown section option");
  EXPECT_EQ(r.diagnostics[n - 1].redacted(), "r.conf:13: error: section option given twice");
}

class ConfigFile : public ::testing::Test {
 protected:
  memproxy::testing::TempDir temp_;
  const std::string& dir_ = temp_.path();
};

TEST_F(ConfigFile, ReadsAFileAndNamesItInDiagnostics) {
  std::string path = dir_ + "/memproxy.conf";
  std::ofstream(path) << "top\nbad/entry\n";
  auto r = parse_file(path);
  EXPECT_EQ(r.file_status, FileStatus::ok);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].format().rfind(path + ":2: error: relative path", 0), 0u);
}

TEST_F(ConfigFile, MissingFileIsReportedAsMissing) {
  auto r = parse_file(dir_ + "/absent.conf");
  EXPECT_EQ(r.file_status, FileStatus::missing);
  EXPECT_FALSE(r.publishable());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].format(), dir_ + "/absent.conf: error: cannot open: No such file or directory");
}

TEST_F(ConfigFile, DirectoryIsUnreadable) {
  auto r = parse_file(dir_);
  EXPECT_EQ(r.file_status, FileStatus::unreadable);
  EXPECT_FALSE(r.publishable());
  EXPECT_EQ(r.diagnostics.at(0).format(), dir_ + ": error: cannot read: not a regular file");
}

TEST_F(ConfigFile, OverTheSizeCapIsRefusedUnread) {
  std::string path = dir_ + "/big.conf";
  std::ofstream(path) << "top\n";
  // Sparse: the size is what counts, and nothing is read.
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(memproxy::config::kMaxConfigBytes) + 1), 0);
  auto r = parse_file(path);
  EXPECT_EQ(r.file_status, FileStatus::unreadable);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].problem, Problem::too_large);
  EXPECT_EQ(r.diagnostics[0].format(), path + ": error: too large: 67108865 bytes, over the limit of 64 MiB "
                                             "(67108864 bytes); not read");
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(memproxy::config::kMaxConfigBytes)), 0);
  EXPECT_EQ(parse_file(path).diagnostics.at(0).problem, Problem::nul_byte) << "at the cap it is read";
}

TEST_F(ConfigFile, AFifoIsRefusedWithoutWaitingForAWriter) {
  std::string path = dir_ + "/fifo.conf";
  ASSERT_EQ(::mkfifo(path.c_str(), 0644), 0);
  auto r = parse_file(path);
  EXPECT_EQ(r.file_status, FileStatus::unreadable);
  EXPECT_EQ(r.diagnostics.at(0).problem, Problem::not_regular);
}

TEST_F(ConfigFile, OpenedReportsTheFileRead) {
  std::string path = dir_ + "/memproxy.conf";
  std::ofstream(path) << "top\n";
  struct stat opened {};
  ASSERT_TRUE(parse_file(path, &opened).publishable());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(opened.st_ino, st.st_ino);
  parse_file(dir_ + "/absent", &opened);
  EXPECT_EQ(opened.st_ino, 0u);
}

#if defined(__SANITIZE_ADDRESS__)
#define CONFIG_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONFIG_TEST_ASAN 1
#endif
#endif

TEST_F(ConfigFile, RunningOutOfMemoryIsAnErrorNamingTheFile) {
#if defined(CONFIG_TEST_ASAN)
  GTEST_SKIP() << "AddressSanitizer reserves terabytes of address space: an address-space limit cannot apply";
#endif
  std::string path = dir_ + "/huge.conf";
  {
    std::ofstream out(path);
    std::string line = "a-long-enough-program-name-";
    for (int i = 0; i < 1'500'000; ++i) out << line << i << '\n';
  }
  // In a child: the limit is for the parse alone, far below what 1.5 million
  // entries need, far above what the test process uses already.
  pid_t child = ::fork();
  if (child == 0) {
    struct rlimit limit {};
    ::getrlimit(RLIMIT_AS, &limit);
    std::ifstream maps("/proc/self/statm");
    unsigned long pages = 0;
    maps >> pages;
    limit.rlim_cur = pages * static_cast<unsigned long>(::sysconf(_SC_PAGESIZE)) + (96ul << 20);
    ::setrlimit(RLIMIT_AS, &limit);
    auto r = parse_file(path);
    const bool ok = r.file_status == FileStatus::unreadable && r.diagnostics.size() == 1 &&
                    r.diagnostics[0].problem == Problem::out_of_memory &&
                    r.diagnostics[0].format().rfind(path + ": error: out of memory", 0) == 0;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status)) << "the child died: bad_alloc escaped, or worse";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
