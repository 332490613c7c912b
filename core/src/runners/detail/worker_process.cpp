#include "runners/detail/worker_process.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace steward::runners::detail {

namespace {

constexpr size_t kStderrTailLines = 20;
constexpr size_t kStderrLineMax = 1000;
// A `done` carries the whole answer; anything near this is a runaway worker, not an answer.
constexpr size_t kMaxLineBytes = 64u << 20;
// After stdout closes, stderr usually reaches EOF at once; a grandchild may hold it open.
constexpr auto kStderrDrain = std::chrono::milliseconds(1000);
constexpr auto kRunWriteTimeout = std::chrono::milliseconds(2000);
constexpr auto kPingWriteTimeout = std::chrono::milliseconds(100);

std::string Excerpt(std::string_view line) {
  constexpr size_t kMax = 200;
  if (line.size() <= kMax) return std::string(line);
  return std::string(line.substr(0, kMax)) + "… (" + std::to_string(line.size()) + " bytes)";
}

// The worker logs "%(levelname)s %(name)s: %(message)s"; keep its level, default to info.
spdlog::level::level_enum StderrLevel(std::string_view line) {
  const std::string_view word = line.substr(0, line.find(' '));
  if (word == "WARNING") return spdlog::level::warn;
  if (word == "ERROR") return spdlog::level::err;
  if (word == "CRITICAL") return spdlog::level::critical;
  if (word == "DEBUG") return spdlog::level::debug;
  return spdlog::level::info;
}

// Splits a byte stream into '\n'-terminated lines, handing out views into the read buffer when
// a line arrived whole (the common case for token events) and copying only partial lines.
class LineSplitter final {
 public:
  LineSplitter(int pid, const char* stream) : pid_(pid), stream_(stream) {}

  template <typename OnLine>
  void Feed(const char* data, size_t size, OnLine&& on_line) {
    const char* p = data;
    const char* end = data + size;
    while (p < end) {
      const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      if (nl == nullptr) {
        Keep(p, static_cast<size_t>(end - p));
        return;
      }
      if (overflow_) {
        overflow_ = false;
      } else if (pending_.empty()) {
        on_line(std::string_view(p, static_cast<size_t>(nl - p)));
      } else {
        pending_.append(p, nl);
        on_line(std::string_view(pending_));
        pending_.clear();
      }
      p = nl + 1;
    }
  }

  // The unterminated rest, if any.
  std::string TakeRest() { return overflow_ ? std::string() : std::move(pending_); }

 private:
  void Keep(const char* p, size_t n) {
    if (overflow_) return;
    if (pending_.size() + n > kMaxLineBytes) {
      spdlog::warn("worker {} wrote a {} line over {} bytes; dropping it", pid_, stream_, kMaxLineBytes);
      pending_.clear();
      pending_.shrink_to_fit();
      overflow_ = true;
      return;
    }
    pending_.append(p, n);
  }

  const int pid_;
  const char* const stream_;
  std::string pending_;
  bool overflow_ = false;  // dropping bytes until the next '\n'
};

}  // namespace

bool& InPoolThread() {
  thread_local bool in_pool = false;
  return in_pool;
}

bool RunEntry::Deliver(const WorkerEvent& event, bool terminal) {
  std::lock_guard lock(mu_);
  if (finished_.load(std::memory_order_relaxed)) return false;
  if (terminal) finished_.store(true, std::memory_order_release);
  try {
    if (sink_) sink_(event);
  } catch (const std::exception& e) {
    spdlog::error("the event sink of run {} threw on a {} event: {}", run_id_, event.type, e.what());
  } catch (...) {
    spdlog::error("the event sink of run {} threw on a {} event", run_id_, event.type);
  }
  if (terminal) sink_ = nullptr;  // release what the sink captured as soon as the run ends
  return true;
}

WorkerEvent MakeErrorEvent(const std::string& run_id, std::string_view code, std::string message) {
  return WorkerEvent{"error", nlohmann::json{{"type", "error"},
                                             {"run_id", run_id},
                                             {"code", code},
                                             {"message", std::move(message)}}};
}

std::string_view ToString(WorkerState state) {
  switch (state) {
    case WorkerState::kStarting: return "starting";
    case WorkerState::kReady: return "ready";
    case WorkerState::kStopping: return "stopping";
    case WorkerState::kExited: return "exited";
  }
  return "unknown";
}

Result<std::unique_ptr<WorkerProcess>> WorkerProcess::Spawn(const SpawnOptions& options,
                                                            std::function<void()> wake) {
  auto process = Subprocess::Spawn(options);
  if (!process.ok()) return process.error();
  const int stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd < 0) {
    const int err = errno;
    return MakeError(ErrorCode::kUnavailable, std::string("cannot create an eventfd: ") + std::strerror(err));
  }
  std::unique_ptr<WorkerProcess> worker(new WorkerProcess(std::move(*process), stop_fd, std::move(wake)));
  worker->reader_ = std::thread([w = worker.get()] { w->ReadLoop(); });
  return worker;
}

WorkerProcess::WorkerProcess(std::unique_ptr<Subprocess> process, int stop_fd, std::function<void()> wake)
    : process_(std::move(process)), stop_fd_(stop_fd), wake_(std::move(wake)) {}

WorkerProcess::~WorkerProcess() {
  StopReader();
  JoinReader();
  ::close(stop_fd_);
  // process_ closes the pipes and kills/reaps the child if it still runs.
}

void WorkerProcess::StopReader() {
  const uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);
}

void WorkerProcess::JoinReader() {
  if (reader_.joinable() && reader_.get_id() != std::this_thread::get_id()) reader_.join();
}

void WorkerProcess::ReadLoop() {
  InPoolThread() = true;
  const int pid = process_->pid();
  LineSplitter out(pid, "stdout");
  LineSplitter err(pid, "stderr");
  std::vector<char> buffer(64 * 1024);
  const auto on_stdout = [this](std::string_view line) { HandleStdoutLine(line); };
  const auto on_stderr = [this](std::string_view line) { HandleStderrLine(line); };
  bool out_open = true;
  bool err_open = true;
  Clock::time_point drain_deadline{};
  while (out_open || err_open) {
    int timeout_ms = -1;
    if (!out_open) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(drain_deadline - Clock::now());
      if (left.count() <= 0) break;
      timeout_ms = static_cast<int>(left.count());
    }
    pollfd fds[3] = {{out_open ? process_->stdout_fd() : -1, POLLIN, 0},
                     {err_open ? process_->stderr_fd() : -1, POLLIN, 0},
                     {stop_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, 3, timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      spdlog::error("worker {}: poll failed: {}", pid, std::strerror(errno));
      break;
    }
    if (fds[2].revents != 0) break;
    bool notify = false;
    if (fds[0].revents != 0) {
      const ssize_t n = ::read(process_->stdout_fd(), buffer.data(), buffer.size());
      if (n > 0) {
        out.Feed(buffer.data(), static_cast<size_t>(n), on_stdout);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        out_open = false;
        state_.store(WorkerState::kExited, std::memory_order_release);
        drain_deadline = Clock::now() + kStderrDrain;
        notify = true;
      }
    }
    if (fds[1].revents != 0) {
      const ssize_t n = ::read(process_->stderr_fd(), buffer.data(), buffer.size());
      if (n > 0) {
        err.Feed(buffer.data(), static_cast<size_t>(n), on_stderr);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        err_open = false;
      }
    }
    if (notify) wake_();
  }
  if (std::string rest = err.TakeRest(); !rest.empty()) HandleStderrLine(rest);
  state_.store(WorkerState::kExited, std::memory_order_release);
  reader_done_.store(true, std::memory_order_release);
  wake_();
}

void WorkerProcess::HandleStdoutLine(std::string_view line) {
  if (line.empty()) return;
  nlohmann::json message = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded() || !message.is_object()) {
    spdlog::warn("worker {} wrote a stdout line that is not a JSON object (ignored): {}", pid(), Excerpt(line));
    return;
  }
  const auto type_it = message.find("type");
  if (type_it == message.end() || !type_it->is_string()) {
    spdlog::warn("worker {} wrote a message without a string `type` (ignored): {}", pid(), Excerpt(line));
    return;
  }
  const std::string& type = type_it->get_ref<const std::string&>();
  if (type == "token" || type == "status" || type == "spans") return HandleRunEvent(message, type, false);
  if (type == "done" || type == "error") return HandleRunEvent(message, type, true);
  if (type == "embeddings" || type == "embed_error") {
    // An embed is tracked like a run keyed "embed:<id>" (see WorkerPool::Embed), so a worker's
    // death fails it the same way.
    const auto id_it = message.find("id");
    if (id_it == message.end() || !id_it->is_number_integer()) {
      spdlog::warn("worker {} sent `{}` without an integer `id` (ignored)", pid(), type);
      return;
    }
    message["run_id"] = "embed:" + std::to_string(id_it->get<int64_t>());
    return HandleRunEvent(message, type, true);
  }
  if (type == "pong") {
    const auto id_it = message.find("id");
    const int64_t id = id_it != message.end() && id_it->is_number_integer() ? id_it->get<int64_t>() : -1;
    std::lock_guard lock(mu_);
    if (id >= last_ping_id_) {
      unanswered_since_.reset();
    } else if (id > 0 && unanswered_since_.has_value()) {
      unanswered_since_ = last_ping_sent_;  // an older ping was answered; the latest is pending
    }
    return;
  }
  if (type == "ready") {
    WorkerState expected = WorkerState::kStarting;
    if (state_.compare_exchange_strong(expected, WorkerState::kReady)) {
      ever_ready_.store(true, std::memory_order_release);
      spdlog::info("worker {} is ready (runners {}, versions {})", pid(),
                   message.value("runners", nlohmann::json::array()).dump(),
                   message.value("versions", nlohmann::json::object()).dump());
      wake_();
    } else {
      spdlog::warn("worker {} sent `ready` while {} (ignored)", pid(), ToString(expected));
    }
    return;
  }
  if (type == "protocol_error") {
    spdlog::warn("worker {} could not understand a line from the core: {}", pid(),
                 message.value("message", std::string("(no message)")));
    return;
  }
  spdlog::warn("worker {} sent a message of unknown type `{}` (ignored): {}", pid(), type, Excerpt(line));
}

void WorkerProcess::HandleRunEvent(nlohmann::json& message, std::string type, bool terminal) {
  const auto id_it = message.find("run_id");
  if (id_it == message.end() || !id_it->is_string()) {
    spdlog::warn("worker {} sent a `{}` without a string `run_id` (ignored)", pid(), type);
    return;
  }
  const std::string& run_id = id_it->get_ref<const std::string&>();
  std::shared_ptr<RunEntry> run;
  {
    std::lock_guard lock(mu_);
    const auto it = runs_.find(run_id);
    if (it != runs_.end()) {
      run = it->second;
      if (terminal) {
        runs_.erase(it);
        in_flight_.store(static_cast<int>(runs_.size()), std::memory_order_relaxed);
      }
    }
  }
  if (!run) {
    spdlog::debug("worker {}: `{}` for unknown or ended run {} dropped", pid(), type, run_id);
    return;
  }
  const WorkerEvent event{std::move(type), std::move(message)};
  run->Deliver(event, terminal);
}

void WorkerProcess::HandleStderrLine(std::string_view line) {
  if (line.empty()) return;
  spdlog::log(StderrLevel(line), "worker {}: {}", pid(), line);
  std::lock_guard lock(tail_mu_);
  stderr_tail_.emplace_back(line.substr(0, kStderrLineMax));
  if (stderr_tail_.size() > kStderrTailLines) stderr_tail_.pop_front();
}

std::string WorkerProcess::StderrTail() const {
  std::lock_guard lock(tail_mu_);
  std::string tail;
  for (const auto& line : stderr_tail_) {
    if (!tail.empty()) tail += '\n';
    tail += line;
  }
  return tail;
}

Status WorkerProcess::StartRun(const std::shared_ptr<RunEntry>& run, std::string_view line) {
  {
    std::lock_guard lock(mu_);
    if (closed_ || state() != WorkerState::kReady) {
      return MakeError(ErrorCode::kUnavailable, "worker " + std::to_string(pid()) + " is not ready");
    }
    if (!runs_.try_emplace(run->run_id(), run).second) {
      return MakeError(ErrorCode::kConflict, "run " + run->run_id() + " is already running");
    }
    in_flight_.store(static_cast<int>(runs_.size()), std::memory_order_relaxed);
  }
  Status sent = SendLine(line, kRunWriteTimeout);
  if (sent.ok()) return sent;
  {
    std::lock_guard lock(mu_);
    const auto it = runs_.find(run->run_id());
    if (it == runs_.end() || it->second != run) {
      // The pool already ended the run (the worker died meanwhile) and told its sink.
      return Status::Ok();
    }
    runs_.erase(it);
    in_flight_.store(static_cast<int>(runs_.size()), std::memory_order_relaxed);
  }
  return MakeError(ErrorCode::kUnavailable,
                   "worker " + std::to_string(pid()) + " did not take the run: " + sent.error().message);
}

std::shared_ptr<RunEntry> WorkerProcess::FindRun(const std::string& run_id) const {
  std::lock_guard lock(mu_);
  const auto it = runs_.find(run_id);
  return it == runs_.end() ? nullptr : it->second;
}

void WorkerProcess::ForgetRun(const std::shared_ptr<RunEntry>& run) {
  std::lock_guard lock(mu_);
  const auto it = runs_.find(run->run_id());
  if (it != runs_.end() && it->second == run) {
    runs_.erase(it);
    in_flight_.store(static_cast<int>(runs_.size()), std::memory_order_relaxed);
  }
}

std::vector<std::shared_ptr<RunEntry>> WorkerProcess::TakeRuns() {
  std::lock_guard lock(mu_);
  closed_ = true;
  std::vector<std::shared_ptr<RunEntry>> runs;
  runs.reserve(runs_.size());
  for (auto& [id, run] : runs_) runs.push_back(std::move(run));
  runs_.clear();
  in_flight_.store(0, std::memory_order_relaxed);
  return runs;
}

Status WorkerProcess::SendLine(std::string_view line, std::chrono::milliseconds timeout) {
  std::lock_guard lock(write_mu_);
  bool partial = false;
  Status written = process_->WriteStdin(line, timeout, &partial);
  if (!written.ok() && partial) {
    spdlog::error("worker {} stopped reading mid-message; killing it (the stream is torn)", pid());
    Retire();
    process_->Kill(SIGKILL);
  }
  return written;
}

void WorkerProcess::Ping() {
  std::unique_lock write_lock(write_mu_, std::try_to_lock);
  if (!write_lock.owns_lock()) return;
  int64_t id = 0;
  {
    std::lock_guard lock(mu_);
    id = ++last_ping_id_;
    last_ping_sent_ = Clock::now();
    if (!unanswered_since_.has_value()) unanswered_since_ = last_ping_sent_;
  }
  const std::string line = R"({"type":"ping","id":)" + std::to_string(id) + "}\n";
  bool partial = false;
  if (!process_->WriteStdin(line, kPingWriteTimeout, &partial).ok() && partial) {
    spdlog::error("worker {} stopped reading mid-ping; killing it (the stream is torn)", pid());
    Retire();
    process_->Kill(SIGKILL);
  }
}

std::optional<Clock::time_point> WorkerProcess::UnansweredPingSince() const {
  std::lock_guard lock(mu_);
  return unanswered_since_;
}

void WorkerProcess::Retire() {
  WorkerState s = state_.load(std::memory_order_acquire);
  while ((s == WorkerState::kStarting || s == WorkerState::kReady) &&
         !state_.compare_exchange_weak(s, WorkerState::kStopping)) {
  }
}

void WorkerProcess::CloseStdin() {
  std::lock_guard lock(write_mu_);
  process_->CloseStdin();
}

}  // namespace steward::runners::detail
