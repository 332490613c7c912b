#include "runners/worker_pool.hpp"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

#include "runners/detail/worker_process.hpp"

namespace steward::runners {

namespace {

using detail::Clock;
using detail::RunEntry;
using detail::WorkerProcess;
using detail::WorkerState;
using std::chrono::milliseconds;

constexpr auto kCancelGrace = std::chrono::seconds(2);
constexpr auto kShutdownGrace = std::chrono::seconds(3);
constexpr auto kTermGrace = std::chrono::seconds(1);
// While a worker is dying (killed, stdout closed) the supervisor polls waitpid at this pace.
constexpr auto kDeathPoll = milliseconds(20);
constexpr auto kStdoutClosedKillAfter = std::chrono::seconds(2);
constexpr auto kReaderGraceAfterExit = std::chrono::seconds(1);
constexpr auto kControlWriteTimeout = milliseconds(200);
constexpr auto kRestartWindow = std::chrono::seconds(60);
constexpr auto kFirstBackoff = milliseconds(100);
constexpr auto kMaxBackoff = milliseconds(10000);

std::string Ms(milliseconds d) { return std::to_string(d.count()) + " ms"; }

std::string BuildRunLine(const RunRequest& r) {
  const AgentConfig& a = r.agent;
  nlohmann::json agent{
      {"name", a.name},
      {"system_prompt", a.system_prompt},
      {"model", a.model},
      {"temperature", a.temperature ? nlohmann::json(*a.temperature) : nlohmann::json(nullptr)},
      {"max_retries", a.max_retries},
      {"tools", a.tools},
      {"risk_threshold", a.risk_threshold},
  };
  nlohmann::json message{
      {"type", "run"},
      {"run_id", r.run_id},
      {"runner", r.runner.empty() ? a.runner : r.runner},
      {"agent", std::move(agent)},
      {"input", r.input.is_null() ? nlohmann::json::object() : r.input},
      {"core", {{"base_url", r.core_base_url}, {"token", r.token}}},
      {"trace", {{"traceparent", r.traceparent}}},
  };
  if (r.limits.is_object() && !r.limits.empty()) message["limits"] = r.limits;
  return message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// Polls `done` until it holds or `limit` passes; used only while workers are exiting.
template <typename Pred>
bool WaitFor(Pred done, Clock::duration limit) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kDeathPoll);
  }
  return true;
}

}  // namespace

class WorkerPool::Impl {
 public:
  explicit Impl(WorkerPoolOptions options)
      : options_(std::move(options)),
        spawn_options_{options_.command, options_.env},
        slots_(static_cast<size_t>(options_.size)) {
    for (size_t i = 0; i < slots_.size(); ++i) slots_[i].index = static_cast<int>(i);
  }
  ~Impl() { Shutdown(); }

  Status StartAndWait();
  Status Submit(const RunRequest& request, WorkerEventSink sink);
  void Cancel(const std::string& run_id);
  Result<EmbedResult> Embed(const std::vector<std::string>& texts, milliseconds timeout);
  std::vector<WorkerHealth> Health() const;
  void Shutdown();

 private:
  enum class SlotState { kRunning, kRestarting, kFailed, kStopped };
  static std::string_view ToString(SlotState state) {
    switch (state) {
      case SlotState::kRunning: return "running";
      case SlotState::kRestarting: return "restarting";
      case SlotState::kFailed: return "failed";
      case SlotState::kStopped: return "stopped";
    }
    return "unknown";
  }

  struct Slot {
    int index = 0;
    std::shared_ptr<WorkerProcess> worker;  // null while waiting to respawn
    SlotState state = SlotState::kStopped;
    Clock::time_point spawned_at{};
    Clock::time_point respawn_at{};
    bool pinging = false;  // next_ping_at is set (the worker is ready)
    Clock::time_point next_ping_at{};
    std::optional<Clock::time_point> stdout_closed_at;
    std::optional<Clock::time_point> reaped_at;
    std::string kill_reason;  // why the pool killed the current worker, e.g. "did not answer a ping…"
    std::deque<Clock::time_point> recent_restarts;
    int restarts = 0;
    std::string last_error;
  };

  struct PendingCancel {
    std::shared_ptr<RunEntry> run;
    std::weak_ptr<WorkerProcess> worker;
    Clock::time_point deadline;
  };

  void Wake() {
    {
      std::lock_guard lock(mu_);
      wake_pending_ = true;
    }
    cv_.notify_all();
  }
  bool AllReady() const;  // mu_ held
  std::string DescribeSlots() const;  // mu_ held
  void SupervisorMain();
  Clock::time_point Tick(std::unique_lock<std::mutex>& lock);
  void SpawnInto(Slot& slot, std::unique_lock<std::mutex>& lock);
  void HandleDeath(Slot& slot, std::unique_lock<std::mutex>& lock);
  void ScheduleRestart(Slot& slot, Clock::time_point now);  // mu_ held
  void KillWorker(Slot& slot, std::string reason);           // mu_ held
  void ShutdownWorkers();

  const WorkerPoolOptions options_;
  const detail::SpawnOptions spawn_options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // supervisor wake-ups and Start's wait for `ready`
  std::vector<Slot> slots_;     // fixed size: references stay valid while mu_ is released
  std::vector<PendingCancel> cancels_;
  bool wake_pending_ = false;
  bool stopping_ = false;
  bool start_phase_ = true;  // a worker dying before `ready` now fails Start instead of restarting
  std::optional<Error> start_error_;

  std::mutex join_mu_;
  std::thread supervisor_;
  std::atomic<int64_t> next_embed_id_{1};
};

Status WorkerPool::Impl::StartAndWait() {
  // Workers are spawned from the supervisor thread: PR_SET_PDEATHSIG fires when the spawning
  // thread ends, so they must come from a thread that lives exactly as long as the pool.
  supervisor_ = std::thread([this] { SupervisorMain(); });
  std::unique_lock lock(mu_);
  const auto limit = Clock::now() + options_.start_timeout + std::chrono::seconds(10);
  const bool settled =
      cv_.wait_until(lock, limit, [this] { return start_error_.has_value() || stopping_ || AllReady(); });
  if (settled && !start_error_ && !stopping_) {
    start_phase_ = false;
    return Status::Ok();
  }
  Error error = start_error_.value_or(MakeError(
      ErrorCode::kUnavailable, "the workers did not become ready: " + DescribeSlots()));
  lock.unlock();
  Shutdown();
  return error;
}

bool WorkerPool::Impl::AllReady() const {
  return std::all_of(slots_.begin(), slots_.end(), [](const Slot& s) {
    return s.worker && s.worker->state() == WorkerState::kReady;
  });
}

std::string WorkerPool::Impl::DescribeSlots() const {
  std::string text;
  for (const Slot& slot : slots_) {
    if (!text.empty()) text += "; ";
    text += "slot " + std::to_string(slot.index) + ": ";
    if (slot.worker) {
      text += "worker " + std::to_string(slot.worker->pid()) + " " +
              std::string(detail::ToString(slot.worker->state()));
    } else {
      text += slot.state == SlotState::kFailed ? "failed (crash loop)" : std::string(ToString(slot.state));
    }
    if (!slot.last_error.empty()) text += ", last error: " + slot.last_error;
  }
  return text;
}

void WorkerPool::Impl::SupervisorMain() {
  detail::InPoolThread() = true;
  {
    std::unique_lock lock(mu_);
    for (Slot& slot : slots_) {
      if (stopping_ || start_error_) break;
      SpawnInto(slot, lock);
    }
    while (!stopping_) {
      const auto next = Tick(lock);
      if (stopping_) break;
      cv_.wait_until(lock, next, [this] { return stopping_ || wake_pending_; });
      wake_pending_ = false;
    }
  }
  ShutdownWorkers();
}

void WorkerPool::Impl::SpawnInto(Slot& slot, std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  auto spawned = WorkerProcess::Spawn(spawn_options_, [this] { Wake(); });
  lock.lock();
  const auto now = Clock::now();
  if (spawned.ok()) {
    slot.worker = std::move(spawned.value());
    slot.state = SlotState::kRunning;
    slot.spawned_at = now;
    slot.pinging = false;
    slot.stdout_closed_at.reset();
    slot.reaped_at.reset();
    slot.kill_reason.clear();
    spdlog::info("started worker {} in slot {}", slot.worker->pid(), slot.index);
    return;
  }
  slot.last_error = "cannot start the worker: " + spawned.error().message;
  if (start_phase_) {
    slot.state = SlotState::kStopped;
    if (!start_error_) start_error_ = MakeError(ErrorCode::kUnavailable, slot.last_error);
    cv_.notify_all();
    return;
  }
  spdlog::error("slot {}: {}", slot.index, slot.last_error);
  ScheduleRestart(slot, now);
}

void WorkerPool::Impl::ScheduleRestart(Slot& slot, Clock::time_point now) {
  auto& recent = slot.recent_restarts;
  while (!recent.empty() && now - recent.front() >= kRestartWindow) recent.pop_front();
  if (static_cast<int>(recent.size()) >= options_.max_restarts_per_minute) {
    slot.state = SlotState::kFailed;
    slot.respawn_at = recent.front() + kRestartWindow;
    spdlog::error("slot {} is crash-looping ({} restarts within a minute); next attempt in {} s", slot.index,
                  recent.size(),
                  std::chrono::duration_cast<std::chrono::seconds>(slot.respawn_at - now).count());
    return;
  }
  slot.state = SlotState::kRestarting;
  auto backoff = milliseconds(0);
  if (!recent.empty()) {
    backoff = std::min(kMaxBackoff, kFirstBackoff * (1 << std::min<size_t>(recent.size() - 1, 10)));
  }
  slot.respawn_at = now + backoff;
}

void WorkerPool::Impl::KillWorker(Slot& slot, std::string reason) {
  spdlog::warn("worker {} {}; killing it", slot.worker->pid(), reason);
  slot.kill_reason = std::move(reason);
  slot.worker->Retire();
  slot.worker->Kill(SIGKILL);
}

Clock::time_point WorkerPool::Impl::Tick(std::unique_lock<std::mutex>& lock) {
  auto now = Clock::now();
  auto next = now + std::chrono::hours(1);
  std::vector<std::shared_ptr<WorkerProcess>> to_ping;
  for (Slot& slot : slots_) {
    if (stopping_) return now;
    if (!slot.worker) {
      if (slot.state != SlotState::kRestarting && slot.state != SlotState::kFailed) continue;
      if (now >= slot.respawn_at) {
        slot.recent_restarts.push_back(now);
        ++slot.restarts;
        SpawnInto(slot, lock);
        now = Clock::now();
        next = std::min(next, slot.worker ? now + options_.start_timeout : slot.respawn_at);
      } else {
        next = std::min(next, slot.respawn_at);
      }
      continue;
    }
    const std::shared_ptr<WorkerProcess> worker = slot.worker;
    const auto status = worker->TryReap();
    if (status.has_value() && !slot.reaped_at) slot.reaped_at = now;
    if (status.has_value() && worker->reader_done()) {
      HandleDeath(slot, lock);
      now = Clock::now();
      if (!slot.worker && slot.state != SlotState::kStopped) next = std::min(next, slot.respawn_at);
      continue;
    }
    if (status.has_value()) {
      // Exited, but a grandchild may hold its pipes open: give the reader a moment, then stop it.
      if (now - *slot.reaped_at >= kReaderGraceAfterExit) worker->StopReader();
      next = std::min(next, now + kDeathPoll);
      continue;
    }
    const WorkerState state = worker->state();
    if (state == WorkerState::kExited) {
      if (!slot.stdout_closed_at) slot.stdout_closed_at = now;
      if (now - *slot.stdout_closed_at >= kStdoutClosedKillAfter && slot.kill_reason.empty()) {
        KillWorker(slot, "closed its stdout but did not exit");
      }
      next = std::min(next, now + kDeathPoll);
      continue;
    }
    if (state == WorkerState::kStopping || !slot.kill_reason.empty()) {
      next = std::min(next, now + kDeathPoll);
      continue;
    }
    if (state == WorkerState::kStarting) {
      const auto deadline = slot.spawned_at + options_.start_timeout;
      if (now >= deadline) {
        KillWorker(slot, "did not send `ready` within " + Ms(options_.start_timeout));
        next = std::min(next, now + kDeathPoll);
      } else {
        next = std::min(next, deadline);
      }
      continue;
    }
    if (!slot.pinging) {
      slot.pinging = true;
      slot.next_ping_at = now + options_.ping_interval;
    }
    if (const auto since = worker->UnansweredPingSince(); since.has_value()) {
      if (now - *since >= options_.ping_timeout) {
        KillWorker(slot, "did not answer a ping within " + Ms(options_.ping_timeout));
        next = std::min(next, now + kDeathPoll);
        continue;
      }
      next = std::min(next, *since + options_.ping_timeout);
    }
    if (now >= slot.next_ping_at) {
      to_ping.push_back(worker);
      slot.next_ping_at = now + options_.ping_interval;
      next = std::min(next, now + options_.ping_timeout);
    }
    next = std::min(next, slot.next_ping_at);
  }

  std::vector<PendingCancel> expired;
  for (auto it = cancels_.begin(); it != cancels_.end();) {
    if (it->run->finished()) {
      it = cancels_.erase(it);
    } else if (now >= it->deadline) {
      expired.push_back(std::move(*it));
      it = cancels_.erase(it);
    } else {
      next = std::min(next, it->deadline);
      ++it;
    }
  }
  if (to_ping.empty() && expired.empty()) return next;

  lock.unlock();
  for (const auto& worker : to_ping) worker->Ping();
  for (auto& cancel : expired) {
    if (auto worker = cancel.worker.lock()) worker->ForgetRun(cancel.run);
    const std::string& run_id = cancel.run->run_id();
    if (cancel.run->Deliver(
            detail::MakeErrorEvent(run_id, "cancelled", "the run was cancelled (the worker did not stop it within 2 s)"),
            true)) {
      spdlog::warn("run {} did not end within 2 s of cancel; ended it without the worker", run_id);
    }
  }
  lock.lock();
  return next;
}

void WorkerPool::Impl::HandleDeath(Slot& slot, std::unique_lock<std::mutex>& lock) {
  std::shared_ptr<WorkerProcess> worker = std::move(slot.worker);
  slot.worker.reset();
  const std::string pid = std::to_string(worker->pid());
  const std::string how = detail::DescribeWaitStatus(worker->TryReap().value_or(0));
  const std::string tail = worker->StderrTail();
  const std::string what = slot.kill_reason.empty() ? how : slot.kill_reason + " and was killed";
  slot.last_error = "worker " + pid + " " + what;
  if (start_phase_ && !worker->ever_ready()) {
    std::string message =
        "worker " + pid + " " + (slot.kill_reason.empty() ? how + " before ready" : slot.kill_reason);
    if (!tail.empty()) message += ": " + tail;
    slot.state = SlotState::kStopped;
    if (!start_error_) start_error_ = MakeError(ErrorCode::kUnavailable, std::move(message));
    cv_.notify_all();
  } else {
    spdlog::error("worker {} {} (slot {}){}{}", pid, what, slot.index,
                  tail.empty() ? "" : "; its last stderr lines:\n", tail);
    ScheduleRestart(slot, Clock::now());
  }
  lock.unlock();
  worker->JoinReader();  // the reader is done: no event of this worker can race the errors below
  const std::string message = "worker " + pid + " " + what + " during the run";
  for (const auto& run : worker->TakeRuns()) {
    run->Deliver(detail::MakeErrorEvent(run->run_id(), "worker_crashed", message), true);
  }
  worker.reset();
  lock.lock();
}

void WorkerPool::Impl::ShutdownWorkers() {
  std::vector<std::shared_ptr<WorkerProcess>> workers;
  {
    std::lock_guard lock(mu_);
    for (Slot& slot : slots_) {
      if (slot.worker) workers.push_back(slot.worker);
    }
    cancels_.clear();  // every run still in flight ends below
  }
  for (const auto& worker : workers) {
    worker->Retire();
    (void)worker->SendLine("{\"type\":\"shutdown\"}\n", kControlWriteTimeout);
    worker->CloseStdin();
  }
  auto all_exited = [&workers] {
    return std::all_of(workers.begin(), workers.end(),
                       [](const auto& w) { return w->TryReap().has_value(); });
  };
  if (!WaitFor(all_exited, kShutdownGrace)) {
    for (const auto& worker : workers) {
      if (worker->TryReap().has_value()) continue;
      spdlog::warn("worker {} did not exit within 3 s of `shutdown`; sending SIGTERM", worker->pid());
      worker->Kill(SIGTERM);
    }
    if (!WaitFor(all_exited, kTermGrace)) {
      for (const auto& worker : workers) {
        if (worker->TryReap().has_value()) continue;
        spdlog::warn("worker {} ignored SIGTERM; sending SIGKILL", worker->pid());
        worker->Kill(SIGKILL);
        (void)worker->Reap();
      }
    }
  }
  // Let readers forward the workers' last stderr lines before stopping them.
  (void)WaitFor([&workers] {
    return std::all_of(workers.begin(), workers.end(), [](const auto& w) { return w->reader_done(); });
  }, milliseconds(500));
  for (const auto& worker : workers) {
    worker->StopReader();
    worker->JoinReader();
    for (const auto& run : worker->TakeRuns()) {
      run->Deliver(
          detail::MakeErrorEvent(run->run_id(), "cancelled", "the run was cancelled: Steward is shutting down"),
          true);
    }
  }
  std::lock_guard lock(mu_);
  for (Slot& slot : slots_) {
    slot.worker.reset();
    slot.state = SlotState::kStopped;
  }
}

void WorkerPool::Impl::Shutdown() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    wake_pending_ = true;
  }
  cv_.notify_all();
  // From a sink the supervisor finishes shutting down on its own; joining here would deadlock.
  if (detail::InPoolThread()) return;
  std::lock_guard join_lock(join_mu_);
  if (supervisor_.joinable()) supervisor_.join();
}

Status WorkerPool::Impl::Submit(const RunRequest& request, WorkerEventSink sink) {
  if (request.run_id.empty()) return MakeError(ErrorCode::kInvalidArgument, "a run needs a run_id");
  std::vector<std::shared_ptr<WorkerProcess>> ready;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return MakeError(ErrorCode::kUnavailable, "the worker pool is shutting down");
    for (const Slot& slot : slots_) {
      if (!slot.worker) continue;
      if (slot.worker->FindRun(request.run_id)) {
        return MakeError(ErrorCode::kConflict, "run " + request.run_id + " is already running");
      }
      if (slot.worker->state() == WorkerState::kReady) ready.push_back(slot.worker);
    }
    if (ready.empty()) {
      return MakeError(ErrorCode::kUnavailable, "no worker is ready (" + DescribeSlots() + ")");
    }
  }
  std::stable_sort(ready.begin(), ready.end(),
                   [](const auto& a, const auto& b) { return a->in_flight() < b->in_flight(); });
  const std::string line = BuildRunLine(request);
  const auto run = std::make_shared<RunEntry>(request.run_id, std::move(sink));
  Status last = MakeError(ErrorCode::kUnavailable, "no worker is ready");
  for (const auto& worker : ready) {
    last = worker->StartRun(run, line);
    if (last.ok() || last.error().code == ErrorCode::kConflict) return last;
  }
  return last;
}

void WorkerPool::Impl::Cancel(const std::string& run_id) {
  std::vector<std::shared_ptr<WorkerProcess>> workers;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;  // shutting down ends every run anyway
    for (const Slot& slot : slots_) {
      if (slot.worker) workers.push_back(slot.worker);
    }
  }
  for (const auto& worker : workers) {
    auto run = worker->FindRun(run_id);
    if (!run) continue;
    const nlohmann::json message{{"type", "cancel"}, {"run_id", run_id}};
    const std::string line = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (const Status sent = worker->SendLine(line, kControlWriteTimeout); !sent.ok()) {
      spdlog::warn("cannot send cancel for run {} to worker {}: {}", run_id, worker->pid(), sent.error().message);
    }
    {
      std::lock_guard lock(mu_);
      cancels_.push_back(PendingCancel{std::move(run), worker, Clock::now() + kCancelGrace});
      wake_pending_ = true;
    }
    cv_.notify_all();
    return;
  }
}

Result<EmbedResult> WorkerPool::Impl::Embed(const std::vector<std::string>& texts, milliseconds timeout) {
  if (texts.empty()) return EmbedResult{};
  std::vector<std::shared_ptr<WorkerProcess>> ready;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return MakeError(ErrorCode::kUnavailable, "the worker pool is shutting down");
    // Slot order, not load: the first worker that embedded keeps the model in memory.
    for (const Slot& slot : slots_) {
      if (slot.worker && slot.worker->state() == WorkerState::kReady) ready.push_back(slot.worker);
    }
    if (ready.empty()) return MakeError(ErrorCode::kUnavailable, "no worker is ready (" + DescribeSlots() + ")");
  }
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<WorkerEvent> event;
  };
  const auto waiter = std::make_shared<Waiter>();
  const int64_t id = next_embed_id_++;
  // Tracked like a run (see WorkerProcess::HandleStdoutLine), so a dying worker fails it.
  const auto entry = std::make_shared<RunEntry>("embed:" + std::to_string(id), [waiter](const WorkerEvent& e) {
    std::lock_guard lock(waiter->mu);
    waiter->event = e;
    waiter->cv.notify_all();
  });
  const nlohmann::json message{{"type", "embed"}, {"id", id}, {"texts", texts}};
  const std::string line = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::shared_ptr<WorkerProcess> used;
  Status last = MakeError(ErrorCode::kUnavailable, "no worker is ready");
  for (const auto& worker : ready) {
    last = worker->StartRun(entry, line);
    if (last.ok()) {
      used = worker;
      break;
    }
  }
  if (!used) return last.error();
  std::unique_lock lock(waiter->mu);
  if (!waiter->cv.wait_for(lock, timeout, [&] { return waiter->event.has_value(); })) {
    lock.unlock();
    used->ForgetRun(entry);
    return MakeError(ErrorCode::kDeadlineExceeded,
                     "worker " + std::to_string(used->pid()) + " did not embed " + std::to_string(texts.size()) +
                         " texts within " + Ms(timeout));
  }
  const nlohmann::json& data = waiter->event->data;
  const std::string& type = waiter->event->type;
  if (type == "embed_error" || type == "error") {
    const std::string code = data.value("code", std::string("internal"));
    return MakeError(code == "internal" ? ErrorCode::kInternal : ErrorCode::kUnavailable,
                     "local embedding failed in worker " + std::to_string(used->pid()) + ": " +
                         data.value("message", std::string("(no message)")));
  }
  EmbedResult result;
  try {
    result.model = data.at("model").get<std::string>();
    result.dimension = data.at("dim").get<int>();
    result.vectors = data.at("vectors").get<std::vector<std::vector<float>>>();
  } catch (const nlohmann::json::exception& e) {
    return MakeError(ErrorCode::kInternal, std::string("malformed `embeddings` answer from the worker: ") + e.what());
  }
  if (result.vectors.size() != texts.size()) {
    return MakeError(ErrorCode::kInternal, "the worker returned " + std::to_string(result.vectors.size()) +
                                               " vectors for " + std::to_string(texts.size()) + " texts");
  }
  return result;
}

std::vector<WorkerHealth> WorkerPool::Impl::Health() const {
  std::lock_guard lock(mu_);
  std::vector<WorkerHealth> health;
  health.reserve(slots_.size());
  for (const Slot& slot : slots_) {
    WorkerHealth h;
    if (slot.worker) {
      h.pid = slot.worker->pid();
      h.state = std::string(detail::ToString(slot.worker->state()));
      h.in_flight = slot.worker->in_flight();
    } else {
      h.state = std::string(ToString(slot.state));
    }
    h.restarts = slot.restarts;
    h.last_error = slot.last_error;
    health.push_back(std::move(h));
  }
  return health;
}

// ---- WorkerPool ----

Result<std::unique_ptr<WorkerPool>> WorkerPool::Start(WorkerPoolOptions options) {
  const char* const context = "runners.worker_pool";
  if (options.command.empty() || options.command.front().empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the worker command is empty; expected e.g. [python, -m, steward_worker]", context);
  }
  if (options.size < 1) return MakeError(ErrorCode::kInvalidArgument, "size must be at least 1", context);
  if (options.start_timeout.count() <= 0 || options.ping_interval.count() <= 0 ||
      options.ping_timeout.count() <= 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "start_timeout, ping_interval and ping_timeout must be positive", context);
  }
  if (options.max_restarts_per_minute < 1) {
    return MakeError(ErrorCode::kInvalidArgument, "max_restarts_per_minute must be at least 1", context);
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  const Status started = impl->StartAndWait();
  if (!started.ok()) return started.error();
  return std::unique_ptr<WorkerPool>(new WorkerPool(std::move(impl)));
}

WorkerPool::WorkerPool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WorkerPool::~WorkerPool() = default;

Status WorkerPool::Submit(const RunRequest& request, WorkerEventSink sink) {
  return impl_->Submit(request, std::move(sink));
}
void WorkerPool::Cancel(const std::string& run_id) { impl_->Cancel(run_id); }
Result<EmbedResult> WorkerPool::Embed(const std::vector<std::string>& texts, milliseconds timeout) {
  return impl_->Embed(texts, timeout);
}
std::vector<WorkerHealth> WorkerPool::Health() const { return impl_->Health(); }
void WorkerPool::Shutdown() { impl_->Shutdown(); }

}  // namespace steward::runners
