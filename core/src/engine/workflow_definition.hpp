#pragma once
// A workflow as written under `workflows:` in steward.yaml (or in a file that entry names), in
// the user's shape (pattern, orchestrator, agents, schedule, trigger) plus the steps the core's
// engine runs. Parsed and validated once at load; every error names the file, the step and the
// field. The engine, the scheduler and `steward export windmill` all read this one model.
//
// The YAML shape (every key but `steps` optional; `kind` may be left out when one of agent,
// tool, model/prompt, items, cases, workflow names it; `approval` always needs `kind`):
//
//   daily_digest:
//     description: Research trending topics and mail a digest
//     pattern: deterministic_pipeline      # free label
//     orchestrator: steward                # or a worker runner name, e.g. langgraph (+ graph:)
//     agents: [researcher]
//     schedule: "0 8 * * *"                # or {cron, timezone: Europe/Berlin, missed: skip|catch_up, max_catch_up}
//     inputs: {limit: 5, to: null}         # name: default (null: required)
//     steps:
//       - id: fetch
//         tool: web.fetch
//         input: {url: "https://example.org/top?n=${inputs.limit}"}
//         retry: {max_attempts: 3, backoff: 1s, multiplier: 2, max_backoff: 30s}   # or retry: 3
//         timeout: 30s                     # 250ms, 30s, 5m, 2h, 1m30s
//         on_error: notify                 # a step id under handlers:
//       - id: each
//         for_each: "${steps.fetch.output.items}"   # or kind: for_each + items:
//         max_parallel: 3
//         steps: [{id: summarize, agent: researcher, message: "Summarize ${item.title}", limits: {cpu_seconds: 60, memory_mb: 512}}]
//       - id: check
//         kind: branch
//         cases: [{when: "length(${steps.each.output}) > 0", steps: [...]}]
//         otherwise: [...]
//       - {id: ok, kind: approval, message: "Send ${inputs.to}?", timeout: 24h}
//       - {id: send, tool: email.send, input: {to: "${inputs.to}"}, idempotency_key: "${run.id}/send"}
//       - {id: sub, workflow: other_workflow, input: {topic: x}}
//       - {id: ask, model: offline, prompt: "...", system: "..."}
//     handlers:
//       - {id: notify, tool: email.send, input: {subject: "failed: ${error.step}: ${error.message}"}}
//     output: "${steps.send.output}"
//
// Template contexts (see template.hpp): every step sees inputs, run.id and the outputs of the
// steps that ran before it at its level and at the levels enclosing it; for_each bodies also
// see item and index; handlers see every step id (resolved at run time) plus
// `error: {step: PATH, code: NAME, message: TEXT}` for the failure that called them.

#include <chrono>
#include <filesystem>
#include <string_view>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "engine/duration.hpp"  // ParseDuration, FormatDuration: the durations written here

namespace YAML {
class Node;
}  // namespace YAML

namespace steward::engine {

enum class StepKind {
  kAgent,     // a run of an agent (any runner) with a templated message
  kTool,      // one call of a hub tool (through the risk policy, like every tool call)
  kLlm,       // one model call through the model gateway
  kForEach,   // runs `body` once per element of `items`, at most `max_parallel` at a time
  kBranch,    // runs the first case whose `when` holds, else `otherwise`
  kApproval,  // waits for the owner's decision (survives restarts)
  kWorkflow,  // runs another workflow as a child run and takes its output
};

// "agent" | "tool" | "llm" | "for_each" | "branch" | "approval" | "workflow"
[[nodiscard]] std::string_view StepKindName(StepKind kind);

struct RetryPolicy {
  int max_attempts = 1;  // 1: no retry
  std::chrono::milliseconds initial_backoff{1000};
  double multiplier = 2.0;
  std::chrono::milliseconds max_backoff{60000};
};

// Limits for steps that run in a worker (agent, llm-in-worker, langgraph): applied to the run
// the worker does for the step; exceeding one fails the attempt (and the retry policy applies).
struct ResourceLimits {
  std::optional<int> cpu_seconds;
  std::optional<int> memory_mb;
};

struct StepDefinition;

struct BranchCase {
  std::string when;  // an expression over the run's context, e.g. "${steps.fetch.output.count} > 0"
  std::vector<StepDefinition> steps;
};

// Templates: any string in `input`, `message`, `prompt`, `items`, `when`, `idempotency_key` may
// contain ${inputs.NAME}, ${steps.ID.output[.path]}, ${item} / ${index} (inside for_each) and
// ${run.id}. A string that is exactly one ${...} keeps the referenced JSON value's type.
struct StepDefinition {
  std::string id;  // unique within the workflow (including nested steps)
  StepKind kind = StepKind::kTool;
  std::string description;

  std::string agent;        // kAgent: a key under `agents:`
  std::string message;      // kAgent: the message the agent gets (templated)
  std::string tool;         // kTool: namespaced hub tool, e.g. "email.send"
  nlohmann::json input = nlohmann::json::object();  // kTool arguments / kLlm / kWorkflow inputs
  std::string model;        // kLlm: a key under `models:`
  std::string prompt;       // kLlm: the user message (templated)
  std::string system;       // kLlm: optional system prompt

  std::string items;        // kForEach: expression yielding an array
  int max_parallel = 1;     // kForEach
  std::vector<StepDefinition> body;  // kForEach: steps run per item; its output is the last step's

  std::vector<BranchCase> cases;      // kBranch
  std::vector<StepDefinition> otherwise;

  std::string workflow;     // kWorkflow: a key under `workflows:`

  RetryPolicy retry;
  std::optional<std::chrono::milliseconds> timeout;  // per attempt
  std::string on_error;     // id of a step under the workflow's `handlers:`, run when this step fails for good
  std::string fallback;     // id of a step under `handlers:` whose output replaces this one's on failure
  ResourceLimits limits;
  // For side-effecting tool calls: a template; empty (not written) means the engine's default
  // "<run id>/<step path>" for kTool. The engine passes it to the tool so a resumed run never
  // repeats a completed side effect.
  std::string idempotency_key;
};

enum class MissedRunPolicy { kSkip, kCatchUp };

struct ScheduleDefinition {
  std::string cron;                // 5 fields (minute hour dom month dow) or 6 (seconds first)
  std::string timezone = "UTC";    // IANA name, e.g. "Europe/Berlin"
  MissedRunPolicy missed = MissedRunPolicy::kSkip;
  int max_catch_up = 1;            // kCatchUp: at most this many missed ticks are run
};

struct WorkflowDefinition {
  std::string name;  // the key under `workflows:`
  std::string description;
  std::filesystem::path source;  // the file it was read from
  std::string pattern;           // the user's label, e.g. "deterministic_pipeline"
  // "steward": the core's engine runs `steps`. Any other value names a worker runner that runs
  // the whole workflow (e.g. "langgraph" with `graph:`); the engine does not need to know it.
  std::string orchestrator = "steward";
  std::string graph;             // orchestrator != steward: which graph/program the runner runs
  std::vector<std::string> agents;
  std::optional<ScheduleDefinition> schedule;
  std::string trigger = "manual";  // "manual" | "schedule"
  std::map<std::string, nlohmann::json> inputs;  // declared inputs and their defaults (null: required)
  std::vector<StepDefinition> steps;
  std::vector<StepDefinition> handlers;  // referenced by on_error / fallback
  std::string output;            // template for the run's output; default: the last step's output
};

// What the parser checks against (names that must exist elsewhere in the config).
struct WorkflowEnvironment {
  std::vector<std::string> agents;
  std::vector<std::string> models;
  std::vector<std::string> workflows;  // every workflow name in the file (for kWorkflow)
};

// Parses one workflow from its YAML node text. `file` and `name` are used in error messages:
// "<file>: workflows.<name>.steps[2] (id 'send').retry.max_attempts: expected an integer >= 1".
// Errors are kConfig; the context is "<file>: <key path> (line L, column C)" and the message says
// what was expected and what was found.
[[nodiscard]] Result<WorkflowDefinition> ParseWorkflow(const std::string& yaml_text, const std::string& name,
                                                       const std::filesystem::path& file,
                                                       const WorkflowEnvironment& env);

// The same from an already parsed node (what config loading uses, so lines match the file).
// `key_path` is where the node sits, e.g. "workflows.daily" (default: "workflows.<name>").
[[nodiscard]] Result<WorkflowDefinition> ParseWorkflowNode(const YAML::Node& node, const std::string& name,
                                                           const std::filesystem::path& file,
                                                           const WorkflowEnvironment& env,
                                                           const std::string& key_path = "");

// Checks what one definition cannot check alone, over every workflow of a config: `workflow`
// steps naming a workflow whose required inputs they do not give or inputs it does not declare,
// and cycles of sub-workflows (a -> b -> a). Errors are kConfig naming the step.
[[nodiscard]] Status ValidateWorkflowSet(const std::map<std::string, WorkflowDefinition>& workflows);

// The step with `id` anywhere in the workflow (nested bodies, cases, handlers); nullptr if none.
[[nodiscard]] const StepDefinition* FindStep(const WorkflowDefinition& workflow, std::string_view id);

// The run's inputs: `given` (a JSON object or null) over the declared defaults. Errors
// (kInvalidArgument) for a required input not given or a name the workflow does not declare.
[[nodiscard]] Result<nlohmann::json> ResolveInputs(const WorkflowDefinition& workflow, const nlohmann::json& given);

}  // namespace steward::engine
