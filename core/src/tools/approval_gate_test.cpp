#include "tools/approval_gate.hpp"

#include <atomic>
#include <future>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tools/testing/fake_tool_provider.hpp"
#include "tools/testing/memory_approval_store.hpp"
#include "tools/tool_registry.hpp"

namespace steward::tools {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr auto kLongEnough = 5s;  // bounds every wait in these tests; a pass never takes it

// Events a call emitted, readable from the test thread while the call still waits.
class Recorder {
 public:
  void Add(std::string_view type, const json& data) {
    std::lock_guard lock(mu_);
    events_.push_back({std::string(type), data});
    cv_.notify_all();
  }
  // The first event of `type`, waiting for it up to kLongEnough.
  std::optional<json> WaitFor(const std::string& type) {
    std::unique_lock lock(mu_);
    std::optional<json> found;
    cv_.wait_for(lock, kLongEnough, [&] {
      for (const auto& [t, d] : events_) {
        if (t == type) {
          found = d;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::vector<std::string> Types() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [t, d] : events_) out.push_back(t);
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, json>> events_;
};

CallContext RunContext(Recorder* recorder, std::string run_id = "11111111-1111-1111-1111-111111111111") {
  CallContext ctx;
  ctx.principal = "run";
  ctx.run_id = std::move(run_id);
  ctx.session_id = "22222222-2222-2222-2222-222222222222";
  ctx.allowed_tools = {"*"};
  if (recorder != nullptr) {
    ctx.emit = [recorder](std::string_view type, const json& data) { recorder->Add(type, data); };
  }
  return ctx;
}

Assessment High() { return Assessment{Tier::kHigh, true, "sending (built-in rule *.send*)"}; }

class ApprovalGateTest : public ::testing::Test {
 protected:
  ApprovalGate& Gate(std::chrono::milliseconds timeout = 30s) {
    ApprovalGateOptions options;
    options.timeout = timeout;
    options.poll_interval = 10ms;
    gate_ = std::make_unique<ApprovalGate>(store_, options);
    return *gate_;
  }

  // Starts Await on another thread and returns once its request is stored and announced.
  std::future<Result<ApprovalOutcome>> StartCall(ApprovalGate& gate, const json& args, Recorder& recorder,
                                                 CallContext ctx, std::string* approval_id) {
    auto future = std::async(std::launch::async, [&gate, args, ctx] {
      return gate.Await("email.send", args, High(), ctx);
    });
    auto required = recorder.WaitFor("approval_required");
    EXPECT_TRUE(required.has_value());
    if (required) *approval_id = (*required)["approval_id"].get<std::string>();
    return future;
  }

  testing::MemoryApprovalStore store_;
  std::unique_ptr<ApprovalGate> gate_;
};

TEST_F(ApprovalGateTest, TheCallWaitsUntilTheOwnerApproves) {
  ApprovalGate& gate = Gate();
  Recorder recorder;
  std::string id;
  const json args = {{"to", "bob@example.com"}, {"body", "hi"}};
  auto call = StartCall(gate, args, recorder, RunContext(&recorder), &id);

  EXPECT_EQ(call.wait_for(100ms), std::future_status::timeout) << "returned before any decision";
  EXPECT_EQ(gate.waiting(), 1u);
  auto pending = gate.List(ApprovalStatus::kPending);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].tool, "email.send");
  EXPECT_EQ((*pending)[0].arguments, args);
  EXPECT_EQ((*pending)[0].tier, "high");
  EXPECT_EQ((*pending)[0].run_id, "11111111-1111-1111-1111-111111111111");

  ASSERT_TRUE(gate.Decide(id, true, "owner", "looks fine").ok());
  ASSERT_EQ(call.wait_for(kLongEnough), std::future_status::ready);
  auto outcome = call.get();
  ASSERT_TRUE(outcome.ok()) << outcome.error().ToString();
  EXPECT_TRUE(outcome->approved());
  EXPECT_EQ(outcome->by, "owner");
  EXPECT_EQ(gate.waiting(), 0u);
  auto stored = gate.Get(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->status, ApprovalStatus::kApproved);
  EXPECT_EQ(stored->note, "looks fine");
  EXPECT_FALSE(stored->used_at.empty()) << "the approval is consumed by its call";
  auto resolved = recorder.WaitFor("approval_resolved");
  ASSERT_TRUE(resolved.has_value());
  EXPECT_EQ((*resolved)["decision"], "approved");
  EXPECT_EQ((*resolved)["by"], "owner");
  EXPECT_EQ((*resolved)["approval_id"], id);
}

TEST_F(ApprovalGateTest, ApprovalRequiredCarriesWhatTheOwnerNeedsToDecide) {
  ApprovalGate& gate = Gate();
  Recorder recorder;
  std::string id;
  const json args = {{"to", "bob@example.com"}};
  auto call = StartCall(gate, args, recorder, RunContext(&recorder), &id);
  const json required = *recorder.WaitFor("approval_required");
  EXPECT_EQ(required["tool"], "email.send");
  EXPECT_EQ(required["arguments"], args);
  EXPECT_EQ(required["tier"], "high");
  EXPECT_EQ(required["reason"], "sending (built-in rule *.send*)");
  EXPECT_EQ(required["arguments_hash"], ArgumentsHash(args));
  EXPECT_EQ(required["timeout_s"], 30.0);
  ASSERT_TRUE(gate.Decide(id, false, "owner", "").ok());
  call.wait();
}

TEST_F(ApprovalGateTest, ADeniedCallIsNotApprovedAndSaysWhoDenied) {
  ApprovalGate& gate = Gate();
  Recorder recorder;
  std::string id;
  auto call = StartCall(gate, json{{"to", "x@example.com"}}, recorder, RunContext(&recorder), &id);
  ASSERT_TRUE(gate.Decide(id, false, "owner", "not now").ok());
  auto outcome = call.get();
  ASSERT_TRUE(outcome.ok());
  EXPECT_FALSE(outcome->approved());
  EXPECT_EQ(outcome->status, ApprovalStatus::kDenied);
  const ToolCallResult result = NotApprovedResult("email.send", *outcome, 30s);
  EXPECT_TRUE(result.is_error);
  const std::string text = result.content[0]["text"];
  EXPECT_THAT(text, HasSubstr("The user denied this call to email.send"));
  EXPECT_THAT(text, HasSubstr("not now"));
  EXPECT_TRUE(gate.Get(id)->used_at.empty());
  EXPECT_EQ((*recorder.WaitFor("approval_resolved"))["decision"], "denied");
}

TEST_F(ApprovalGateTest, TimeoutDeniesAndEscalates) {
  ApprovalGate& gate = Gate(80ms);
  Recorder recorder;
  const auto started = std::chrono::steady_clock::now();
  auto outcome = gate.Await("email.send", json{{"to", "x"}}, High(), RunContext(&recorder));
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->status, ApprovalStatus::kExpired);
  EXPECT_EQ(outcome->by, "timeout");
  EXPECT_GE(waited, 80ms);
  EXPECT_LT(waited, 2s);
  auto stored = gate.Get(outcome->approval_id);
  EXPECT_EQ(stored->status, ApprovalStatus::kExpired);
  EXPECT_TRUE(stored->escalated);
  EXPECT_EQ(stored->decided_by, "timeout");
  EXPECT_THAT(NotApprovedResult("email.send", *outcome, 80ms).content[0]["text"].get<std::string>(),
              HasSubstr("expired and was escalated"));
  // Too late: the owner can no longer decide it.
  auto late = gate.Decide(outcome->approval_id, true, "owner", "");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::kConflict);
}

TEST_F(ApprovalGateTest, ADecisionCannotBeReplayedOrChanged) {
  ApprovalGate& gate = Gate();
  Recorder recorder;
  std::string id;
  auto call = StartCall(gate, json{{"to", "x"}}, recorder, RunContext(&recorder), &id);
  ASSERT_TRUE(gate.Decide(id, true, "owner", "").ok());
  ASSERT_TRUE(call.get()->approved());
  auto again = gate.Decide(id, true, "owner", "");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  auto flip = gate.Decide(id, false, "owner", "");
  ASSERT_FALSE(flip.ok());
  EXPECT_EQ(flip.error().code, ErrorCode::kConflict);
  auto unknown = gate.Decide("00000000-0000-4000-8000-000000000000", true, "owner", "");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_F(ApprovalGateTest, ApprovingOneCallDoesNotReleaseAnother) {
  ApprovalGate& gate = Gate(400ms);
  Recorder first_events, second_events;
  std::string first_id, second_id;
  auto first = StartCall(gate, json{{"to", "a@example.com"}}, first_events, RunContext(&first_events), &first_id);
  auto second =
      StartCall(gate, json{{"to", "b@example.com"}}, second_events, RunContext(&second_events), &second_id);
  ASSERT_NE(first_id, second_id);
  ASSERT_TRUE(gate.Decide(first_id, true, "owner", "").ok());
  EXPECT_TRUE(first.get()->approved());
  EXPECT_EQ(second.wait_for(100ms), std::future_status::timeout);
  auto second_outcome = second.get();  // times out
  EXPECT_EQ(second_outcome->status, ApprovalStatus::kExpired);
}

TEST_F(ApprovalGateTest, ADecisionShownWithOtherArgumentsIsRefused) {
  ApprovalGate& gate = Gate();
  Recorder recorder;
  std::string id;
  auto call = StartCall(gate, json{{"to", "bob@example.com"}}, recorder, RunContext(&recorder), &id);
  auto wrong = gate.Decide(id, true, "owner", "", ArgumentsHash(json{{"to", "eve@example.com"}}));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(wrong.error().context, "arguments_hash");
  EXPECT_EQ(gate.Get(id)->status, ApprovalStatus::kPending);
  ASSERT_TRUE(gate.Decide(id, true, "owner", "", ArgumentsHash(json{{"to", "bob@example.com"}})).ok());
  EXPECT_TRUE(call.get()->approved());
}

TEST_F(ApprovalGateTest, ArgumentsHashIgnoresKeyOrderButNotValues) {
  const json a = json::parse(R"({"to": "bob", "cc": ["x", "y"], "n": 1})");
  const json b = json::parse(R"({"n": 1, "cc": ["x", "y"], "to": "bob"})");
  EXPECT_EQ(ArgumentsHash(a), ArgumentsHash(b));
  EXPECT_NE(ArgumentsHash(a), ArgumentsHash(json::parse(R"({"to": "bob", "cc": ["y", "x"], "n": 1})")));
  EXPECT_NE(ArgumentsHash(a), ArgumentsHash(json::parse(R"({"to": "bob", "cc": ["x", "y"], "n": 2})")));
  EXPECT_EQ(ArgumentsHash(a).size(), 64u);
}

TEST_F(ApprovalGateTest, CancellingTheRunWakesTheCallAndDeniesIt) {
  ApprovalGate& gate = Gate();
  Recorder recorder;
  std::atomic<bool> cancelled{false};
  CallContext ctx = RunContext(&recorder);
  ctx.cancelled = [&cancelled] { return cancelled.load(); };
  std::string id;
  auto call = StartCall(gate, json{{"to", "x"}}, recorder, ctx, &id);
  cancelled = true;
  ASSERT_EQ(call.wait_for(kLongEnough), std::future_status::ready);
  auto outcome = call.get();
  EXPECT_EQ(outcome->status, ApprovalStatus::kDenied);
  EXPECT_EQ(outcome->by, "run_cancelled");
  EXPECT_EQ(gate.Get(id)->decided_by, "run_cancelled");
  EXPECT_EQ(gate.waiting(), 0u);
}

TEST_F(ApprovalGateTest, ShutdownDeniesWaitingCallsAndRefusesNewOnes) {
  ApprovalGate& gate = Gate();
  Recorder recorder;
  std::string id;
  auto call = StartCall(gate, json{{"to", "x"}}, recorder, RunContext(&recorder), &id);
  gate.Shutdown();
  ASSERT_EQ(call.wait_for(kLongEnough), std::future_status::ready);
  EXPECT_EQ(call.get()->by, "shutdown");
  auto refused = gate.Await("email.send", json::object(), High(), RunContext(nullptr));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
}

TEST_F(ApprovalGateTest, AStoreOutageRefusesTheCall) {
  ApprovalGate& gate = Gate();
  store_.FailInserts(true);
  Recorder recorder;
  auto outcome = gate.Await("email.send", json::object(), High(), RunContext(&recorder));
  ASSERT_FALSE(outcome.ok());
  EXPECT_THAT(outcome.error().message, HasSubstr("not run"));
  EXPECT_TRUE(recorder.Types().empty());
}

TEST_F(ApprovalGateTest, RestartExpiresWhatThePreviousProcessLeftPending) {
  ApprovalRecord orphan;
  orphan.id = "44444444-4444-4444-8444-444444444444";
  orphan.tool = "email.send";
  orphan.tier = "high";
  ASSERT_TRUE(store_.Insert(orphan).ok());
  ApprovalGate& gate = Gate();
  auto expired = gate.RecoverAfterRestart();
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, 1);
  EXPECT_EQ(gate.Get(orphan.id)->status, ApprovalStatus::kExpired);
  EXPECT_TRUE(gate.Get(orphan.id)->escalated);
}

// ---- the hub: ToolRegistry::Call with the policy and the gate --------------------------------

class HubEnforcement : public ApprovalGateTest {
 protected:
  void SetUp() override {
    email_ = std::make_shared<testing::FakeProvider>("email");
    email_->AddEcho("send");
    web_ = std::make_shared<testing::FakeProvider>("web");
    web_->AddEcho("fetch");
    memory_ = std::make_shared<testing::FakeProvider>("memory");
    memory_->AddEcho("search");
    ASSERT_TRUE(registry_.Register(email_).ok());
    ASSERT_TRUE(registry_.Register(web_).ok());
    ASSERT_TRUE(registry_.Register(memory_).ok());
    policy_ = std::make_unique<RiskPolicy>(RiskPolicyConfig{});
    registry_.SetRiskPolicy(policy_.get(), &Gate(300ms));
  }

  ToolRegistry registry_;
  std::unique_ptr<RiskPolicy> policy_;
  std::shared_ptr<testing::FakeProvider> email_, web_, memory_;
};

TEST_F(HubEnforcement, ADeniedHighRiskCallNeverReachesTheTool) {
  Recorder recorder;
  auto call = std::async(std::launch::async, [&] {
    return registry_.Call("email.send", json{{"query", "to bob"}}, RunContext(&recorder));
  });
  auto required = recorder.WaitFor("approval_required");
  ASSERT_TRUE(required.has_value());
  EXPECT_EQ(email_->calls(), 0);
  ASSERT_TRUE(gate_->Decide((*required)["approval_id"], false, "owner", "").ok());
  auto result = call.get();
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->is_error);
  EXPECT_EQ(email_->calls(), 0);
  EXPECT_EQ(recorder.Types(),
            (std::vector<std::string>{"tool_call", "approval_required", "approval_resolved", "tool_result", "status"}));
}

TEST_F(HubEnforcement, AnApprovedCallRunsExactlyOnce) {
  Recorder recorder;
  auto call = std::async(std::launch::async, [&] {
    return registry_.Call("email.send", json{{"query", "to bob"}}, RunContext(&recorder));
  });
  auto required = recorder.WaitFor("approval_required");
  ASSERT_TRUE(required.has_value());
  ASSERT_TRUE(gate_->Decide((*required)["approval_id"], true, "owner", "").ok());
  auto result = call.get();
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->is_error);
  EXPECT_EQ(email_->calls(), 1);
}

TEST_F(HubEnforcement, AnExpiredCallNeverRuns) {
  auto result = registry_.Call("email.send", json{{"query", "x"}}, RunContext(nullptr));
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->is_error);
  EXPECT_EQ(email_->calls(), 0);
}

TEST_F(HubEnforcement, LowRunsAndMediumRunsWhenTheThresholdAllows) {
  EXPECT_FALSE(registry_.Call("memory.search", json{{"query", "x"}}, RunContext(nullptr))->is_error);
  EXPECT_EQ(memory_->calls(), 1);
  CallContext medium = RunContext(nullptr);
  medium.risk_threshold = "medium";
  EXPECT_FALSE(registry_.Call("web.fetch", json{{"query", "x"}}, medium)->is_error);
  EXPECT_EQ(web_->calls(), 1);
  EXPECT_EQ(gate_->List(std::nullopt)->size(), 0u) << "nothing needed an approval";
  // With threshold low the same call is held (and here expires).
  EXPECT_TRUE(registry_.Call("web.fetch", json{{"query", "x"}}, RunContext(nullptr))->is_error);
  EXPECT_EQ(web_->calls(), 1);
}

TEST_F(HubEnforcement, InvalidArgumentsAreRejectedBeforeAnyoneIsAsked) {
  auto result = registry_.Call("email.send", json{{"query", 5}}, RunContext(nullptr));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(gate_->List(std::nullopt)->size(), 0u);
}

TEST_F(HubEnforcement, ListingsShowThePolicysTier) {
  RiskPolicyConfig config;
  config.tiers = {{"memory.*", Tier::kHigh}};
  const RiskPolicy policy(config);
  registry_.SetRiskPolicy(&policy, gate_.get());
  std::map<std::string, std::string> tiers;
  for (const auto& t : registry_.ListAll()) tiers[t.name] = t.risk_tier;
  EXPECT_EQ(tiers["memory.search"], "high");  // configured
  EXPECT_EQ(tiers["email.send"], "high");     // built-in rule
  EXPECT_EQ(tiers["web.fetch"], "medium");
  registry_.SetRiskPolicy(policy_.get(), gate_.get());
}

TEST(HubWithoutGate, CallsNeedingApprovalAreRefused) {
  ToolRegistry registry;
  auto email = std::make_shared<testing::FakeProvider>("email");
  email->AddEcho("send");
  ASSERT_TRUE(registry.Register(email).ok());
  const RiskPolicy policy({});
  registry.SetRiskPolicy(&policy, nullptr);
  CallContext ctx;
  ctx.allowed_tools = {"*"};
  auto result = registry.Call("email.send", json{{"query", "x"}}, ctx);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(email->calls(), 0);
}

}  // namespace
}  // namespace steward::tools
