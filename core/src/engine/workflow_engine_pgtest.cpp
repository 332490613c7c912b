#include "engine/workflow_engine.hpp"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "engine/step_executor.hpp"
#include "store/testing/migrated_database_suite.hpp"
#include "tools/approval_store.hpp"
#include "tools/tool_registry.hpp"

namespace steward::engine {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Tools under "t": echo (returns {value}), flaky (fails until its count reaches `fail_times`),
// fail (always), slow (sleeps `ms`), keyed (accepts idempotency_key and records it), gauge
// (counts concurrent calls).
class TestTools final : public tools::ToolProvider {
 public:
  std::string_view server() const override { return "t"; }
  std::vector<tools::ToolInfo> ListTools() const override {
    std::vector<tools::ToolInfo> out;
    for (const char* name : {"echo", "flaky", "fail", "slow", "gauge"}) {
      out.push_back({std::string("t.") + name, "t", name, {{"type", "object"}}, "low", ""});
    }
    out.push_back({"t.keyed", "t", "keyed",
                   {{"type", "object"}, {"properties", {{"idempotency_key", {{"type", "string"}}}}}}, "low", ""});
    return out;
  }
  Result<tools::ToolCallResult> Call(std::string_view tool, const json& args, const tools::CallContext&) override {
    {
      std::lock_guard lock(mu);
      calls[std::string(tool)] += 1;
    }
    if (tool == "echo") return tools::ToolCallResult::Text("ok", {{"value", args.value("value", json(nullptr))}});
    if (tool == "flaky") {
      const int n = ++flaky_calls;
      if (n <= args.value("fail_times", 0)) return tools::ToolCallResult::Text("flaky failure " + std::to_string(n), nullptr, true);
      return tools::ToolCallResult::Text("ok", {{"calls", n}});
    }
    if (tool == "fail") return tools::ToolCallResult::Text("it always fails", nullptr, true);
    if (tool == "slow") {
      std::this_thread::sleep_for(std::chrono::milliseconds(args.value("ms", 100)));
      return tools::ToolCallResult::Text("slept", {{"slept", true}});
    }
    if (tool == "keyed") {
      std::lock_guard lock(mu);
      keys.push_back(args.value("idempotency_key", ""));
      return tools::ToolCallResult::Text("keyed", {{"key", keys.back()}});
    }
    if (tool == "gauge") {
      const int now = ++in_flight;
      int seen = max_in_flight.load();
      while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(30ms);
      --in_flight;
      return tools::ToolCallResult::Text("ok", {{"item", args.value("item", json(nullptr))}});
    }
    return MakeError(ErrorCode::kNotFound, "no tool");
  }
  int Count(const std::string& tool) {
    std::lock_guard lock(mu);
    return calls[tool];
  }

  std::mutex mu;
  std::map<std::string, int> calls;
  std::vector<std::string> keys;
  std::atomic<int> flaky_calls{0};
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
};

StepDefinition Tool(std::string id, std::string tool, json input = json::object()) {
  StepDefinition s;
  s.id = std::move(id);
  s.kind = StepKind::kTool;
  s.tool = std::move(tool);
  s.input = std::move(input);
  return s;
}

class WorkflowEngineTest : public steward::testing::MigratedDatabaseSuite<8> {
 protected:

  void SetUp() override {
    provider_ = std::make_shared<TestTools>();
    ASSERT_TRUE(registry_.Register(provider_).ok());
  }

  std::unique_ptr<WorkflowEngine> MakeEngine(std::map<std::string, WorkflowDefinition> workflows,
                                             std::string owner = {}, std::chrono::milliseconds lease = 2s,
                                             std::chrono::milliseconds step_pause = 0ms) {
    WorkflowEngineOptions o;
    o.workflows = std::move(workflows);
    o.owner_id = std::move(owner);
    o.lease = lease;
    o.step_pause = step_pause;
    o.adopt_interval = 100ms;
    o.approval_poll = 20ms;
    return std::make_unique<WorkflowEngine>(*db_, runs_, nullptr, &registry_, nullptr, std::move(o));
  }

  static WorkflowDefinition Def(std::string name, std::vector<StepDefinition> steps) {
    WorkflowDefinition d;
    d.name = std::move(name);
    d.steps = std::move(steps);
    return d;
  }

  // Waits until step `path` of the run has succeeded.
  static void WaitForStep(WorkflowEngine& engine, const std::string& run_id, const std::string& path) {
    for (int i = 0; i < 1000; ++i) {
      auto steps = engine.store().LoadSteps(run_id);
      if (steps.ok() && steps->count(path) && steps->at(path).status == "succeeded") return;
      std::this_thread::sleep_for(10ms);
    }
    FAIL() << "step " << path << " did not succeed";
  }

  WorkflowRunRecord RunToEnd(WorkflowEngine& engine, const std::string& name, json inputs = json::object()) {
    auto id = engine.StartWorkflowRun(name, inputs, "test");
    EXPECT_TRUE(id.ok()) << id.error().ToString();
    if (!id.ok()) return {};
    auto done = engine.Wait(*id, 20s);
    EXPECT_TRUE(done.ok()) << done.error().ToString();
    return done.ok() ? *done : WorkflowRunRecord{};
  }

  RunRegistry runs_;
  tools::ToolRegistry registry_;
  std::shared_ptr<TestTools> provider_;
};

TEST_F(WorkflowEngineTest, RunsStepsInOrderAndFeedsOutputsToLaterSteps) {
  WorkflowDefinition def = Def("pipe", {Tool("a", "t.echo", {{"value", "${inputs.word}"}}),
                                        Tool("b", "t.echo", {{"value", "${steps.a.output.value}!"}}),
                                        Tool("c", "t.echo", {{"value", "${steps.b.output}"}})});
  def.inputs["word"] = nullptr;
  auto engine = MakeEngine({{"pipe", def}});
  ASSERT_TRUE(engine->Start().ok());
  WorkflowRunRecord run = RunToEnd(*engine, "pipe", {{"word", "hi"}});
  EXPECT_EQ(run.status, "succeeded") << run.error.dump();
  EXPECT_EQ(run.output, json({{"value", {{"value", "hi!"}}}}));
  EXPECT_EQ(run.trigger, "test");
  auto steps = engine->store().LoadSteps(run.id);
  ASSERT_TRUE(steps.ok());
  ASSERT_EQ(steps->size(), 3u);
  for (const auto& [path, step] : *steps) {
    EXPECT_EQ(step.status, "succeeded") << path;
    EXPECT_EQ(step.attempt, 1) << path;
    EXPECT_FALSE(step.finished_at.empty()) << path;
  }
  EXPECT_EQ(steps->at("b").input, json({{"value", "hi!"}}));
}

TEST_F(WorkflowEngineTest, RejectsUnknownAndMissingInputsBeforeStoringAnything) {
  WorkflowDefinition def = Def("needs", {Tool("a", "t.echo")});
  def.inputs["topic"] = nullptr;
  def.inputs["count"] = 3;
  auto engine = MakeEngine({{"needs", def}});
  auto missing = engine->StartWorkflowRun("needs", json::object(), "test");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(missing.error().message, HasSubstr("topic"));
  auto unknown = engine->StartWorkflowRun("needs", {{"topic", "x"}, {"colour", "red"}}, "test");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, HasSubstr("colour"));
  auto nope = engine->StartWorkflowRun("nope", json::object(), "test");
  ASSERT_FALSE(nope.ok());
  EXPECT_EQ(nope.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(nope.error().message, HasSubstr("needs"));
}

TEST_F(WorkflowEngineTest, RetriesWithBackoffUntilTheStepSucceeds) {
  StepDefinition flaky = Tool("f", "t.flaky", {{"fail_times", 2}});
  flaky.retry.max_attempts = 3;
  flaky.retry.initial_backoff = 20ms;
  auto engine = MakeEngine({{"retry", Def("retry", {flaky})}});
  const auto t0 = std::chrono::steady_clock::now();
  WorkflowRunRecord run = RunToEnd(*engine, "retry");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 60ms);  // 20 + 40 ms of backoff
  EXPECT_EQ(run.status, "succeeded") << run.error.dump();
  auto steps = engine->store().LoadSteps(run.id);
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(steps->at("f").attempt, 3);
  EXPECT_EQ(steps->at("f").errors.size(), 2u);
  EXPECT_EQ(provider_->Count("flaky"), 3);
}

TEST_F(WorkflowEngineTest, AStepThatAlwaysFailsEndsTheRunFailedAndRunsItsErrorHandler) {
  StepDefinition bad = Tool("bad", "t.fail");
  bad.retry.max_attempts = 2;
  bad.retry.initial_backoff = 5ms;
  bad.on_error = "notify";
  WorkflowDefinition def = Def("fails", {Tool("first", "t.echo"), bad, Tool("never", "t.echo")});
  def.handlers.push_back(Tool("notify", "t.keyed", {{"what", "${error.message}"}}));
  auto engine = MakeEngine({{"fails", def}});
  WorkflowRunRecord run = RunToEnd(*engine, "fails");
  EXPECT_EQ(run.status, "failed");
  EXPECT_THAT(run.error.value("message", ""), HasSubstr("it always fails"));
  EXPECT_EQ(provider_->Count("fail"), 2);
  EXPECT_EQ(provider_->Count("keyed"), 1);   // the handler ran once
  EXPECT_EQ(provider_->Count("echo"), 1);    // "never" did not run
  auto steps = engine->store().LoadSteps(run.id);
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(steps->at("bad").status, "failed");
  EXPECT_EQ(steps->at("bad").errors.size(), 2u);
  EXPECT_EQ(steps->at("bad.on_error").status, "succeeded");
  EXPECT_FALSE(steps->count("never"));
}

TEST_F(WorkflowEngineTest, AFallbackStepsOutputReplacesTheFailedOne) {
  StepDefinition bad = Tool("bad", "t.fail");
  bad.fallback = "plan_b";
  WorkflowDefinition def = Def("fb", {bad, Tool("after", "t.echo", {{"value", "${steps.bad.output.value}"}})});
  def.handlers.push_back(Tool("plan_b", "t.echo", {{"value", "from fallback"}}));
  auto engine = MakeEngine({{"fb", def}});
  WorkflowRunRecord run = RunToEnd(*engine, "fb");
  EXPECT_EQ(run.status, "succeeded") << run.error.dump();
  EXPECT_EQ(run.output, json({{"value", "from fallback"}}));
}

TEST_F(WorkflowEngineTest, PassesTheDefaultIdempotencyKeyToToolsThatTakeOne) {
  auto engine = MakeEngine({{"key", Def("key", {Tool("send", "t.keyed")})}});
  WorkflowRunRecord run = RunToEnd(*engine, "key");
  ASSERT_EQ(run.status, "succeeded");
  ASSERT_EQ(provider_->keys.size(), 1u);
  EXPECT_EQ(provider_->keys[0], run.id + "/send");
}

TEST_F(WorkflowEngineTest, ForEachRunsItsBodyPerItemWithBoundedParallelism) {
  StepDefinition each;
  each.id = "each";
  each.kind = StepKind::kForEach;
  each.items = "inputs.items";
  each.max_parallel = 2;
  each.body = {Tool("g", "t.gauge", {{"item", "${item}"}}), Tool("e", "t.echo", {{"value", "${index}"}})};
  WorkflowDefinition def = Def("fan", {each});
  def.inputs["items"] = json::array({"a", "b", "c", "d", "e"});
  auto engine = MakeEngine({{"fan", def}});
  WorkflowRunRecord run = RunToEnd(*engine, "fan");
  ASSERT_EQ(run.status, "succeeded") << run.error.dump();
  EXPECT_EQ(run.output, json::parse(R"([{"value":0},{"value":1},{"value":2},{"value":3},{"value":4}])"));
  EXPECT_EQ(provider_->max_in_flight.load(), 2);
  auto steps = engine->store().LoadSteps(run.id);
  ASSERT_TRUE(steps.ok());
  EXPECT_TRUE(steps->count("each[4].g"));
  EXPECT_EQ(steps->at("each[2].e").output, json({{"value", 2}}));
}

TEST_F(WorkflowEngineTest, BranchRunsTheFirstCaseWhoseConditionHolds) {
  StepDefinition branch;
  branch.id = "route";
  branch.kind = StepKind::kBranch;
  branch.cases.push_back({"inputs.n > 10", {Tool("big", "t.echo", {{"value", "big"}})}});
  branch.cases.push_back({"inputs.n > 0", {Tool("small", "t.echo", {{"value", "small"}})}});
  branch.otherwise = {Tool("none", "t.echo", {{"value", "none"}})};
  WorkflowDefinition def = Def("br", {branch});
  def.inputs["n"] = 0;
  auto engine = MakeEngine({{"br", def}});
  EXPECT_EQ(RunToEnd(*engine, "br", {{"n", 5}}).output, json({{"value", "small"}}));
  EXPECT_EQ(RunToEnd(*engine, "br", {{"n", 50}}).output, json({{"value", "big"}}));
  WorkflowRunRecord none = RunToEnd(*engine, "br");
  EXPECT_EQ(none.output, json({{"value", "none"}}));
  auto steps = engine->store().LoadSteps(none.id);
  ASSERT_TRUE(steps.ok());
  EXPECT_TRUE(steps->count("route.otherwise.none"));
}

TEST_F(WorkflowEngineTest, SubWorkflowRunsAsAChildRun) {
  WorkflowDefinition child = Def("child", {Tool("x", "t.echo", {{"value", "${inputs.v}"}})});
  child.inputs["v"] = nullptr;
  StepDefinition call;
  call.id = "sub";
  call.kind = StepKind::kWorkflow;
  call.workflow = "child";
  call.input = {{"v", "${inputs.v}-child"}};
  WorkflowDefinition parent = Def("parent", {call});
  parent.inputs["v"] = "p";
  auto engine = MakeEngine({{"child", child}, {"parent", parent}});
  WorkflowRunRecord run = RunToEnd(*engine, "parent");
  ASSERT_EQ(run.status, "succeeded") << run.error.dump();
  EXPECT_EQ(run.output, json({{"value", "p-child"}}));
  auto steps = engine->store().LoadSteps(run.id);
  ASSERT_TRUE(steps.ok());
  const std::string child_id = steps->at("sub").child_run_id;
  ASSERT_FALSE(child_id.empty());
  auto child_run = engine->store().LoadRun(child_id);
  ASSERT_TRUE(child_run.ok());
  EXPECT_EQ(child_run->parent_run_id, run.id);
  EXPECT_EQ(child_run->status, "succeeded");
}

// A process died after step a: its run's lease expires, another engine adopts it and runs only
// the steps not yet recorded.
TEST_F(WorkflowEngineTest, AdoptsARunWhoseLeaseExpiredAndResumesAfterTheLastCompletedStep) {
  WorkflowDefinition def = Def("resume", {Tool("a", "t.echo", {{"value", 1}}), Tool("b", "t.keyed"),
                                          Tool("c", "t.echo", {{"value", "${steps.a.output.value}"}})});
  const std::string run_id = NewUuid();
  {
    StepStore dead(*db_, "dead-process", 200ms);
    NewWorkflowRun row;
    row.id = run_id;
    row.workflow = "resume";
    row.trigger = "test";
    row.trace_id = RandomHex(16);
    ASSERT_TRUE(dead.CreateRun(row).ok());
    ASSERT_TRUE(dead.BeginAttempt(run_id, "a", "a", "tool", json::object(), "").ok());
    ASSERT_TRUE(dead.Complete(run_id, "a", {{"value", 41}}).ok());
    // b had started when the process died.
    ASSERT_TRUE(dead.BeginAttempt(run_id, "b", "b", "tool", json::object(), run_id + "/b").ok());
  }
  std::this_thread::sleep_for(300ms);
  auto engine = MakeEngine({{"resume", def}}, "adopter");
  ASSERT_TRUE(engine->Start().ok());
  auto run = engine->Wait(run_id, 20s);
  ASSERT_TRUE(run.ok()) << run.error().ToString();
  EXPECT_EQ(run->status, "failed") << "b had max_attempts 1 and its only attempt was interrupted";
  EXPECT_THAT(run->error.value("message", ""), HasSubstr("interrupted"));
  EXPECT_EQ(provider_->Count("echo"), 0);
}

TEST_F(WorkflowEngineTest, ResumedRunRetriesTheInterruptedStepAndSkipsCompletedOnes) {
  StepDefinition b = Tool("b", "t.keyed");
  b.retry.max_attempts = 3;
  WorkflowDefinition def = Def("resume2", {Tool("a", "t.echo", {{"value", 1}}), b,
                                           Tool("c", "t.echo", {{"value", "${steps.a.output.value}"}})});
  const std::string run_id = NewUuid();
  {
    StepStore dead(*db_, "dead-process-2", 100ms);
    NewWorkflowRun row;
    row.id = run_id;
    row.workflow = "resume2";
    row.trigger = "test";
    row.trace_id = RandomHex(16);
    ASSERT_TRUE(dead.CreateRun(row).ok());
    ASSERT_TRUE(dead.BeginAttempt(run_id, "a", "a", "tool", json::object(), "").ok());
    ASSERT_TRUE(dead.Complete(run_id, "a", {{"value", 41}}).ok());
    ASSERT_TRUE(dead.BeginAttempt(run_id, "b", "b", "tool", json::object(), run_id + "/b").ok());
  }
  std::this_thread::sleep_for(200ms);
  auto engine = MakeEngine({{"resume2", def}}, "adopter-2");
  ASSERT_TRUE(engine->Start().ok());
  auto run = engine->Wait(run_id, 20s);
  ASSERT_TRUE(run.ok()) << run.error().ToString();
  EXPECT_EQ(run->status, "succeeded") << run->error.dump();
  EXPECT_EQ(run->output, json({{"value", 41}}));  // a's recorded output, not a new call's
  EXPECT_EQ(provider_->Count("echo"), 1);        // only c
  ASSERT_EQ(provider_->keys.size(), 1u);
  EXPECT_EQ(provider_->keys[0], run_id + "/b");  // the same key as the interrupted attempt
  auto steps = engine->store().LoadSteps(run_id);
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(steps->at("b").attempt, 2);
}

TEST_F(WorkflowEngineTest, ARecordedResultAndTheNextStepsStartAreOneCommit) {
  StepStore a(*db_, "fold-owner", 10s);
  StepStore b(*db_, "fold-other", 10s);
  NewWorkflowRun row;
  row.id = NewUuid();
  row.workflow = "x";
  row.trigger = "test";
  row.trace_id = RandomHex(16);
  ASSERT_TRUE(a.CreateRun(row).ok());
  ASSERT_TRUE(a.BeginAttempt(row.id, "s1", "s1", "tool", json::object(), "").ok());
  const AttemptStart s2{"s2", "s2", "tool", {{"n", 2}}, row.id + "/s2"};
  // Not the owner: neither the result nor the start.
  EXPECT_EQ(b.CompleteAndBegin(row.id, "s1", 1, s2).error().code, ErrorCode::kConflict);
  EXPECT_FALSE(a.LoadSteps(row.id)->count("s2"));

  auto started = a.CompleteAndBegin(row.id, "s1", 1, s2);
  ASSERT_TRUE(started.ok()) << started.error().ToString();
  EXPECT_TRUE(*started);
  auto steps = a.LoadSteps(row.id);
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(steps->at("s1").status, "succeeded");
  EXPECT_EQ(steps->at("s1").output, json(1));
  EXPECT_EQ(steps->at("s2").status, "running");
  EXPECT_EQ(steps->at("s2").attempt, 1);
  EXPECT_EQ(steps->at("s2").input, json({{"n", 2}}));
  EXPECT_EQ(steps->at("s2").idempotency_key, row.id + "/s2");
  // The result is recorded once.
  EXPECT_EQ(a.CompleteAndBegin(row.id, "s1", 2, s2).error().code, ErrorCode::kConflict);
  // A next step that has a row already is left to BeginAttempt, untouched.
  ASSERT_TRUE(a.Complete(row.id, "s2", 2).ok());
  ASSERT_TRUE(a.BeginAttempt(row.id, "s3", "s3", "tool", json::object(), "").ok());
  auto s3_started = a.CompleteAndBegin(row.id, "s3", 3, s2);
  ASSERT_TRUE(s3_started.ok());
  EXPECT_FALSE(*s3_started);
  steps = a.LoadSteps(row.id);
  EXPECT_EQ(steps->at("s3").status, "succeeded");
  EXPECT_EQ(steps->at("s2").status, "succeeded");
  EXPECT_EQ(steps->at("s2").output, json(2));
}

// The process died right after the commit that recorded a's result and started b: b's attempt
// counts, and the adopter runs it again with the same idempotency key.
TEST_F(WorkflowEngineTest, AKillAtAStepBoundaryResumesWithTheNextStepsSecondAttempt) {
  StepDefinition b = Tool("b", "t.keyed");
  b.retry.max_attempts = 2;
  WorkflowDefinition def = Def("boundary", {Tool("a", "t.echo", {{"value", 1}}), b,
                                            Tool("c", "t.echo", {{"value", "${steps.a.output.value}"}})});
  const std::string run_id = NewUuid();
  {
    StepStore dead(*db_, "dead-process-3", 100ms);
    NewWorkflowRun row;
    row.id = run_id;
    row.workflow = "boundary";
    row.trigger = "test";
    row.trace_id = RandomHex(16);
    ASSERT_TRUE(dead.CreateRun(row).ok());
    ASSERT_TRUE(dead.BeginAttempt(run_id, "a", "a", "tool", json::object(), "").ok());
    auto started = dead.CompleteAndBegin(run_id, "a", {{"value", 41}}, {"b", "b", "tool", json::object(), run_id + "/b"});
    ASSERT_TRUE(started.ok() && *started);
  }
  std::this_thread::sleep_for(200ms);
  auto engine = MakeEngine({{"boundary", def}}, "adopter-3");
  ASSERT_TRUE(engine->Start().ok());
  auto run = engine->Wait(run_id, 20s);
  ASSERT_TRUE(run.ok()) << run.error().ToString();
  EXPECT_EQ(run->status, "succeeded") << run->error.dump();
  EXPECT_EQ(run->output, json({{"value", 41}}));
  EXPECT_EQ(provider_->Count("echo"), 1);  // only c
  ASSERT_EQ(provider_->keys.size(), 1u);
  EXPECT_EQ(provider_->keys[0], run_id + "/b");
  auto steps = engine->store().LoadSteps(run_id);
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(steps->at("b").attempt, 2);
  EXPECT_EQ(steps->at("c").attempt, 1);
}

// b was started in the commit of a's result; the engine stops before b runs: that attempt does
// not count (as for any attempt a graceful stop cuts), and the next engine runs b once.
TEST_F(WorkflowEngineTest, AGracefulStopBetweenStepsDoesNotCountTheStartedOne) {
  WorkflowDefinition def = Def("pause", {Tool("a", "t.echo", {{"value", 1}}), Tool("b", "t.keyed")});
  std::string run_id;
  {
    auto first = MakeEngine({{"pause", def}}, "stops", 2s, 2s);
    auto id = first->StartWorkflowRun("pause", json::object(), "test");
    ASSERT_TRUE(id.ok());
    run_id = *id;
    WaitForStep(*first, run_id, "a");
    auto steps = first->store().LoadSteps(run_id);
    ASSERT_TRUE(steps.ok());
    ASSERT_TRUE(steps->count("b")) << "b starts in the commit of a's result";
    EXPECT_EQ(steps->at("b").attempt, 1);
    first->Stop();
  }
  auto steps = MakeEngine({{"pause", def}}, "reader")->store().LoadSteps(run_id);
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(steps->at("b").status, "running");
  EXPECT_EQ(steps->at("b").attempt, 0);
  EXPECT_TRUE(provider_->keys.empty());

  auto second = MakeEngine({{"pause", def}}, "resumes");
  ASSERT_TRUE(second->Start().ok());
  auto run = second->Wait(run_id, 20s);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, "succeeded") << run->error.dump();
  EXPECT_EQ(provider_->keys.size(), 1u);
  steps = second->store().LoadSteps(run_id);
  EXPECT_EQ(steps->at("b").attempt, 1);
}

TEST_F(WorkflowEngineTest, ACancelBetweenStepsEndsTheStartedOneWithoutRunningIt) {
  auto engine = MakeEngine({{"cancel", Def("cancel", {Tool("a", "t.echo"), Tool("b", "t.keyed")})}}, {}, 2s, 2s);
  auto id = engine->StartWorkflowRun("cancel", json::object(), "test");
  ASSERT_TRUE(id.ok());
  WaitForStep(*engine, *id, "a");
  ASSERT_TRUE(engine->Cancel(*id));
  auto run = engine->Wait(*id, 20s);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, "cancelled");
  EXPECT_TRUE(provider_->keys.empty());
  auto steps = engine->store().LoadSteps(*id);
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(steps->at("b").status, "failed");
  EXPECT_EQ(steps->at("b").error.value("code", ""), "cancelled");
}

TEST_F(WorkflowEngineTest, AnApprovalStepWaitsAcrossARestartOfTheEngine) {
  StepDefinition ask;
  ask.id = "ask";
  ask.kind = StepKind::kApproval;
  ask.message = "send the digest to ${inputs.to}?";
  WorkflowDefinition def = Def("gate", {ask, Tool("after", "t.echo", {{"value", "${steps.ask.output.approved}"}})});
  def.inputs["to"] = "me@example.com";
  tools::PgApprovalStore approvals(*db_);
  std::string run_id;
  std::string approval_id;
  {
    auto first = MakeEngine({{"gate", def}}, "first");
    auto id = first->StartWorkflowRun("gate", json::object(), "test");
    ASSERT_TRUE(id.ok());
    run_id = *id;
    for (int i = 0; i < 200 && approval_id.empty(); ++i) {
      auto steps = first->store().LoadSteps(run_id);
      if (steps.ok() && steps->count("ask") && !steps->at("ask").approval_id.empty()) {
        approval_id = steps->at("ask").approval_id;
      }
      std::this_thread::sleep_for(20ms);
    }
    ASSERT_FALSE(approval_id.empty());
    first->Stop();
  }
  // What a restart does to approvals of dead calls must not touch a workflow's.
  ASSERT_TRUE(approvals.ExpireAllPending("restart", "test").ok());
  auto record = approvals.Get(approval_id);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->status, tools::ApprovalStatus::kPending);
  EXPECT_THAT(record->reason, HasSubstr("send the digest to me@example.com?"));

  auto second = MakeEngine({{"gate", def}}, "second");
  ASSERT_TRUE(second->Start().ok());
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(*second->store().RunStatus(run_id), "running");
  ASSERT_TRUE(approvals.Decide(approval_id, tools::ApprovalStatus::kApproved, "owner", "fine", false).ok());
  auto run = second->Wait(run_id, 20s);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, "succeeded") << run->error.dump();
  EXPECT_EQ(run->output, json({{"value", true}}));
  auto steps = second->store().LoadSteps(run_id);
  EXPECT_EQ(steps->at("ask").attempt, 1);  // the same wait, not a new request
}

TEST_F(WorkflowEngineTest, ADeniedApprovalFailsTheRun) {
  StepDefinition ask;
  ask.id = "ask";
  ask.kind = StepKind::kApproval;
  ask.message = "ok?";
  auto engine = MakeEngine({{"deny", Def("deny", {ask})}});
  auto id = engine->StartWorkflowRun("deny", json::object(), "test");
  ASSERT_TRUE(id.ok());
  tools::PgApprovalStore approvals(*db_);
  std::string approval_id;
  for (int i = 0; i < 200 && approval_id.empty(); ++i) {
    auto steps = engine->store().LoadSteps(*id);
    if (steps.ok() && steps->count("ask")) approval_id = steps->at("ask").approval_id;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_FALSE(approval_id.empty());
  ASSERT_TRUE(approvals.Decide(approval_id, tools::ApprovalStatus::kDenied, "owner", "no", false).ok());
  auto run = engine->Wait(*id, 20s);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, "denied");
}

TEST_F(WorkflowEngineTest, AStepResultIsRecordedOnceAndOnlyByTheRunsOwner) {
  StepStore a(*db_, "owner-a", 10s);
  StepStore b(*db_, "owner-b", 10s);
  NewWorkflowRun row;
  row.id = NewUuid();
  row.workflow = "x";
  row.trigger = "test";
  row.trace_id = RandomHex(16);
  ASSERT_TRUE(a.CreateRun(row).ok());
  ASSERT_TRUE(a.BeginAttempt(row.id, "s", "s", "tool", json::object(), "").ok());
  // Not the owner, and the lease holds: neither claim nor record.
  EXPECT_FALSE(*b.Claim(row.id));
  EXPECT_EQ(b.Complete(row.id, "s", 1).error().code, ErrorCode::kConflict);
  EXPECT_TRUE(b.AdoptExpired(10, {"x"})->empty());
  ASSERT_TRUE(a.Complete(row.id, "s", 1).ok());
  EXPECT_EQ(a.Complete(row.id, "s", 2).error().code, ErrorCode::kConflict);
  EXPECT_EQ(a.BeginAttempt(row.id, "s", "s", "tool", json::object(), "").error().code, ErrorCode::kConflict);
  auto steps = a.LoadSteps(row.id);
  EXPECT_EQ(steps->at("s").output, json(1));
  // Released (graceful stop): adopted at once by the other.
  ASSERT_TRUE(a.ReleaseAll().ok());
  std::this_thread::sleep_for(10ms);
  auto adopted = b.AdoptExpired(10, {"x"});
  ASSERT_TRUE(adopted.ok());
  EXPECT_THAT(*adopted, ::testing::Contains(row.id));
  EXPECT_EQ(a.Complete(row.id, "t", 1).error().code, ErrorCode::kConflict);
}

TEST_F(WorkflowEngineTest, AnAttemptOverItsTimeoutFailsAndIsRetried) {
  StepDefinition slow = Tool("slow", "t.slow", {{"ms", 400}});
  slow.timeout = 50ms;
  slow.retry.max_attempts = 2;
  slow.retry.initial_backoff = 1ms;
  auto engine = MakeEngine({{"to", Def("to", {slow})}});
  WorkflowRunRecord run = RunToEnd(*engine, "to");
  EXPECT_EQ(run.status, "timed_out");
  auto steps = engine->store().LoadSteps(run.id);
  EXPECT_EQ(steps->at("slow").attempt, 2);
  EXPECT_THAT(steps->at("slow").error.value("message", ""), HasSubstr("timeout"));
}

}  // namespace
}  // namespace steward::engine
