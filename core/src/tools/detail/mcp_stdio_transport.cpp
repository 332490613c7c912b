// The stdio transport: the server is a child process; each JSON-RPC message is one line on its
// stdin or stdout, and whatever it writes to stderr is logged.

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <deque>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "runners/detail/subprocess.hpp"
#include "tools/detail/mcp_frame.hpp"
#include "tools/detail/mcp_transport.hpp"

namespace steward::tools::detail {

namespace {

using runners::detail::DescribeWaitStatus;
using runners::detail::SpawnOptions;
using runners::detail::Subprocess;

constexpr int kPollMs = 200;  // how often blocked readers look at the stop flag
constexpr size_t kStderrLinesKept = 5;
constexpr size_t kStderrLineMax = 2000;
constexpr auto kTermGrace = std::chrono::seconds(2);

// What a tool server inherits from Steward's environment. Provider API keys and the like stay
// out of third-party processes (the official SDKs' stdio clients do the same); a server that
// needs more gets it through `env:` in its config.
constexpr const char* kInheritedVariables[] = {"HOME",   "LOGNAME", "PATH", "SHELL", "TERM",
                                               "USER",   "LANG",    "LC_ALL", "LC_CTYPE",
                                               "TMPDIR", "TZ",      "XDG_RUNTIME_DIR"};

class StdioTransport final : public McpTransport {
 public:
  explicit StdioTransport(McpServerConfig config) : config_(std::move(config)) {}
  ~StdioTransport() override { Close(); }

  Status Open(McpTransportSink& sink) override {
    SpawnOptions options;
    options.argv.push_back(config_.command);
    options.argv.insert(options.argv.end(), config_.args.begin(), config_.args.end());
    options.inherit_environment = false;
    for (const char* name : kInheritedVariables) {
      if (const char* value = std::getenv(name); value != nullptr) options.env[name] = value;
    }
    for (const auto& [key, value] : config_.env) options.env[key] = value;
    options.cwd = config_.cwd;
    auto child = Subprocess::Spawn(options);
    if (!child.ok()) return child.error();
    sink_ = &sink;
    stop_ = false;
    closed_reported_ = false;
    stderr_done_ = false;
    child_ = std::move(*child);
    pid_ = child_->pid();
    {
      std::lock_guard lock(stderr_mu_);
      stderr_lines_.clear();
    }
    stderr_thread_ = std::thread([this] { ReadStderr(); });
    stdout_thread_ = std::thread([this] { ReadStdout(); });
    return Status::Ok();
  }

  Status Send(const std::string& message, std::chrono::steady_clock::time_point deadline) override {
    std::lock_guard lock(write_mu_);
    if (child_ == nullptr) {
      return MakeError(ErrorCode::kUnavailable, "the server process is not running");
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    bool partial = false;
    Status written = child_->WriteStdin(message + "\n", std::max(left, std::chrono::milliseconds(1)),
                                        &partial);
    if (!written.ok()) {
      if (partial) {
        // Half a line is on the pipe: every later message would be glued to it. Only a new
        // process gets the stream back in sync.
        child_->Kill(SIGKILL);
      }
      if (written.error().code == ErrorCode::kUnavailable) {
        return MakeError(ErrorCode::kUnavailable, "the server process is not reading its stdin (it "
                                                  "may have exited)");
      }
      return MakeError(written.error().code, "the server process is not reading its stdin");
    }
    return Status::Ok();
  }

  void Close() override {
    if (child_ == nullptr) return;
    stop_ = true;
    {
      std::lock_guard lock(write_mu_);
      child_->CloseStdin();
    }
    // MCP's stdio shutdown: close stdin, then SIGTERM, then SIGKILL.
    if (!WaitForExit(std::chrono::milliseconds(300))) {
      child_->Kill(SIGTERM);
      if (!WaitForExit(kTermGrace)) child_->Kill(SIGKILL);
    }
    if (stdout_thread_.joinable()) stdout_thread_.join();
    if (stderr_thread_.joinable()) stderr_thread_.join();
    std::lock_guard lock(write_mu_);
    child_.reset();  // reaps
    pid_ = 0;
  }

  int pid() const override { return pid_; }

  std::string RecentStderr() const override {
    std::lock_guard lock(stderr_mu_);
    std::string out;
    for (const auto& line : stderr_lines_) out += (out.empty() ? "" : " | ") + line;
    return out;
  }

 private:
  bool WaitForExit(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!child_->TryReap().has_value()) {
      if (std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  // Reads `fd` until EOF or stop, handing each chunk to `on_bytes`. False on a read error.
  bool Pump(int fd, const std::function<void(std::string_view)>& on_bytes) {
    char buffer[64 * 1024];
    for (;;) {
      if (stop_) return true;
      pollfd pfd{fd, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, kPollMs);
      if (ready < 0 && errno != EINTR) return false;
      if (ready <= 0) {
        if (stop_) return true;
        continue;
      }
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) return n == 0;
      on_bytes(std::string_view(buffer, static_cast<size_t>(n)));
    }
  }

  void ReadStdout() {
    LineSplitter splitter;
    std::vector<LineSplitter::Line> lines;
    Pump(child_->stdout_fd(), [&](std::string_view bytes) {
      lines.clear();
      splitter.Feed(bytes, lines);
      for (const auto& line : lines) {
        if (line.oversized) {
          sink_->OnOversized(line.size, line.head, line.tail);
        } else {
          sink_->OnText(line.text);
        }
      }
    });
    if (stop_) return;
    // stdout is closed: the process is exiting (or has closed it, which is as good as dead).
    std::string why;
    if (WaitForExit(std::chrono::seconds(1))) {
      why = "the server process " + DescribeWaitStatus(*child_->TryReap());
    } else {
      child_->Kill(SIGKILL);
      why = "the server process closed its stdout (it was killed)";
    }
    // Give the stderr reader a moment to collect the last words (a stack trace, a usage line).
    if (stderr_thread_.joinable()) {
      for (int i = 0; i < 10 && !stderr_done_; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    const std::string last = RecentStderr();
    if (!last.empty()) why += "; its last stderr output: " + last;
    if (!closed_reported_.exchange(true)) sink_->OnClosed(MakeError(ErrorCode::kUnavailable, why));
  }

  void ReadStderr() {
    std::string partial;
    Pump(child_->stderr_fd(), [&](std::string_view bytes) {
      partial.append(bytes);
      size_t nl;
      while ((nl = partial.find('\n')) != std::string::npos) {
        KeepStderrLine(partial.substr(0, nl));
        partial.erase(0, nl + 1);
      }
      if (partial.size() > kStderrLineMax) {
        KeepStderrLine(partial);
        partial.clear();
      }
    });
    if (!partial.empty()) KeepStderrLine(partial);
    stderr_done_ = true;
  }

  void KeepStderrLine(std::string line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) return;
    if (line.size() > kStderrLineMax) line = line.substr(0, kStderrLineMax) + "…";
    // Servers log their chatter here by design (stdout is the protocol), so info, not warn.
    spdlog::info("mcp {}: {}", config_.name, line);
    std::lock_guard lock(stderr_mu_);
    stderr_lines_.push_back(std::move(line));
    while (stderr_lines_.size() > kStderrLinesKept) stderr_lines_.pop_front();
  }

  const McpServerConfig config_;
  McpTransportSink* sink_ = nullptr;
  std::unique_ptr<Subprocess> child_;
  std::mutex write_mu_;  // one writer at a time on stdin; also guards child_ reset
  std::thread stdout_thread_;
  std::thread stderr_thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> closed_reported_{false};
  std::atomic<bool> stderr_done_{false};
  std::atomic<int> pid_{0};
  mutable std::mutex stderr_mu_;
  std::deque<std::string> stderr_lines_;  // guarded by stderr_mu_
};

}  // namespace

std::unique_ptr<McpTransport> MakeStdioTransport(const McpServerConfig& config) {
  return std::make_unique<StdioTransport>(config);
}

std::unique_ptr<McpTransport> MakeMcpTransport(const McpServerConfig& config) {
  return config.transport == McpTransportKind::kStdio ? MakeStdioTransport(config)
                                                  : MakeHttpTransport(config);
}

}  // namespace steward::tools::detail
