#include "runners/detail/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

extern char** environ;

namespace steward::runners::detail {

namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

void CloseFd(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

// Moves `fd` to a number >= 3 so the child's dup2 onto 0..2 cannot clobber it (a parent that
// closed its own stdin would otherwise get pipe ends numbered 0..2).
int AboveStdio(int fd) {
  if (fd > 2) return fd;
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  ::close(fd);
  return moved;
}

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Only async-signal-safe calls from here on: the parent may have other threads holding locks.
[[noreturn]] void RunChild(const char* exe, char* const* argv, char* const* envp, const char* cwd,
                           pid_t parent, const std::array<int, 3>& stdio, int error_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Ignored dispositions survive exec (the core may ignore SIGPIPE); give the worker defaults.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  }
  // A worker must never outlive a core that was SIGKILLed.
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) _exit(127);
  for (int i = 0; i < 3; ++i) {
    if (dup2(stdio[i], i) < 0) {
      const int err = errno;
      (void)!write(error_fd, &err, sizeof err);
      _exit(127);
    }
  }
  // Don't leak the core's sockets and files into the worker.
  if (syscall(SYS_close_range, 3u, static_cast<unsigned>(error_fd - 1), 0u) != 0 ||
      syscall(SYS_close_range, static_cast<unsigned>(error_fd + 1), ~0u, 0u) != 0) {
    for (int fd = 3; fd < 4096; ++fd) {
      if (fd != error_fd) close(fd);
    }
  }
  if (cwd != nullptr && chdir(cwd) != 0) {
    const int err = -errno;  // negative: the directory, not the executable, was the problem
    (void)!write(error_fd, &err, sizeof err);
    _exit(127);
  }
  execve(exe, argv, envp);
  const int err = errno;
  (void)!write(error_fd, &err, sizeof err);
  _exit(127);
}

// Suppresses SIGPIPE for the calling thread while writing to a pipe whose reader may be gone.
class ScopedSigpipeBlock final {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set_, &old_);
  }
  ~ScopedSigpipeBlock() {
    if (raised_ && !was_pending_) {
      const timespec zero{};
      while (sigtimedwait(&pipe_set_, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  void MarkRaised() { raised_ = true; }

 private:
  sigset_t pipe_set_;
  sigset_t old_;
  bool was_pending_ = false;
  bool raised_ = false;
};

}  // namespace

std::string DescribeWaitStatus(int wait_status) {
  if (wait_status == kStatusUnknown) return "exited (its exit status is unknown)";
  if (WIFEXITED(wait_status)) return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    const char* abbrev = sigabbrev_np(sig);
    std::string text = "was killed by signal " + std::to_string(sig);
    if (abbrev != nullptr) text += std::string(" (SIG") + abbrev + ")";
    return text;
  }
  return "ended with wait status " + std::to_string(wait_status);
}

Result<std::string> ResolveExecutable(const std::string& program, const std::string& path_env) {
  if (program.empty()) return MakeError(ErrorCode::kInvalidArgument, "the worker command is empty");
  if (program.find('/') != std::string::npos) {
    if (::access(program.c_str(), F_OK) != 0) {
      return MakeError(ErrorCode::kUnavailable, "`" + program + "` does not exist");
    }
    if (!IsExecutableFile(program)) {
      return MakeError(ErrorCode::kUnavailable, "`" + program + "` is not an executable file");
    }
    return program;
  }
  size_t start = 0;
  while (start <= path_env.size()) {
    size_t end = path_env.find(':', start);
    if (end == std::string::npos) end = path_env.size();
    std::string dir = path_env.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    if (IsExecutableFile(candidate)) return candidate;
    start = end + 1;
  }
  return MakeError(ErrorCode::kUnavailable,
                   "`" + program + "` was not found in PATH (" + path_env + ")");
}

Result<std::unique_ptr<Subprocess>> Subprocess::Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "the worker command is empty");
  }
  // Everything the child needs is built before fork: it may not allocate afterwards.
  std::vector<std::string> env_strings;
  for (char** entry = options.inherit_environment ? environ : nullptr; entry != nullptr && *entry != nullptr;
       ++entry) {
    std::string_view kv(*entry);
    const std::string key(kv.substr(0, kv.find('=')));
    if (options.env.count(key) == 0) env_strings.emplace_back(kv);
  }
  for (const auto& [key, value] : options.env) env_strings.push_back(key + "=" + value);
  std::string path_env = "/usr/local/bin:/usr/bin:/bin";
  if (auto it = options.env.find("PATH"); it != options.env.end()) {
    path_env = it->second;
  } else if (const char* path = std::getenv("PATH"); path != nullptr) {
    path_env = path;
  }
  auto exe = ResolveExecutable(options.argv[0], path_env);
  if (!exe.ok()) return exe.error();

  std::vector<char*> argv;
  for (const auto& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& kv : env_strings) envp.push_back(const_cast<char*>(kv.c_str()));
  envp.push_back(nullptr);

  // [0]=read end, [1]=write end, all O_CLOEXEC; the child dup2s its ends onto 0..2.
  std::array<std::array<int, 2>, 4> fds{};
  for (auto& pair : fds) pair = {-1, -1};
  auto close_all = [&fds] {
    for (auto& pair : fds) {
      CloseFd(pair[0]);
      CloseFd(pair[1]);
    }
  };
  for (auto& pair : fds) {
    int raw[2];
    if (::pipe2(raw, O_CLOEXEC) != 0) {
      const int err = errno;
      close_all();
      return MakeError(ErrorCode::kUnavailable, "cannot create a pipe: " + ErrnoText(err));
    }
    pair = {AboveStdio(raw[0]), AboveStdio(raw[1])};
  }
  auto& [in_pipe, out_pipe, err_pipe, exec_pipe] = fds;

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    close_all();
    return MakeError(ErrorCode::kUnavailable, "cannot fork: " + ErrnoText(err));
  }
  if (pid == 0) {
    RunChild(exe->c_str(), argv.data(), envp.data(), options.cwd.empty() ? nullptr : options.cwd.c_str(),
             parent, {in_pipe[0], out_pipe[1], err_pipe[1]}, exec_pipe[1]);
  }
  CloseFd(in_pipe[0]);
  CloseFd(out_pipe[1]);
  CloseFd(err_pipe[1]);
  CloseFd(exec_pipe[1]);

  // The exec pipe closes on a successful execve (O_CLOEXEC) or carries the child's errno.
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  CloseFd(exec_pipe[0]);
  if (n > 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    close_all();
    if (child_errno < 0) {
      return MakeError(ErrorCode::kUnavailable, "cannot run `" + *exe + "` in `" + options.cwd +
                                                    "`: " + ErrnoText(-child_errno));
    }
    return MakeError(ErrorCode::kUnavailable,
                     "cannot run `" + *exe + "`: " + ErrnoText(child_errno));
  }
  ::fcntl(in_pipe[1], F_SETFL, ::fcntl(in_pipe[1], F_GETFL) | O_NONBLOCK);
  return std::unique_ptr<Subprocess>(new Subprocess(pid, in_pipe[1], out_pipe[0], err_pipe[0]));
}

Subprocess::~Subprocess() {
  CloseStdin();
  ::close(stdout_fd_);
  ::close(stderr_fd_);
  if (!TryReap().has_value()) {
    Kill(SIGKILL);
    (void)Reap();
  }
}

Status Subprocess::WriteStdin(std::string_view data, std::chrono::milliseconds timeout,
                              bool* partial) {
  if (partial != nullptr) *partial = false;
  if (stdin_fd_ < 0) return MakeError(ErrorCode::kUnavailable, "the worker's stdin is closed");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  ScopedSigpipeBlock no_sigpipe;
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(stdin_fd_, data.data() + written, data.size() - written);
    if (n > 0) {
      written += static_cast<size_t>(n);
      if (partial != nullptr) *partial = written < data.size();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EPIPE) {
      no_sigpipe.MarkRaised();
      return MakeError(ErrorCode::kUnavailable, "the worker closed its stdin");
    }
    if (n < 0 && errno != EAGAIN) {
      return MakeError(ErrorCode::kUnavailable, "cannot write to the worker: " + ErrnoText(errno));
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return MakeError(ErrorCode::kDeadlineExceeded, "the worker is not reading its stdin");
    }
    pollfd pfd{stdin_fd_, POLLOUT, 0};
    (void)::poll(&pfd, 1, static_cast<int>(left.count()));
  }
  return Status::Ok();
}

void Subprocess::CloseStdin() { CloseFd(stdin_fd_); }

void Subprocess::Kill(int signal) {
  std::lock_guard lock(reap_mu_);
  if (!wait_status_.has_value()) ::kill(pid_, signal);
}

std::optional<int> Subprocess::TryReap() {
  std::lock_guard lock(reap_mu_);
  if (!wait_status_.has_value()) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      wait_status_ = status;
    } else if (r < 0 && errno == ECHILD) {
      wait_status_ = kStatusUnknown;  // SIGCHLD is ignored (auto-reaped) or someone else reaped it
    }
  }
  return wait_status_;
}

int Subprocess::Reap() {
  std::lock_guard lock(reap_mu_);
  if (!wait_status_.has_value()) {
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid_, &status, 0);
    } while (r < 0 && errno == EINTR);
    wait_status_ = r == pid_ ? status : kStatusUnknown;
  }
  return *wait_status_;
}

}  // namespace steward::runners::detail
