#include "store/detail/subprocess.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace steward::store::detail {

Result<CommandOutput> RunCommand(const std::vector<std::string>& argv) {
  if (argv.empty()) return MakeError(ErrorCode::kInternal, "RunCommand needs a program");
  // Everything the child touches is prepared before fork: after fork only async-signal-safe
  // calls are allowed in a multi-threaded process.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return MakeError(ErrorCode::kInternal, std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(fds[0]);
    close(fds[1]);
    return MakeError(ErrorCode::kInternal, std::string("cannot fork: ") + std::strerror(err), argv[0]);
  }
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0) _exit(127);
    // Lock files and database sockets must not leak into a postmaster that outlives us.
    syscall(SYS_close_range, 3U, ~0U, 0U);
    if (chdir("/") != 0) _exit(127);
    execvp(args[0], args.data());
    const char* msg = "exec failed: ";
    (void)!write(2, msg, std::strlen(msg));
    (void)!write(2, std::strerror(errno), std::strlen(std::strerror(errno)));
    _exit(127);
  }
  close(fds[1]);
  CommandOutput out;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n > 0) {
      out.output.append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return MakeError(ErrorCode::kInternal, std::string("cannot wait for child: ") + std::strerror(errno), argv[0]);
    }
  }
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

std::string Tail(const std::string& text, int lines) {
  std::vector<std::string> kept;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) kept.push_back(std::move(line));
    pos = end + 1;
  }
  std::string out;
  const size_t first = kept.size() > static_cast<size_t>(lines) ? kept.size() - lines : 0;
  for (size_t i = first; i < kept.size(); ++i) {
    if (!out.empty()) out += '\n';
    out += kept[i];
  }
  return out;
}

}  // namespace steward::store::detail
