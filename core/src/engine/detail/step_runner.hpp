#pragma once
// The steps of one workflow run, run on the thread that drives it: each step's attempts with
// their retries and backoff, its fallback and on_error handlers, what a step's recorded row
// means when the run is resumed (done, waiting on an approval or a child run, or an attempt
// that was interrupted), and the composites (for_each, branch, sub-workflow) that recurse into
// sequences of steps. WorkflowEngine owns the run around this: its start or adoption, its lease,
// its final record.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "engine/live_run.hpp"
#include "engine/step_store.hpp"
#include "engine/workflow_definition.hpp"
#include "engine/workflow_engine.hpp"
#include "telemetry/span.hpp"

namespace steward::engine {

class StepExecutor;

struct WorkflowEngine::RunState : std::enable_shared_from_this<WorkflowEngine::RunState> {
  std::string run_id;
  const WorkflowDefinition* def = nullptr;
  std::string trace_id;
  telemetry::SpanContext span;  // the run's span in this process: parent of its step spans
  nlohmann::json input = nlohmann::json::object();
  std::shared_ptr<LiveRun> live;  // null: nobody watches
  bool registered = false;        // live is in the RunRegistry
  std::atomic<bool> cancel{false};
  std::shared_ptr<std::atomic<bool>> engine_stopping;  // the engine's stop flag
  StepDefinition graph_step;      // orchestrator != steward: the one step
  std::mutex mu;
  std::map<std::string, StepRecord> recorded;  // GUARDED_BY(mu)
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  void Emit(const std::string& type, nlohmann::json data) const {
    if (live) live->Emit(type, std::move(data));
  }
};

namespace detail {

// What the recursive step functions share.
struct StepRunnerEnv {
  StepStore& store;
  StepExecutor& exec;
  const WorkflowEngineOptions& options;
  std::atomic<bool>& stopping;
  const std::map<std::string, WorkflowDefinition>& workflows;
};

// The context of errors that mean "this process stops driving the run" (engine stopping, lease
// lost): the run is left running for whoever adopts it, not finished.
inline constexpr const char* kAbandon = "workflow.abandon";

[[nodiscard]] inline bool IsAbandon(const Error& e) { return e.context == kAbandon; }

// An error as recorded in a step's or a run's `error` column.
[[nodiscard]] nlohmann::json ErrorJson(const Error& e, int attempt);

// The names of `m`, comma-separated ("none" if empty): errors list the configured workflows.
[[nodiscard]] std::string JoinKeys(const std::map<std::string, WorkflowDefinition>& m);

// Runs `s` from its recorded steps (loaded here) to its output: the rendered `output` template,
// else the last step's. An error with context kAbandon leaves the run for another process; any
// other is how the run ended. Does not finish the run's row.
[[nodiscard]] Result<nlohmann::json> ExecuteRun(StepRunnerEnv& env, WorkflowEngine::RunState& s);

}  // namespace detail
}  // namespace steward::engine
