#include "models/circuit_breaker.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace steward::models {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class FakeClock {
 public:
  CircuitBreaker::Clock clock() {
    return [this] { return now_; };
  }
  void Advance(std::chrono::milliseconds d) { now_ += d; }

 private:
  std::chrono::steady_clock::time_point now_{std::chrono::seconds(1000)};
};

CircuitBreakerOptions Options() {
  CircuitBreakerOptions o;
  o.failures = 3;
  o.window = 10s;
  o.open_for = 30s;
  return o;
}

void Fail(CircuitBreaker& b, const char* why = "HTTP 500: boom") {
  auto permit = b.Allow();
  ASSERT_TRUE(permit.ok()) << permit.error().message;
  b.Done(*permit, CircuitBreaker::Outcome::kFailure, why);
}

TEST(CircuitBreaker, OpensAfterFailuresWithinTheWindowAndFailsFast) {
  FakeClock clock;
  CircuitBreaker b("upstream", Options(), clock.clock());
  Fail(b);
  Fail(b);
  EXPECT_EQ(b.snapshot().state, BreakerState::kClosed);
  Fail(b, "HTTP 500: the upstream broke");
  EXPECT_EQ(b.snapshot().state, BreakerState::kOpen);
  auto refused = b.Allow();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(refused.error().message, HasSubstr("provider \"upstream\" is failing (3 errors within 10 s"));
  EXPECT_THAT(refused.error().message, HasSubstr("the upstream broke"));
  EXPECT_THAT(refused.error().message, HasSubstr("tried again in 30 s"));
  clock.Advance(12s);
  EXPECT_THAT(b.Allow().error().message, HasSubstr("tried again in 18 s"));
  EXPECT_EQ(b.snapshot().times_opened, 1);
}

TEST(CircuitBreaker, FailuresOutsideTheWindowDoNotOpenIt) {
  FakeClock clock;
  CircuitBreaker b("upstream", Options(), clock.clock());
  Fail(b);
  Fail(b);
  clock.Advance(11s);  // the first two fall out of the window
  Fail(b);
  Fail(b);
  EXPECT_EQ(b.snapshot().state, BreakerState::kClosed);
  Fail(b);
  EXPECT_EQ(b.snapshot().state, BreakerState::kOpen);  // three within 10 s now
}

TEST(CircuitBreaker, NeutralOutcomesAndSuccessesDoNotCount) {
  FakeClock clock;
  CircuitBreaker b("upstream", Options(), clock.clock());
  for (int i = 0; i < 10; ++i) {
    auto permit = b.Allow();
    ASSERT_TRUE(permit.ok());
    b.Done(*permit, i % 2 ? CircuitBreaker::Outcome::kNeutral : CircuitBreaker::Outcome::kSuccess);
  }
  EXPECT_EQ(b.snapshot().state, BreakerState::kClosed);
  EXPECT_EQ(b.snapshot().recent_failures, 0);
}

TEST(CircuitBreaker, HalfOpensForOneProbeThatClosesItOnSuccess) {
  FakeClock clock;
  CircuitBreaker b("upstream", Options(), clock.clock());
  for (int i = 0; i < 3; ++i) Fail(b);
  clock.Advance(30s);
  EXPECT_EQ(b.snapshot().state, BreakerState::kHalfOpen);
  auto probe = b.Allow();
  ASSERT_TRUE(probe.ok());
  EXPECT_TRUE(probe->probe);
  auto other = b.Allow();  // while the probe is in flight, the others still fail fast
  ASSERT_FALSE(other.ok());
  EXPECT_THAT(other.error().message, HasSubstr("one probe call"));
  b.Done(*probe, CircuitBreaker::Outcome::kSuccess);
  EXPECT_EQ(b.snapshot().state, BreakerState::kClosed);
  auto next = b.Allow();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->probe);
}

TEST(CircuitBreaker, AFailedProbeOpensItAgain) {
  FakeClock clock;
  CircuitBreaker b("upstream", Options(), clock.clock());
  for (int i = 0; i < 3; ++i) Fail(b);
  clock.Advance(31s);
  auto probe = b.Allow();
  ASSERT_TRUE(probe.ok() && probe->probe);
  b.Done(*probe, CircuitBreaker::Outcome::kFailure, "HTTP 503: still down");
  EXPECT_EQ(b.snapshot().state, BreakerState::kOpen);
  EXPECT_EQ(b.snapshot().times_opened, 2);
  auto refused = b.Allow();
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("still down"));
  clock.Advance(29s);
  EXPECT_FALSE(b.Allow().ok());
  clock.Advance(1s);
  EXPECT_TRUE(b.Allow().ok());
}

TEST(CircuitBreaker, ANeutralProbeLetsTheNextCallProbe) {
  FakeClock clock;
  CircuitBreaker b("upstream", Options(), clock.clock());
  for (int i = 0; i < 3; ++i) Fail(b);
  clock.Advance(30s);
  auto probe = b.Allow();
  ASSERT_TRUE(probe.ok());
  b.Done(*probe, CircuitBreaker::Outcome::kNeutral);  // e.g. the client went away
  auto again = b.Allow();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->probe);
}

}  // namespace
}  // namespace steward::models
