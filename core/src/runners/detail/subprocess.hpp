#pragma once
// A child process with pipes on its stdin, stdout and stderr (fork/exec, Linux only).

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace steward::runners::detail {

// The wait status of a child whose status could not be collected (ECHILD: SIGCHLD ignored).
inline constexpr int kStatusUnknown = -1;

// "exited with status 3", "was killed by signal 9 (SIGKILL)": a waitpid status in words.
[[nodiscard]] std::string DescribeWaitStatus(int wait_status);

// Looks `program` up like execvp does (a name with a '/' is taken as a path); returns the path
// of an executable file or an error naming what was searched.
[[nodiscard]] Result<std::string> ResolveExecutable(const std::string& program, const std::string& path_env);

struct SpawnOptions {
  std::vector<std::string> argv;           // argv[0] is resolved through PATH
  std::map<std::string, std::string> env;  // added to (or replacing in) the inherited environment
  bool inherit_environment = true;         // false: the child sees only `env`
  std::string cwd;                         // the child's working directory; empty: the parent's
};

// Owns a running child and the parent's ends of its three pipes. The child gets
// PR_SET_PDEATHSIG SIGTERM, which the kernel ties to the *thread* that called Spawn: spawn from a
// thread that lives as long as the child should. Write/CloseStdin: one thread at a time (callers
// serialise); Kill/TryReap: any thread.
class Subprocess final {
 public:
  // Starts argv with stdin/stdout/stderr piped. Errors (kUnavailable) name the command and why
  // it could not run (not found, not executable, exec failed with errno text).
  [[nodiscard]] static Result<std::unique_ptr<Subprocess>> Spawn(const SpawnOptions& options);

  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  // Closes the pipes; a child still running is SIGKILLed and reaped.
  ~Subprocess();

  [[nodiscard]] int pid() const { return pid_; }
  [[nodiscard]] int stdout_fd() const { return stdout_fd_; }  // blocking, owned here
  [[nodiscard]] int stderr_fd() const { return stderr_fd_; }  // blocking, owned here

  // Writes all of `data` to the child's stdin, waiting at most `timeout` for pipe space. A child
  // that closed its stdin gives kUnavailable (never SIGPIPE); a timeout gives kDeadlineExceeded
  // and `partial` tells whether some bytes of `data` were written (the stream is then torn).
  [[nodiscard]] Status WriteStdin(std::string_view data, std::chrono::milliseconds timeout,
                                  bool* partial = nullptr);
  void CloseStdin();

  // Sends `signal` unless the child was already reaped (so a reused pid is never hit).
  void Kill(int signal);
  // Reaps the child without blocking; the waitpid status once it has exited.
  [[nodiscard]] std::optional<int> TryReap();
  // Blocks until the child has exited; its waitpid status.
  [[nodiscard]] int Reap();

 private:
  Subprocess(int pid, int stdin_fd, int stdout_fd, int stderr_fd)
      : pid_(pid), stdin_fd_(stdin_fd), stdout_fd_(stdout_fd), stderr_fd_(stderr_fd) {}

  const int pid_;
  int stdin_fd_;
  const int stdout_fd_;
  const int stderr_fd_;
  std::mutex reap_mu_;  // orders Kill against reaping
  std::optional<int> wait_status_;  // guarded by reap_mu_
};

}  // namespace steward::runners::detail
