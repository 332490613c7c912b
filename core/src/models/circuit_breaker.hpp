#pragma once
// A circuit breaker per model provider. Closed: calls go through and failures are counted;
// `failures` of them within `window` open it. Open: calls fail fast with kUnavailable naming
// the provider and when it will be tried again. After `open_for` it half-opens: exactly one
// call goes through as a probe while the others keep failing fast; the probe's success
// closes it, its failure opens it again for another `open_for`.
//
// What counts as a failure is the caller's choice (the gateway counts kUnavailable,
// kDeadlineExceeded and kInternal: the provider is down, slow or broken; a rejected request
// or a cancelled call says nothing about the provider).

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace steward::models {

struct CircuitBreakerOptions {
  int failures = 5;                                  // this many failures ...
  std::chrono::milliseconds window{30'000};          // ... within this window open the breaker
  std::chrono::milliseconds open_for{30'000};        // how long it stays open before a probe
};

enum class BreakerState { kClosed, kOpen, kHalfOpen };

// "closed" | "open" | "half_open".
[[nodiscard]] std::string_view BreakerStateName(BreakerState state);

// Thread-safe.
class CircuitBreaker final {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `clock` is injectable for tests; the default reads std::chrono::steady_clock.
  CircuitBreaker(std::string provider, CircuitBreakerOptions options, Clock clock = {});

  // What Allow hands out: whether this call is the half-open probe (its outcome decides).
  struct Permit {
    bool probe = false;
  };
  enum class Outcome { kSuccess, kFailure, kNeutral };

  // Ok: make the call, then report it with Done. kUnavailable while open (or while another
  // call is probing), naming the provider, the failures and when it retries.
  [[nodiscard]] Result<Permit> Allow();

  // Reports the outcome of a call Allow let through. kNeutral (cancelled, rejected request)
  // counts for nothing; a neutral probe lets the next call probe instead.
  void Done(const Permit& permit, Outcome outcome, std::string_view error = {});

  struct Snapshot {
    std::string provider;
    BreakerState state = BreakerState::kClosed;
    int recent_failures = 0;            // within the window (closed), or that opened it
    double retry_in_s = 0;              // open: seconds until the next probe
    std::string last_error;             // the failure that opened it, when open
    int64_t times_opened = 0;
  };
  [[nodiscard]] Snapshot snapshot() const;
  [[nodiscard]] const std::string& provider() const { return provider_; }

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  void Open(TimePoint now);  // REQUIRES(mu_)

  const std::string provider_;
  const CircuitBreakerOptions options_;
  const Clock clock_;
  mutable std::mutex mu_;
  BreakerState state_ = BreakerState::kClosed;  // GUARDED_BY(mu_)
  std::deque<TimePoint> failures_;              // GUARDED_BY(mu_); closed: within the window
  TimePoint open_until_{};                      // GUARDED_BY(mu_)
  bool probing_ = false;                        // GUARDED_BY(mu_); half-open: a probe is in flight
  int opened_with_ = 0;                         // GUARDED_BY(mu_)
  std::string last_error_;                      // GUARDED_BY(mu_)
  int64_t times_opened_ = 0;                    // GUARDED_BY(mu_)
};

}  // namespace steward::models
