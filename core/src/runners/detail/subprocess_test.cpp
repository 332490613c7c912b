#include "runners/detail/subprocess.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

namespace steward::runners::detail {
namespace {

using std::chrono::milliseconds;

int RunShell(const std::string& script) {
  auto child = Subprocess::Spawn({{"sh", "-c", script}, {}});
  EXPECT_TRUE(child.ok()) << (child.ok() ? "" : child.error().message);
  return child.ok() ? (*child)->Reap() : -1;
}

TEST(DescribeWaitStatus, NamesExitStatus) {
  EXPECT_EQ(DescribeWaitStatus(RunShell("exit 3")), "exited with status 3");
}

TEST(DescribeWaitStatus, NamesSignal) {
  EXPECT_EQ(DescribeWaitStatus(RunShell("kill -9 $$")), "was killed by signal 9 (SIGKILL)");
}

TEST(ResolveExecutable, SearchesPathLikeExecvp) {
  auto sh = ResolveExecutable("sh", "/nonexistent:/usr/bin:/bin");
  ASSERT_TRUE(sh.ok()) << sh.error().message;
  EXPECT_EQ(access(sh->c_str(), X_OK), 0);
  auto missing = ResolveExecutable("no-such-steward-program", "/usr/bin:/bin");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("was not found in PATH (/usr/bin:/bin)"), std::string::npos);
}

TEST(Subprocess, ReportsMissingAndNonExecutableCommands) {
  auto missing = Subprocess::Spawn({{"/nonexistent/python3"}, {}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(missing.error().message.find("/nonexistent/python3` does not exist"), std::string::npos);
  char path[] = "/tmp/steward-not-executable-XXXXXX";
  const int fd = mkstemp(path);  // mode 0600: not executable, even for root
  ASSERT_GE(fd, 0);
  close(fd);
  auto not_executable = Subprocess::Spawn({{path}, {}});
  unlink(path);
  ASSERT_FALSE(not_executable.ok());
  EXPECT_NE(not_executable.error().message.find("is not an executable file"), std::string::npos);
}

TEST(Subprocess, PassesEnvironmentAndPipesStdio) {
  auto child = Subprocess::Spawn({{"sh", "-c", "read line; echo \"$line $STEWARD_T\"; echo oops >&2"},
                                  {{"STEWARD_T", "env-ok"}}});
  ASSERT_TRUE(child.ok()) << child.error().message;
  ASSERT_TRUE((*child)->WriteStdin("hello\n", milliseconds(1000)).ok());
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = read((*child)->stdout_fd(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  std::string err;
  while ((n = read((*child)->stderr_fd(), buf, sizeof buf)) > 0) err.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(out, "hello env-ok\n");
  EXPECT_EQ(err, "oops\n");
  EXPECT_EQ((*child)->Reap(), 0);
}

TEST(Subprocess, WritingToAnExitedChildIsAnErrorNotSigpipe) {
  auto child = Subprocess::Spawn({{"true"}, {}});
  ASSERT_TRUE(child.ok()) << child.error().message;
  (void)(*child)->Reap();
  const Status written = (*child)->WriteStdin("data\n", milliseconds(1000));
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, ErrorCode::kUnavailable);
}

TEST(Subprocess, WriteTimesOutWhenChildDoesNotRead) {
  auto child = Subprocess::Spawn({{"sleep", "10"}, {}});
  ASSERT_TRUE(child.ok()) << child.error().message;
  bool partial = false;
  const Status written = (*child)->WriteStdin(std::string(1 << 20, 'x'), milliseconds(100), &partial);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_TRUE(partial);
  (*child)->Kill(SIGKILL);
  EXPECT_EQ(DescribeWaitStatus((*child)->Reap()), "was killed by signal 9 (SIGKILL)");
}

}  // namespace
}  // namespace steward::runners::detail
