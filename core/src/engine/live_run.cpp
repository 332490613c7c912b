#include "engine/live_run.hpp"

namespace steward::engine {

bool LiveRun::Emit(std::string type, Json data) {
  if (!data.is_object()) data = Json{{"value", std::move(data)}};
  data["run_id"] = identity_.run_id;
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (terminal_emitted_) return false;
    RunEvent event{std::move(type), std::move(data)};
    terminal_emitted_ = event.terminal();
    // A waiter sleeps only on an empty queue, and the first event has already woken it: waking
    // it again per event (a futex call, and a reschedule, each) buys nothing. With several
    // waiters (not the documented use) every event still wakes one.
    wake = waiters_ > 1 || (waiters_ == 1 && queue_.empty());
    queue_.push_back(std::move(event));
  }
  if (wake) cv_.notify_one();
  return true;
}

void LiveRun::MarkProgress(bool token) {
  const int64_t us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started_).count();
  int64_t unset = -1;
  counters_.first_progress_us.compare_exchange_strong(unset, us, std::memory_order_relaxed);
  if (token) {
    unset = -1;
    counters_.first_token_us.compare_exchange_strong(unset, us, std::memory_order_relaxed);
  }
}

std::optional<RunEvent> LiveRun::Next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (queue_.empty()) {
    ++waiters_;
    const bool ready = cv_.wait_for(lock, timeout, [this] { return !queue_.empty(); });
    --waiters_;
    if (!ready) return std::nullopt;
  }
  RunEvent event = std::move(queue_.front());
  queue_.pop_front();
  return event;
}

bool LiveRun::finished() const {
  std::lock_guard lock(mu_);
  return terminal_emitted_;
}

}  // namespace steward::engine
