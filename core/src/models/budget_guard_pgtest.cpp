#include "models/budget_guard.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/cost_rollup.hpp"
#include "models/model_gateway.hpp"
#include "store/testing/migrated_database_suite.hpp"

namespace steward::models {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Every answer reports 100 completion tokens: at $1000 per million that is $0.10 a call.
constexpr const char* kScript = R"(responses:
  - content: "spent"
    first_delay_ms: 20
    usage: {prompt_tokens: 10, completion_tokens: 100}
)";

class BudgetGuardTest : public steward::testing::MigratedDatabaseSuite<16> {
 protected:
  static void SetUpTestSuite() {
    MigratedDatabaseSuite::SetUpTestSuite();
    script_ = std::filesystem::temp_directory_path() / ("steward_budget_" + std::to_string(::getpid()) + ".yaml");
    std::ofstream(script_) << kScript;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove(script_);
    MigratedDatabaseSuite::TearDownTestSuite();
  }
  void SetUp() override {
    // Each test starts from an empty day.
    ASSERT_TRUE(db_->Transact([](pqxx::work& tx) {
                     tx.exec("TRUNCATE budget_reservation, budget_ledger, model_call");
                     tx.exec("DELETE FROM run");
                   }).ok());
  }

  // A gateway with model "priced" ($0.10 a call) and "free" (the same script, no price).
  std::unique_ptr<ModelGateway> Gateway(BudgetConfig config, BudgetApprover approver = {}) {
    ProviderConfig replay;
    replay.name = "replay";
    replay.kind = "scripted";
    replay.script = script_.string();
    ModelRoute priced;
    priced.name = "priced";
    priced.provider = "replay";
    priced.output_price_per_mtok = 1000;
    ModelRoute free;
    free.name = "free";
    free.provider = "replay";
    auto router = ModelRouter::Create({replay}, {priced, free});
    EXPECT_TRUE(router.ok()) << router.error().ToString();
    auto gateway = std::make_unique<ModelGateway>(std::move(*router), db_);
    BudgetGuardOptions options;
    options.poll = 5ms;
    options.max_wait = 30s;
    gateway->SetBudgetGuard(std::make_unique<BudgetGuard>(std::move(config), *db_, std::move(approver), options));
    return gateway;
  }

  static Result<ChatResult> Call(ModelGateway& gateway, const std::string& model, const std::string& run_id = {}) {
    ChatRequest request;
    request.messages = Json::array({{{"role", "user"}, {"content", "spend"}}});
    ModelCallContext context;
    context.run_id = run_id;
    return gateway.Complete(model, std::move(request), nullptr, context);
  }

  static std::string NewRun(const std::string& kind = "chat", const std::string& parent = {}) {
    const std::string id = NewUuid();
    EXPECT_TRUE(db_->Transact([&](pqxx::work& tx) {
                     tx.exec_params(
                         "INSERT INTO run (id, kind, status, trace_id, parent_run_id, workflow) "
                         "VALUES ($1::uuid, $2, 'running', 'trace', NULLIF($3, '')::uuid, "
                         "CASE WHEN $2 = 'workflow' THEN 'digest' END)",
                         id, kind, parent);
                   }).ok());
    return id;
  }

  static double Scalar(const std::string& sql) {
    auto v = db_->Read([&](pqxx::read_transaction& tx) { return tx.exec1(sql)[0].as<double>(); });
    EXPECT_TRUE(v.ok());
    return v.ok() ? *v : -1;
  }

  static std::filesystem::path script_;
};

std::filesystem::path BudgetGuardTest::script_;

TEST_F(BudgetGuardTest, StopsAtTheLimitWithAnErrorNamingScopeLimitAndSpending) {
  BudgetConfig config;
  config.per_run_usd = 0.5;
  config.approve_at = 1;  // no approval step here
  auto gateway = Gateway(config);
  const std::string run = NewRun();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Call(*gateway, "priced", run).ok()) << i;
  auto refused = Call(*gateway, "priced", run);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kBudgetExceeded);
  EXPECT_THAT(refused.error().message, HasSubstr("budget exceeded for run " + run.substr(0, 8)));
  EXPECT_THAT(refused.error().message, HasSubstr("spent $0.50 of the $0.50 limit (budgets.per_run_usd)"));
  // The refusal is recorded as a call that cost nothing, and the ledger matches model_call.
  EXPECT_DOUBLE_EQ(Scalar("SELECT count(*) FROM model_call WHERE status = 'budget_exceeded'"), 1);
  EXPECT_DOUBLE_EQ(Scalar("SELECT sum(cost_usd)::float8 FROM model_call"), 0.5);
  EXPECT_DOUBLE_EQ(Scalar("SELECT spent_usd::float8 FROM budget_ledger WHERE scope = 'run:" + run + "'"), 0.5);
  EXPECT_DOUBLE_EQ(Scalar("SELECT count(*) FROM budget_reservation"), 0);
  // Another run has its own budget.
  EXPECT_TRUE(Call(*gateway, "priced", NewRun()).ok());
}

TEST_F(BudgetGuardTest, TenConcurrentCallersOvershootASharedBudgetByAtMostOneCall) {
  BudgetConfig config;
  config.per_user_daily_usd = 1.0;
  config.approve_at = 1;
  auto gateway = Gateway(config);
  std::atomic<int> made{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 10; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto result = Call(*gateway, "priced");
        if (result.ok()) {
          ++made;
          continue;
        }
        EXPECT_EQ(result.error().code, ErrorCode::kBudgetExceeded) << result.error().message;
        ++refused;
        return;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double spent = Scalar("SELECT sum(cost_usd)::float8 FROM model_call WHERE status = 'ok'");
  EXPECT_GE(spent, 1.0 - 1e-9);
  EXPECT_LE(spent, 1.1 + 1e-9) << made << " calls were made";
  EXPECT_EQ(refused.load(), 10);
  EXPECT_NEAR(Scalar("SELECT spent_usd::float8 FROM budget_ledger WHERE kind = 'user_day'"), spent, 1e-9);
}

TEST_F(BudgetGuardTest, AsksTheOwnerOnceAtNinetyPercentAndGoesOnWhenApproved) {
  BudgetConfig config;
  config.per_run_usd = 1.0;
  std::vector<BudgetApprovalRequest> asked;
  auto gateway = Gateway(config, [&](const BudgetApprovalRequest& r) -> Result<BudgetApprovalOutcome> {
    asked.push_back(r);
    return BudgetApprovalOutcome{"aaaaaaaa-0000-4000-8000-000000000001", true, true};
  });
  const std::string run = NewRun();
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(Call(*gateway, "priced", run).ok()) << i;
  EXPECT_TRUE(asked.empty());
  ASSERT_TRUE(Call(*gateway, "priced", run).ok());  // at $0.90: asks, approved, goes on
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].tool, "budget.run");
  EXPECT_EQ(asked[0].run_id, run);
  EXPECT_THAT(asked[0].reason, HasSubstr("has spent $0.90 of the $1.00 limit (90%, budgets.per_run_usd)"));
  EXPECT_DOUBLE_EQ(asked[0].arguments.value("limit_usd", 0.0), 1.0);
  auto refused = Call(*gateway, "priced", run);  // at $1.00
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kBudgetExceeded);
  EXPECT_EQ(asked.size(), 1u);
}

TEST_F(BudgetGuardTest, ADeniedApprovalStopsTheScope) {
  BudgetConfig config;
  config.per_run_usd = 0.2;
  config.approve_at = 0.5;
  config.warn_at = 0.5;
  int asked = 0;
  auto gateway = Gateway(config, [&](const BudgetApprovalRequest&) -> Result<BudgetApprovalOutcome> {
    ++asked;
    return BudgetApprovalOutcome{"aaaaaaaa-0000-4000-8000-000000000002", true, false};
  });
  const std::string run = NewRun();
  ASSERT_TRUE(Call(*gateway, "priced", run).ok());
  auto refused = Call(*gateway, "priced", run);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("the owner did not approve spending past 50%"));
  EXPECT_THAT(refused.error().message, HasSubstr("aaaaaaaa-0000-4000-8000-000000000002"));
  EXPECT_FALSE(Call(*gateway, "priced", run).ok());
  EXPECT_EQ(asked, 1);
}

TEST_F(BudgetGuardTest, AnUndecidedApprovalLeavesTheQuestionOpen) {
  BudgetConfig config;
  config.per_run_usd = 0.2;
  config.approve_at = 0.5;
  config.warn_at = 0.5;
  int asked = 0;
  auto gateway = Gateway(config, [&](const BudgetApprovalRequest&) -> Result<BudgetApprovalOutcome> {
    ++asked;
    return BudgetApprovalOutcome{"", false, false};  // the run was cancelled while it waited
  });
  const std::string run = NewRun();
  ASSERT_TRUE(Call(*gateway, "priced", run).ok());
  EXPECT_EQ(Call(*gateway, "priced", run).error().code, ErrorCode::kCancelled);
  EXPECT_EQ(Call(*gateway, "priced", run).error().code, ErrorCode::kCancelled);
  EXPECT_EQ(asked, 2);
}

TEST_F(BudgetGuardTest, AFreeModelKeepsWorkingAfterTheBudgetIsSpent) {
  BudgetConfig config;
  config.per_user_daily_usd = 0.2;
  config.per_run_usd = 0.2;
  config.approve_at = 1;
  auto gateway = Gateway(config);
  const std::string run = NewRun();
  ASSERT_TRUE(Call(*gateway, "priced", run).ok());
  ASSERT_TRUE(Call(*gateway, "priced", run).ok());
  EXPECT_EQ(Call(*gateway, "priced", run).error().code, ErrorCode::kBudgetExceeded);
  EXPECT_EQ(Call(*gateway, "priced").error().code, ErrorCode::kBudgetExceeded);  // the day is spent too
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(Call(*gateway, "free", run).ok());
    EXPECT_TRUE(Call(*gateway, "free").ok());
  }
}

TEST_F(BudgetGuardTest, AWorkflowBudgetCountsItsChildRunsAndStartsFromWhatWasSpent) {
  const std::string workflow = NewRun("workflow");
  const std::string child = NewRun("agent", workflow);
  const std::string grandchild = NewRun("agent", child);
  {
    BudgetLedger ledger(*db_);
    auto found = ledger.WorkflowRunsOf(grandchild);
    ASSERT_TRUE(found.ok()) << found.error().ToString();
    ASSERT_EQ(found->size(), 1u);
    EXPECT_EQ((*found)[0].first, workflow);
    EXPECT_EQ((*found)[0].second, "digest");
  }
  // Spent before budgets were on: $0.20 by the child.
  ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   tx.exec_params(
                       "INSERT INTO model_call (run_id, model, provider, upstream_model, cost_usd, duration_ms, status) "
                       "VALUES ($1::uuid, 'priced', 'replay', 'replay', 0.2, 1, 'ok')",
                       child);
                 }).ok());
  BudgetConfig config;
  config.per_workflow_usd = 0.5;
  config.approve_at = 1;
  auto gateway = Gateway(config);
  ASSERT_TRUE(Call(*gateway, "priced", grandchild).ok());
  ASSERT_TRUE(Call(*gateway, "priced", child).ok());
  ASSERT_TRUE(Call(*gateway, "priced", workflow).ok());
  auto refused = Call(*gateway, "priced", grandchild);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("budget exceeded for workflow run " + workflow.substr(0, 8) + " (digest)"));
  EXPECT_THAT(refused.error().message, HasSubstr("budgets.per_workflow_usd"));
  auto cost = db_->Read([&](pqxx::read_transaction& tx) {
    return tx.exec_params1("SELECT cost_usd::float8 FROM steward_run_cost($1::uuid)", workflow)[0].as<double>();
  });
  ASSERT_TRUE(cost.ok());
  EXPECT_DOUBLE_EQ(*cost, 0.5);
  // What `steward runs` shows: a run with its children; unknown ids are zero.
  auto costs = RunCosts(*db_, {workflow, child, grandchild, "not-a-run"});
  ASSERT_TRUE(costs.ok()) << costs.error().ToString();
  EXPECT_DOUBLE_EQ(costs->at(workflow).cost_usd, 0.5);
  EXPECT_EQ(costs->at(workflow).model_calls, 5);  // the refused call is recorded too, at $0
  EXPECT_DOUBLE_EQ(costs->at(child).cost_usd, 0.4);
  EXPECT_DOUBLE_EQ(costs->at(grandchild).cost_usd, 0.1);
  EXPECT_EQ(costs->at(grandchild).completion_tokens, 100);
  EXPECT_EQ(costs->at("not-a-run").model_calls, 0);
  auto by_user = CostByDay(*db_, CostGrouping::kUserDay);
  ASSERT_TRUE(by_user.ok()) << by_user.error().ToString();
  ASSERT_EQ(by_user->size(), 1u);
  EXPECT_EQ((*by_user)[0].key, "owner");
  EXPECT_EQ((*by_user)[0].day, UtcDay());
  EXPECT_DOUBLE_EQ((*by_user)[0].totals.cost_usd, 0.5);
}

TEST_F(BudgetGuardTest, TheApprovalClaimGoesToOneCallerAndStaleClaimsAreRetaken) {
  BudgetLedger ledger(*db_);
  BudgetScope scope;
  scope.kind = BudgetScopeKind::kUserDay;
  scope.key = "user:owner:" + UtcDay();
  scope.id = UtcDay();
  scope.limit_usd = 1;
  auto attempt = ledger.TryReserve({scope}, BudgetEstimate{0.1, 10}, true, BudgetConfig{}, "m", 60s);
  ASSERT_TRUE(attempt.ok());
  ledger.Release(attempt->reservation_id);
  EXPECT_TRUE(*ledger.ClaimApproval(scope.key, 60s));
  EXPECT_FALSE(*ledger.ClaimApproval(scope.key, 60s));
  EXPECT_TRUE(*ledger.ClaimApproval(scope.key, 0s));  // the first asker is presumed dead
  ASSERT_TRUE(ledger.FinishApproval(scope.key, "approved", "aaaaaaaa-0000-4000-8000-000000000003").ok());
  auto usage = ledger.Get(scope.key);
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->approval, "approved");
  EXPECT_EQ(usage->approval_id, "aaaaaaaa-0000-4000-8000-000000000003");
  EXPECT_FALSE(*ledger.ClaimApproval(scope.key, 0s));
}

}  // namespace
}  // namespace steward::models
