#include "engine/run_lease.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace steward::engine {

RunLease::RunLease(StepStore& store, std::chrono::milliseconds adopt_interval, std::function<void()> adopt)
    : store_(store), adopt_interval_(adopt_interval), adopt_(std::move(adopt)) {}

RunLease::~RunLease() { Stop(); }

void RunLease::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Loop(); });
}

void RunLease::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RunLease::Loop() {
  using Clock = std::chrono::steady_clock;
  // Renewing at a third of the lease leaves two renewals' slack for a slow database.
  const auto renew_every = std::max<std::chrono::milliseconds>(store_.lease() / 3, std::chrono::milliseconds(50));
  auto next_renew = Clock::now() + renew_every;
  auto next_adopt = Clock::now() + adopt_interval_;
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_until(lock, std::min(next_renew, next_adopt), [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    const auto now = Clock::now();
    if (now >= next_renew) {
      if (auto renewed = store_.RenewLeases(); !renewed.ok()) {
        spdlog::warn("workflow engine: could not renew run leases: {}", renewed.error().ToString());
      }
      next_renew = now + renew_every;
    }
    if (now >= next_adopt) {
      adopt_();
      next_adopt = Clock::now() + adopt_interval_;
    }
    lock.lock();
  }
}

}  // namespace steward::engine
