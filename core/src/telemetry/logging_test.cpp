#include "telemetry/logging.hpp"

#include <gtest/gtest.h>

namespace steward::telemetry {
namespace {

TEST(Redact, ReplacesRegisteredSecretsEverywhereInALine) {
  RegisterSecret("sk-test-1234567890");
  EXPECT_EQ(Redact("key=sk-test-1234567890 and again sk-test-1234567890"),
            "key=[REDACTED] and again [REDACTED]");
}

TEST(Redact, IgnoresSecretsTooShortToBeSafe) {
  RegisterSecret("abc");
  EXPECT_EQ(Redact("abc def"), "abc def");
}

TEST(Redact, HidesBearerTokensItNeverSaw) {
  EXPECT_EQ(Redact("Authorization: Bearer run_0123456789abcdef"), "Authorization: Bearer [REDACTED]");
}

TEST(Redact, LeavesOrdinaryTextAlone) { EXPECT_EQ(Redact("a normal line"), "a normal line"); }

}  // namespace
}  // namespace steward::telemetry
