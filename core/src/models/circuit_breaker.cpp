#include "models/circuit_breaker.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

#include <spdlog/spdlog.h>

namespace steward::models {

namespace {

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, s < 10 ? "%.1f s" : "%.0f s", s);
  return buf;
}

// The wall-clock time `in` from now, as HH:MM:SS UTC, for messages.
std::string UtcIn(std::chrono::steady_clock::duration in) {
  const auto at = std::chrono::system_clock::now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(in);
  const std::time_t t = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S UTC", &tm);
  return buf;
}

}  // namespace

std::string_view BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "closed";
}

CircuitBreaker::CircuitBreaker(std::string provider, CircuitBreakerOptions options, Clock clock)
    : provider_(std::move(provider)),
      options_(options),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })) {}

Result<CircuitBreaker::Permit> CircuitBreaker::Allow() {
  std::lock_guard lock(mu_);
  const TimePoint now = clock_();
  if (state_ == BreakerState::kClosed) return Permit{false};
  if (state_ == BreakerState::kOpen && now >= open_until_) {
    state_ = BreakerState::kHalfOpen;
    probing_ = false;
  }
  if (state_ == BreakerState::kHalfOpen && !probing_) {
    probing_ = true;
    spdlog::info("circuit breaker of provider {}: half-open, probing with one call", provider_);
    return Permit{true};
  }
  const std::string failing = "provider \"" + provider_ + "\" is failing (" + std::to_string(opened_with_) +
                              " errors within " + Seconds(std::chrono::duration<double>(options_.window).count()) +
                              (last_error_.empty() ? "" : "; last: " + last_error_) + ")";
  if (state_ == BreakerState::kHalfOpen) {
    return MakeError(ErrorCode::kUnavailable,
                     failing + ", so calls fail fast while one probe call checks whether it is back; retry shortly");
  }
  const auto wait = open_until_ - now;
  return MakeError(ErrorCode::kUnavailable,
                   failing + ", so calls fail fast; it will be tried again in " +
                       Seconds(std::chrono::duration<double>(wait).count()) + " (at " + UtcIn(wait) + ")");
}

void CircuitBreaker::Open(TimePoint now) {
  state_ = BreakerState::kOpen;
  open_until_ = now + options_.open_for;
  probing_ = false;
  ++times_opened_;
  failures_.clear();
}

void CircuitBreaker::Done(const Permit& permit, Outcome outcome, std::string_view error) {
  std::lock_guard lock(mu_);
  const TimePoint now = clock_();
  if (permit.probe) {
    if (state_ != BreakerState::kHalfOpen) return;
    if (outcome == Outcome::kSuccess) {
      state_ = BreakerState::kClosed;
      probing_ = false;
      failures_.clear();
      spdlog::info("circuit breaker of provider {}: closed (the probe call succeeded)", provider_);
    } else if (outcome == Outcome::kFailure) {
      last_error_ = std::string(error.substr(0, 200));
      Open(now);
      spdlog::warn("circuit breaker of provider {}: the probe call failed ({}); open for another {}", provider_,
                   last_error_, Seconds(std::chrono::duration<double>(options_.open_for).count()));
    } else {
      probing_ = false;  // inconclusive: the next call probes
    }
    return;
  }
  if (state_ != BreakerState::kClosed || outcome != Outcome::kFailure) return;
  failures_.push_back(now);
  while (!failures_.empty() && now - failures_.front() > options_.window) failures_.pop_front();
  if (static_cast<int>(failures_.size()) >= options_.failures) {
    opened_with_ = static_cast<int>(failures_.size());
    last_error_ = std::string(error.substr(0, 200));
    Open(now);
    spdlog::warn("circuit breaker of provider {}: open after {} failures within {} (last: {}); calls fail fast for {}",
                 provider_, opened_with_, Seconds(std::chrono::duration<double>(options_.window).count()), last_error_,
                 Seconds(std::chrono::duration<double>(options_.open_for).count()));
  }
}

CircuitBreaker::Snapshot CircuitBreaker::snapshot() const {
  std::lock_guard lock(mu_);
  Snapshot s;
  s.provider = provider_;
  s.state = state_;
  const TimePoint now = clock_();
  if (state_ == BreakerState::kOpen && now >= open_until_) s.state = BreakerState::kHalfOpen;  // on the next call
  s.recent_failures = state_ == BreakerState::kClosed ? static_cast<int>(failures_.size()) : opened_with_;
  if (s.state == BreakerState::kOpen) s.retry_in_s = std::chrono::duration<double>(open_until_ - now).count();
  if (state_ != BreakerState::kClosed) s.last_error = last_error_;
  s.times_opened = times_opened_;
  return s;
}

}  // namespace steward::models
