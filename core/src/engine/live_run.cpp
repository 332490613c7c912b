#include "engine/live_run.hpp"

namespace steward::engine {

bool LiveRun::Emit(std::string type, Json data) {
  if (!data.is_object()) data = Json{{"value", std::move(data)}};
  data["run_id"] = identity_.run_id;
  {
    std::lock_guard lock(mu_);
    if (terminal_emitted_) return false;
    RunEvent event{std::move(type), std::move(data)};
    terminal_emitted_ = event.terminal();
    queue_.push_back(std::move(event));
  }
  cv_.notify_one();
  return true;
}

std::optional<RunEvent> LiveRun::Next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [this] { return !queue_.empty(); })) return std::nullopt;
  RunEvent event = std::move(queue_.front());
  queue_.pop_front();
  return event;
}

bool LiveRun::finished() const {
  std::lock_guard lock(mu_);
  return terminal_emitted_;
}

}  // namespace steward::engine
