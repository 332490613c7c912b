#include "models/budget_policy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace steward::models {
namespace {

using ::testing::HasSubstr;

BudgetScope RunScope(double limit_usd) {
  BudgetScope s;
  s.kind = BudgetScopeKind::kRun;
  s.key = "run:r1";
  s.id = "r1";
  s.label = "run 3f2a1b4c";
  s.setting = "budgets.per_run_usd";
  s.limit_usd = limit_usd;
  return s;
}

ScopeUsage Spent(double usd, double reserved = 0, std::string approval = "none") {
  ScopeUsage u;
  u.spent_usd = usd;
  u.reserved_usd = reserved;
  u.approval = std::move(approval);
  return u;
}

TEST(BudgetPolicy, ThresholdsOfOneScope) {
  const BudgetConfig config;  // warn 0.7, approve 0.9
  const BudgetScope scope = RunScope(1.0);
  struct Case {
    ScopeUsage usage;
    Verdict verdict;
    bool warn;
  };
  const Case cases[] = {
      {Spent(0), Verdict::kAdmit, false},
      {Spent(0.69), Verdict::kAdmit, false},
      {Spent(0.7), Verdict::kAdmit, true},
      {Spent(0.8, 0.05), Verdict::kAdmit, true},
      {Spent(0.8, 0.1), Verdict::kWait, true},     // calls in flight reach the approval point: let them settle
      {Spent(0.9), Verdict::kNeedApproval, true},
      {Spent(0.9, 0, "pending"), Verdict::kNeedApproval, true},
      {Spent(0.9, 0, "approved"), Verdict::kAdmit, true},
      {Spent(0.95, 0.05, "approved"), Verdict::kWait, true},  // the rest is held by calls in flight
      {Spent(0.95, 0.04, "approved"), Verdict::kAdmit, true},
      {Spent(1.0, 0, "approved"), Verdict::kRefuse, true},
      {Spent(1.3, 0, "approved"), Verdict::kRefuse, true},
      {Spent(0.92, 0, "denied"), Verdict::kRefuse, true},
  };
  for (const Case& c : cases) {
    const ScopeDecision d = Decide(scope, c.usage, config, /*money=*/true, "priced");
    EXPECT_EQ(d.verdict, c.verdict) << c.usage.spent_usd << " + " << c.usage.reserved_usd << " " << c.usage.approval;
    EXPECT_EQ(d.warn, c.warn) << c.usage.spent_usd;
  }
  ScopeUsage warned = Spent(0.75);
  warned.warned = true;
  EXPECT_FALSE(Decide(scope, warned, config, true, "m").warn);  // once per scope
}

TEST(BudgetPolicy, RefusalNamesTheScopeLimitSpendingAndSetting) {
  const ScopeDecision d = Decide(RunScope(1.0), Spent(1.0000001, 0, "approved"), BudgetConfig{}, true, "priced");
  ASSERT_EQ(d.verdict, Verdict::kRefuse);
  EXPECT_THAT(d.message, HasSubstr("budget exceeded for run 3f2a1b4c"));
  EXPECT_THAT(d.message, HasSubstr("spent $1.00 of the $1.00 limit (budgets.per_run_usd)"));
  EXPECT_THAT(d.message, HasSubstr("model \"priced\" was refused"));

  const ScopeDecision denied = Decide(RunScope(2.0), Spent(1.9, 0, "denied"), BudgetConfig{}, true, "priced");
  EXPECT_THAT(denied.message, HasSubstr("the owner did not approve spending past 90%"));

  const ScopeDecision ask = Decide(RunScope(1.0), Spent(0.9), BudgetConfig{}, true, "priced");
  EXPECT_THAT(ask.message, HasSubstr("run 3f2a1b4c has spent $0.90 of the $1.00 limit (90%, budgets.per_run_usd)"));
}

TEST(BudgetPolicy, AFreeModelIsNeverHeldByAMoneyLimit) {
  for (const char* approval : {"none", "pending", "denied"}) {
    const ScopeDecision d = Decide(RunScope(1.0), Spent(5.0, 1.0, approval), BudgetConfig{}, /*money=*/false, "offline");
    EXPECT_EQ(d.verdict, Verdict::kAdmit) << approval;
    EXPECT_FALSE(d.warn);
  }
}

TEST(BudgetPolicy, TokenLimitsApplyToFreeModelsToo) {
  BudgetScope scope = RunScope(1.0);
  scope.limit_tokens = 1000;
  ScopeUsage u;
  u.spent_tokens = 1000;
  const ScopeDecision d = Decide(scope, u, BudgetConfig{}, /*money=*/false, "offline");
  ASSERT_EQ(d.verdict, Verdict::kRefuse);
  EXPECT_THAT(d.message, HasSubstr("1000 of the 1000-token limit (budgets.per_run_tokens)"));
}

TEST(BudgetPolicy, ApproveAtOneNeverAsks) {
  BudgetConfig config;
  config.approve_at = 1.0;
  EXPECT_EQ(Decide(RunScope(1.0), Spent(0.99), config, true, "m").verdict, Verdict::kAdmit);
  EXPECT_EQ(Decide(RunScope(1.0), Spent(0.99, 0.01), config, true, "m").verdict, Verdict::kWait);
  EXPECT_EQ(Decide(RunScope(1.0), Spent(1.0), config, true, "m").verdict, Verdict::kRefuse);
}

TEST(BudgetPolicy, FormatUsd) {
  EXPECT_EQ(FormatUsd(1), "$1.00");
  EXPECT_EQ(FormatUsd(0.9), "$0.90");
  EXPECT_EQ(FormatUsd(0.0375), "$0.0375");
  EXPECT_EQ(FormatUsd(0.00015), "$0.00015");
  EXPECT_EQ(FormatUsd(12.5), "$12.50");
}

}  // namespace
}  // namespace steward::models
