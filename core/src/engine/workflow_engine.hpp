#pragma once
// The durable workflow engine: runs the workflows of `workflows:` as `run` rows of kind
// 'workflow' with one `workflow_step` row per step (StepStore), so a run survives the death of
// the process driving it. One thread drives each run; steps of a sequence run in order, for_each
// bodies with bounded parallelism.
//
// Durability: a step's result is committed once (StepStore::Complete); within a sequence the
// same commit starts the next step's first attempt (StepStore::CompleteAndBegin), so a step
// boundary costs one flushed commit and a kill there counts that attempt. Each process owns the
// runs it drives through a lease it renews (RunLease); a run whose lease expired is adopted by
// a process sharing the database, at start-up and then periodically, and resumed: steps already
// recorded as succeeded are not run again (their recorded output is used), the step that was in
// flight starts its next attempt (its retry policy applies), tool calls carry an idempotency key
// ("${run.id}/<path>" by default) so a side effect that completed before the crash is not
// repeated. Approval steps store an `approval` row (tool "workflow.approval") and wait on it, so
// waiting survives restarts.
//
// Workflows whose orchestrator is not "steward" run as one step: the worker runner named by the
// orchestrator gets {graph, inputs, thread_id: run id} and its `status` events are relayed as
// step progress; the engine knows no framework names.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "engine/live_run.hpp"
#include "engine/run_registry.hpp"
#include "engine/step_store.hpp"
#include "engine/workflow_definition.hpp"
#include "runners/agent_config.hpp"
#include "store/database.hpp"

namespace steward::models {
class ModelGateway;
}
namespace steward::runners {
class WorkerPool;
}
namespace steward::tools {
class ToolRegistry;
class ApprovalStore;
}

namespace steward::engine {

class RunLease;
class StepExecutor;

struct WorkflowEngineOptions {
  std::map<std::string, WorkflowDefinition> workflows;
  std::map<std::string, runners::AgentConfig> agents;
  std::string core_base_url;  // what workers use to reach /v1 and /mcp
  std::chrono::milliseconds lease{15000};           // a run's claim without renewal
  std::chrono::milliseconds adopt_interval{5000};   // how often expired runs are looked for
  std::chrono::milliseconds approval_poll{250};     // how often a waiting approval step looks
  // The highest risk tier tool steps run without an approval ("low" | "medium" | "high"; high
  // always asks). Workflows are written by the owner, but side effects still pass the policy.
  std::string tool_risk_threshold = "low";
  std::string owner_id;  // empty: a fresh random id (one per process)
  // Test knob: a pause after each step's result is committed (with the next step's start, which
  // has not run yet), so a fault test can kill the process exactly between two steps. Zero in
  // production.
  std::chrono::milliseconds step_pause{0};
};

struct StartWorkflowRequest {
  std::string workflow;
  nlohmann::json inputs = nlohmann::json::object();
  std::string trigger = "api";  // api | cli | schedule | ...
  bool stream = false;          // return a LiveRun that carries the run's events
  std::string run_id;           // empty: a fresh uuid; else the id the run gets (kConflict if taken)
};

struct StartedWorkflowRun {
  std::string run_id;
  std::string trace_id;
  std::shared_ptr<LiveRun> live;  // null unless stream was asked for
};

// Thread-safe.
class WorkflowEngine final {
 public:
  // Every pointer may be null (benchmarks, unit tests): steps needing what is missing fail with
  // kUnavailable. All must outlive the engine.
  WorkflowEngine(store::Database& db, RunRegistry& runs, runners::WorkerPool* pool, tools::ToolRegistry* tools,
                 models::ModelGateway* models, WorkflowEngineOptions options);
  ~WorkflowEngine();
  WorkflowEngine(const WorkflowEngine&) = delete;
  WorkflowEngine& operator=(const WorkflowEngine&) = delete;

  // Adopts runs left by dead processes and starts the lease thread (renewal + adoption). Chat
  // runs they left cannot resume and are ended instead (interrupted_chat_runs.hpp), here and on
  // each adoption pass.
  [[nodiscard]] Status Start();

  // Validates `request.inputs` against the workflow's declared inputs (unknown names and missing
  // required ones are kInvalidArgument; defaults fill the rest), stores the run and starts it.
  // kNotFound names the configured workflows.
  [[nodiscard]] Result<StartedWorkflowRun> StartRun(const StartWorkflowRequest& request);

  // The scheduler's entry point: starts `name` with `inputs` (a JSON object; {} for defaults),
  // recording `trigger` (e.g. "schedule"), as run `run_id` when given (ScheduledFire::run_id:
  // kConflict if a run with that id exists already, so a re-tried fire never starts twice).
  // Returns the run id. Same errors as StartRun. Thread-safe; returns once the run is stored.
  //   Result<std::string> StartWorkflowRun(const std::string& name, const nlohmann::json& inputs,
  //                                        const std::string& trigger, const std::string& run_id = {});
  [[nodiscard]] Result<std::string> StartWorkflowRun(const std::string& name, const nlohmann::json& inputs,
                                                     const std::string& trigger, const std::string& run_id = {});

  // Asks a run this process drives to stop; it ends `cancelled`. False if not driven here.
  bool Cancel(const std::string& run_id);

  // Waits until the run is no longer `running` (polling the database); its final record.
  [[nodiscard]] Result<WorkflowRunRecord> Wait(const std::string& run_id, std::chrono::milliseconds timeout);

  // Stops driving runs: in-flight steps are abandoned without counting as attempts, leases are
  // released so the next process adopts the runs at once. Joins every thread. Idempotent.
  void Stop();

  [[nodiscard]] const WorkflowEngineOptions& options() const { return options_; }
  [[nodiscard]] StepStore& store() { return store_; }
  // Runs driven by this process right now.
  [[nodiscard]] size_t active_runs() const;

  // The API shape of a workflow definition (GET /api/workflows).
  [[nodiscard]] static nlohmann::json DescribeWorkflow(const WorkflowDefinition& def);

  struct RunState;  // one run being driven; defined in engine/detail/step_runner.hpp

 private:
  void Launch(std::shared_ptr<RunState> state);
  void Drive(const std::shared_ptr<RunState>& state);
  void AdoptExpired();

  store::Database& db_;
  RunRegistry& runs_;
  const WorkflowEngineOptions options_;
  StepStore store_;
  std::unique_ptr<tools::ApprovalStore> approvals_;
  std::unique_ptr<StepExecutor> executor_;
  std::unique_ptr<RunLease> lease_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<RunState>> active_;  // GUARDED_BY(mu_); by run id
  std::vector<std::thread> threads_;                          // GUARDED_BY(mu_)
  bool stopping_ = false;                                     // GUARDED_BY(mu_)
  std::atomic<bool> stop_flag_{false};
  // The same, shared with attempts that may outlive a run (abandoned at their timeout).
  std::shared_ptr<std::atomic<bool>> stop_shared_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace steward::engine
