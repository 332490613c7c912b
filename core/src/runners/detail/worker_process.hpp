#pragma once
// One worker process as the pool sees it: the child, the thread reading its stdout/stderr, the
// runs in flight on it and its ping bookkeeping.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "runners/detail/subprocess.hpp"
#include "runners/worker_pool.hpp"

namespace steward::runners::detail {

using Clock = std::chrono::steady_clock;

// True on the pool's own threads (readers, supervisor): they must not join pool threads.
bool& InPoolThread();

// One run in flight: its sink, and whether its terminal event was delivered.
class RunEntry final {
 public:
  RunEntry(std::string run_id, WorkerEventSink sink) : run_id_(std::move(run_id)), sink_(std::move(sink)) {}

  [[nodiscard]] const std::string& run_id() const { return run_id_; }
  // Calls the sink with `event` unless the run already ended; `terminal` ends it. One sink call
  // at a time; returns whether the event was delivered.
  bool Deliver(const WorkerEvent& event, bool terminal);
  [[nodiscard]] bool finished() const { return finished_.load(std::memory_order_acquire); }

 private:
  const std::string run_id_;
  std::mutex mu_;  // held across the sink call: keeps a run's events ordered and exclusive
  std::atomic<bool> finished_{false};
  WorkerEventSink sink_;
};

// An `error` event made by the pool (worker_crashed, cancelled), shaped like a worker's.
[[nodiscard]] WorkerEvent MakeErrorEvent(const std::string& run_id, std::string_view code,
                                         std::string message);

enum class WorkerState {
  kStarting,  // spawned, no `ready` yet
  kReady,     // accepts runs
  kStopping,  // retired by the pool (killed, shutting down): accepts no runs
  kExited,    // its stdout closed: the process is gone or going
};
[[nodiscard]] std::string_view ToString(WorkerState state);

// Thread-safe. The reader thread delivers worker events straight to run sinks; `wake` is called
// (with no worker lock held) when the worker becomes ready, its stdout closes or the reader ends.
class WorkerProcess final {
 public:
  [[nodiscard]] static Result<std::unique_ptr<WorkerProcess>> Spawn(const SpawnOptions& options,
                                                                     std::function<void()> wake);
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;
  // Stops and joins the reader, then kills (if needed) and reaps the process.
  ~WorkerProcess();

  [[nodiscard]] int pid() const { return process_->pid(); }
  [[nodiscard]] WorkerState state() const { return state_.load(std::memory_order_acquire); }
  [[nodiscard]] bool ever_ready() const { return ever_ready_.load(std::memory_order_acquire); }
  [[nodiscard]] int in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  [[nodiscard]] bool reader_done() const { return reader_done_.load(std::memory_order_acquire); }

  // Registers `run` and writes its `run` line (`line` ends with '\n'). kUnavailable if this
  // worker is not ready or the write failed, kConflict if the run id is in flight here. On
  // error the sink is never called.
  [[nodiscard]] Status StartRun(const std::shared_ptr<RunEntry>& run, std::string_view line);
  [[nodiscard]] std::shared_ptr<RunEntry> FindRun(const std::string& run_id) const;
  // Drops `run` from the in-flight set (its later events are then ignored).
  void ForgetRun(const std::shared_ptr<RunEntry>& run);
  // Removes and returns every run in flight; no run can start here afterwards.
  [[nodiscard]] std::vector<std::shared_ptr<RunEntry>> TakeRuns();

  // Writes one protocol line, serialised with other writes. A write torn by the timeout leaves
  // the stream corrupt, so the worker is then killed.
  [[nodiscard]] Status SendLine(std::string_view line, std::chrono::milliseconds timeout);
  // Sends a ping unless another write is in progress (the supervisor must never block on a stuck
  // pipe); pings stay unanswered until a pong with the latest id or a later one arrives.
  void Ping();
  // When the oldest ping still unanswered was sent.
  [[nodiscard]] std::optional<Clock::time_point> UnansweredPingSince() const;

  // Stops accepting runs (before the pool kills or shuts it down).
  void Retire();
  void CloseStdin();
  void Kill(int signal) { process_->Kill(signal); }
  [[nodiscard]] std::optional<int> TryReap() { return process_->TryReap(); }
  [[nodiscard]] int Reap() { return process_->Reap(); }
  // Makes the reader end even if a grandchild still holds the worker's stdout/stderr open.
  void StopReader();
  void JoinReader();

  // The worker's last stderr lines, oldest first, joined by '\n'.
  [[nodiscard]] std::string StderrTail() const;

 private:
  WorkerProcess(std::unique_ptr<Subprocess> process, int wake_fd, std::function<void()> wake);
  void ReadLoop();
  void HandleStdoutLine(std::string_view line);
  void HandleStderrLine(std::string_view line);
  void HandleRunEvent(nlohmann::json& message, std::string type, bool terminal);

  const std::unique_ptr<Subprocess> process_;
  const int stop_fd_;  // eventfd polled by the reader
  const std::function<void()> wake_;

  std::atomic<WorkerState> state_{WorkerState::kStarting};
  std::atomic<bool> ever_ready_{false};
  std::atomic<int> in_flight_{0};
  std::atomic<bool> reader_done_{false};

  mutable std::mutex mu_;  // runs_, closed_, ping fields
  std::unordered_map<std::string, std::shared_ptr<RunEntry>> runs_;
  bool closed_ = false;
  int64_t last_ping_id_ = 0;
  Clock::time_point last_ping_sent_{};
  std::optional<Clock::time_point> unanswered_since_;

  std::mutex write_mu_;  // one writer on stdin at a time

  mutable std::mutex tail_mu_;
  std::deque<std::string> stderr_tail_;

  std::thread reader_;
};

}  // namespace steward::runners::detail
