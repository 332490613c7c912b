#include "tools/builtin/escalation_tool_provider.hpp"

#include <future>
#include <memory>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tools/approval_gate.hpp"
#include "tools/risk_policy.hpp"
#include "tools/testing/memory_approval_store.hpp"
#include "tools/tool_registry.hpp"

namespace steward::tools::builtin {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr auto kLongEnough = 5s;  // bounds every wait; a pass never takes it

// The hub as the server wires it: the escalation tool behind the risk policy and the gate.
class EscalationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApprovalGateOptions options;
    options.timeout = 30s;
    options.poll_interval = 10ms;
    gate_ = std::make_unique<ApprovalGate>(store_, options);
    ASSERT_TRUE(registry_.Register(std::make_shared<EscalationToolProvider>()).ok());
    registry_.SetRiskPolicy(&policy_, gate_.get());
  }

  CallContext Context() {
    CallContext ctx;
    ctx.principal = "run";
    ctx.run_id = "11111111-1111-1111-1111-111111111111";
    ctx.allowed_tools = {"steward.escalate"};
    ctx.risk_threshold = "high";  // even the most permissive agent cannot skip the owner
    ctx.emit = [this](std::string_view type, const json& data) {
      if (type == "approval_required") approval_id_.set_value(data.at("approval_id").get<std::string>());
    };
    return ctx;
  }

  std::future<Result<ToolCallResult>> Escalate() {
    return std::async(std::launch::async, [this] {
      return registry_.Call("steward.escalate",
                            json{{"title", "Sources disagree on LangGraph released"},
                                 {"reason", "2023 [1] vs 2024 [2]"},
                                 {"details", {{"conflicts", json::array()}}}},
                            Context());
    });
  }

  std::string WaitForApprovalId() {
    auto future = approval_id_.get_future();
    EXPECT_EQ(future.wait_for(kLongEnough), std::future_status::ready) << "no approval_required event";
    return future.get();
  }

  testing::MemoryApprovalStore store_;
  RiskPolicy policy_{RiskPolicyConfig{}};
  std::unique_ptr<ApprovalGate> gate_;
  ToolRegistry registry_;
  std::promise<std::string> approval_id_;
};

TEST_F(EscalationTest, TheToolIsHighRisk) {
  auto tools = registry_.ListAll();
  ASSERT_EQ(tools.size(), 1u);
  EXPECT_EQ(tools[0].name, "steward.escalate");
  EXPECT_EQ(tools[0].risk_tier, "high");
}

TEST_F(EscalationTest, ACallWaitsForTheOwnerAndAnswersApprovedOnceApproved) {
  auto call = Escalate();
  const std::string id = WaitForApprovalId();
  EXPECT_EQ(call.wait_for(100ms), std::future_status::timeout) << "returned before the owner decided";
  auto pending = gate_->List(ApprovalStatus::kPending);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].tool, "steward.escalate");

  ASSERT_TRUE(gate_->Decide(id, true, "owner", "publish it").ok());
  ASSERT_EQ(call.wait_for(kLongEnough), std::future_status::ready);
  auto result = call.get();
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_FALSE(result->is_error);
  EXPECT_EQ(result->structured["decision"], "approved");
}

TEST_F(EscalationTest, ADeniedEscalationSaysDeniedAndWhoDecided) {
  auto call = Escalate();
  const std::string id = WaitForApprovalId();
  ASSERT_TRUE(gate_->Decide(id, false, "owner", "leave it out").ok());
  ASSERT_EQ(call.wait_for(kLongEnough), std::future_status::ready);
  auto result = call.get();
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_TRUE(result->is_error);
  EXPECT_EQ(result->structured["decision"], "denied");
  EXPECT_EQ(result->structured["by"], "owner");
  EXPECT_THAT(result->content[0]["text"].get<std::string>(), HasSubstr("leave it out"));
}

TEST_F(EscalationTest, ArgumentsAreChecked) {
  CallContext ctx = Context();
  auto result = registry_.Call("steward.escalate", json{{"reason", "no title"}}, ctx);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace steward::tools::builtin
