#pragma once
// One attempt of one leaf step of a workflow run: a tool call (through the ToolRegistry, so the
// risk policy and the approval gate apply as for /mcp calls), an agent run in a worker (a child
// run with its own token, so its model and tool calls are attributed to it), a model call
// through the gateway, an approval wait on a stored approval row, or a whole workflow run by a
// worker runner (orchestrator != steward). The engine decides retries and records results; this
// only runs the attempt and reports its output or error.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "engine/run_registry.hpp"
#include "engine/step_store.hpp"
#include "engine/workflow_definition.hpp"
#include "runners/agent_config.hpp"
#include "telemetry/span.hpp"

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

// Where an attempt reports events: type is one of the SSE event types of DESIGN.md.
using StepEmit = std::function<void(const std::string& type, nlohmann::json data)>;

struct StepAttempt {
  std::string run_id;    // the workflow run
  std::string workflow;  // its name
  std::string path;      // the step's path in the run
  int attempt = 1;
  nlohmann::json input;  // rendered: tool arguments | {message} | {prompt, system} | approval {message}
  std::string idempotency_key;
  std::optional<std::chrono::milliseconds> timeout;
  ResourceLimits limits;
  telemetry::SpanContext parent;  // the step's span
  StepEmit emit;                  // never empty
  std::function<bool()> cancelled;  // never empty: the run is cancelled or the engine stopping
  std::string approval_id;        // kApproval resumed: the approval already stored
};

struct StepExecutorOptions {
  std::map<std::string, runners::AgentConfig> agents;
  std::string core_base_url;
  std::string tool_risk_threshold = "low";
  std::chrono::milliseconds approval_poll{250};
};

// Thread-safe; attempts of different steps run concurrently (for_each).
class StepExecutor final {
 public:
  StepExecutor(StepStore& store, RunRegistry& runs, runners::WorkerPool* pool, tools::ToolRegistry* tools,
               models::ModelGateway* models, tools::ApprovalStore* approvals, StepExecutorOptions options);
  ~StepExecutor();  // waits (bounded) for attempts abandoned at their timeout

  // Calls `tool` with attempt.input (+ idempotency_key when the tool accepts one). Output: the
  // tool's structured content, else {"text": ...}. A result with is_error is an error.
  [[nodiscard]] Result<nlohmann::json> RunTool(const std::string& tool, const StepAttempt& attempt);

  // Runs `agent` on a worker with {message, history: []} as a child run of kind 'agent'.
  // Output: {"text": the answer, "data": the worker's `data` object or null}.
  [[nodiscard]] Result<nlohmann::json> RunAgent(const std::string& agent, const StepAttempt& attempt);

  // Runs the whole workflow on the worker runner `runner` with input {graph, inputs,
  // thread_id: run id} (attempt.input holds it), relaying its status events as step progress.
  [[nodiscard]] Result<nlohmann::json> RunGraph(const WorkflowDefinition& def, const StepAttempt& attempt);

  // One completion of `model`. Output: {"text": ..., "usage": {...}}.
  [[nodiscard]] Result<nlohmann::json> RunLlm(const std::string& model, const StepAttempt& attempt);

  // Stores (or, resumed, finds) an approval and waits for its decision. Output on approval:
  // {approved: true, approval_id, by, note}; denied: kPermissionDenied; expired: kDeadlineExceeded.
  [[nodiscard]] Result<nlohmann::json> RunApproval(const StepAttempt& attempt);

  [[nodiscard]] const StepExecutorOptions& options() const { return options_; }

 private:
  [[nodiscard]] Result<nlohmann::json> RunOnWorker(const runners::AgentConfig& agent, const std::string& runner,
                                                   const nlohmann::json& worker_input, const StepAttempt& attempt);
  // Runs fn on its own thread when the attempt has a timeout; gives up at the deadline.
  [[nodiscard]] Result<nlohmann::json> Bounded(const StepAttempt& attempt,
                                               std::function<Result<nlohmann::json>()> fn);

  StepStore& store_;
  RunRegistry& runs_;
  runners::WorkerPool* pool_;
  tools::ToolRegistry* tools_;
  models::ModelGateway* models_;
  tools::ApprovalStore* approvals_;
  const StepExecutorOptions options_;
  std::shared_ptr<std::atomic<int>> abandoned_ = std::make_shared<std::atomic<int>>(0);
};

// The tool name of approval rows stored by approval steps (never a real tool).
inline constexpr const char* kWorkflowApprovalTool = "workflow.approval";

// The ErrorCode a worker's or a stored error's `code` name stands for (kUnavailable if unknown).
[[nodiscard]] ErrorCode ErrorCodeFromName(std::string_view name);

}  // namespace steward::engine
