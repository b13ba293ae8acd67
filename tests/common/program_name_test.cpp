#include "memproxy/program_name.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "memproxy/process_info.hpp"

namespace mp = memproxy::process;

TEST(ProgramName, ABinaryIsNamedByItsInvokedName) {
  EXPECT_EQ(mp::program_name("nginx", "nginx", {"nginx: master process", "-g", "daemon off;"}), "nginx");
  EXPECT_EQ(mp::program_name("leaker", "leaker-1.2", {"./leaker", "app.py"}), "leaker");
}

TEST(ProgramName, AnInterpreterIsNamedWithItsScript) {
  EXPECT_EQ(mp::program_name("python3", "python3.11", {"python3", "/srv/app/app.py", "--port", "80"}),
            "python3 app.py");
  EXPECT_EQ(mp::program_name("python3", "python3.11", {"python3", "-u", "-W", "ignore", "worker.py"}),
            "python3 worker.py");
  EXPECT_EQ(mp::program_name("python3", "python3.11", {"python3", "-m", "http.server", "8000"}),
            "python3 -m http.server");
  EXPECT_EQ(mp::program_name("python3", "python3.11", {"python3", "-c", "import x"}), "python3 -c");
  EXPECT_EQ(mp::program_name("perl", "perl", {"perl", "-e", "print 1"}), "perl -e");
  EXPECT_EQ(mp::program_name("node", "node", {"node", "-r", "dotenv/config", "server.js"}), "node server.js");
  EXPECT_EQ(mp::program_name("bash", "bash", {"bash", "--", "-odd-name.sh"}), "bash -odd-name.sh");
}

TEST(ProgramName, AScriptStartedByItsHashBangLineIsNamedTheSameWay) {
  // The kernel's invoked name is the script; argv[0] is the #! interpreter.
  EXPECT_EQ(mp::program_name("app.py", "python3.11", {"/usr/bin/python3", "./app.py"}), "python3 app.py");
  // #!/usr/bin/env python3: env resolved the interpreter and exec'd it.
  EXPECT_EQ(mp::program_name("python3", "python3.11", {"python3", "./app.py"}), "python3 app.py");
}

TEST(ProgramName, AnInterpreterWithoutAScriptIsItself) {
  EXPECT_EQ(mp::program_name("python3", "python3.11", {"python3"}), "python3");
  EXPECT_EQ(mp::program_name("python3", "python3.11", {"python3", "-i"}), "python3");
  EXPECT_EQ(mp::program_name("python3", "python3.11", {}), "python3");
}

// The command line is the process's own: a script part no file name could
// be is left out, so a process cannot give itself a 128 KiB name.
TEST(ProgramName, AScriptPartLongerThanAFileNameIsLeftOut) {
  const std::string huge(100 * 1024, 'a');
  EXPECT_EQ(mp::program_name("python3", "python3.11", {"python3", "/srv/" + huge}), "python3");
  EXPECT_EQ(mp::program_name("python3", "python3.11", {"python3", "-m", huge}), "python3");
  EXPECT_EQ(mp::program_name("bash", "bash", {"bash", "--", huge}), "bash");
  const std::string longest(255, 'b');
  EXPECT_EQ(mp::program_name("python3", "python3.11", {"python3", longest}), "python3 " + longest);
}

TEST(ProgramName, InterpretersAreKnownByFamilyAndVersion) {
  for (const char* name : {"python3", "python3.11", "python", "pypy3", "perl5.36.0", "ruby3.1", "node", "luajit-2.1", "sh"}) {
    EXPECT_TRUE(mp::is_interpreter(name)) << name;
  }
  for (const char* name : {"pythonista", "nodejs-helper", "shred", "bashful", "sqlite3", ""}) {
    EXPECT_FALSE(mp::is_interpreter(name)) << name;
  }
}

TEST(ProgramName, EitherPartOfATwoPartNameFindsIt) {
  EXPECT_TRUE(mp::program_matches("python3 app.py", "/usr/bin/python3.11", "python3 app.py"));
  EXPECT_TRUE(mp::program_matches("python3 app.py", "/usr/bin/python3.11", "python3"));
  EXPECT_TRUE(mp::program_matches("python3 app.py", "/usr/bin/python3.11", "app.py"));
  EXPECT_TRUE(mp::program_matches("python3 app.py", "/usr/bin/python3.11", "/usr/bin/python3.11"));
  EXPECT_TRUE(mp::program_matches("python3 -m http.server", "/usr/bin/python3.11", "http.server"));
  EXPECT_FALSE(mp::program_matches("python3 app.py", "/usr/bin/python3.11", "app"));
  EXPECT_FALSE(mp::program_matches("python3 app.py", "/usr/bin/python3.11", "-m"));
  EXPECT_TRUE(mp::program_matches("nginx", "/usr/sbin/nginx", "nginx"));
  EXPECT_FALSE(mp::program_matches("nginx", "/usr/sbin/nginx", "ngin"));
  EXPECT_FALSE(mp::program_matches("nginx", "/usr/sbin/nginx", ""));
}

TEST(ProgramName, TheCommandLineOfThisProcessIsRead) {
  std::vector<std::string> argv = mp::command_line(getpid());
  ASSERT_FALSE(argv.empty());
  EXPECT_NE(argv[0].find("program-name-test"), std::string::npos) << argv[0];
  EXPECT_TRUE(mp::command_line(0).empty());
}
