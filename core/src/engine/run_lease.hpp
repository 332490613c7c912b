#pragma once
// The background thread that keeps this process's claim on the runs it drives (renews the leases
// of its workflow and chat runs every lease/3) and periodically adopts runs whose lease expired
// (their process died): the engine's half of "several `steward serve` may share one database".

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "engine/step_store.hpp"

namespace steward::engine {

// Thread-safe. `adopt` runs on the lease thread.
class RunLease final {
 public:
  RunLease(StepStore& store, std::chrono::milliseconds adopt_interval, std::function<void()> adopt);
  ~RunLease();  // Stop()
  RunLease(const RunLease&) = delete;
  RunLease& operator=(const RunLease&) = delete;

  void Start();
  // Joins the thread. Idempotent.
  void Stop();

 private:
  void Loop();

  StepStore& store_;
  const std::chrono::milliseconds adopt_interval_;
  const std::function<void()> adopt_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace steward::engine
