#include "engine/step_executor.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "models/model_gateway.hpp"
#include "runners/worker_pool.hpp"
#include "telemetry/logging.hpp"
#include "telemetry/tracer.hpp"
#include "telemetry/worker_spans.hpp"
#include "tools/approval_store.hpp"
#include "tools/tool_registry.hpp"

namespace steward::engine {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kPumpWait = milliseconds(100);
// After asking a worker to cancel, how long to wait for its terminal event (the pool ends the
// run itself after 2 s).
constexpr auto kCancelGrace = std::chrono::seconds(5);
constexpr auto kAbandonedWait = std::chrono::seconds(5);

std::string ToolText(const tools::ToolCallResult& result) {
  std::string text;
  if (result.content.is_array()) {
    for (const auto& block : result.content) {
      if (block.value("type", "") == "text") {
        if (!text.empty()) text += "\n";
        text += block.value("text", "");
      }
    }
  }
  return text;
}

Error AttemptTimeout(const StepAttempt& a) {
  return MakeError(ErrorCode::kDeadlineExceeded,
                   "attempt " + std::to_string(a.attempt) + " did not finish within its timeout of " +
                       std::to_string(a.timeout ? a.timeout->count() : 0) + " ms",
                   "step " + a.path);
}

}  // namespace

ErrorCode ErrorCodeFromName(std::string_view name) {
  static const std::pair<std::string_view, ErrorCode> kCodes[] = {
      {"invalid_argument", ErrorCode::kInvalidArgument}, {"config_error", ErrorCode::kConfig},
      {"not_found", ErrorCode::kNotFound},               {"unauthenticated", ErrorCode::kUnauthenticated},
      {"permission_denied", ErrorCode::kPermissionDenied}, {"conflict", ErrorCode::kConflict},
      {"unavailable", ErrorCode::kUnavailable},          {"deadline_exceeded", ErrorCode::kDeadlineExceeded},
      {"cancelled", ErrorCode::kCancelled},              {"budget_exceeded", ErrorCode::kBudgetExceeded},
      {"internal", ErrorCode::kInternal},
  };
  for (const auto& [n, code] : kCodes) {
    if (n == name) return code;
  }
  return ErrorCode::kUnavailable;
}

StepExecutor::StepExecutor(StepStore& store, RunRegistry& runs, runners::WorkerPool* pool,
                           tools::ToolRegistry* tools, models::ModelGateway* models, tools::ApprovalStore* approvals,
                           StepExecutorOptions options)
    : store_(store),
      runs_(runs),
      pool_(pool),
      tools_(tools),
      models_(models),
      approvals_(approvals),
      options_(std::move(options)) {}

StepExecutor::~StepExecutor() {
  // An attempt abandoned at its timeout still uses the registry or the gateway: let it finish.
  const auto deadline = Clock::now() + kAbandonedWait;
  while (abandoned_->load() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(20));
}

Result<Json> StepExecutor::Bounded(const StepAttempt& attempt, std::function<Result<Json>()> fn) {
  if (!attempt.timeout) return fn();
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<Json>> out;
  };
  auto shared = std::make_shared<Shared>();
  auto abandoned = abandoned_;
  abandoned->fetch_add(1);
  std::thread([shared, abandoned, fn = std::move(fn)] {
    Result<Json> r = fn();
    {
      std::lock_guard lock(shared->mu);
      shared->out.emplace(std::move(r));
    }
    shared->cv.notify_all();
    abandoned->fetch_sub(1);
  }).detach();
  const auto deadline = Clock::now() + *attempt.timeout;
  std::unique_lock lock(shared->mu);
  while (!shared->out) {
    if (shared->cv.wait_until(lock, std::min(deadline, Clock::now() + kPumpWait)) == std::cv_status::timeout) {
      if (Clock::now() >= deadline) return AttemptTimeout(attempt);
      if (attempt.cancelled()) return MakeError(ErrorCode::kCancelled, "the run was stopped", "step " + attempt.path);
    }
  }
  return std::move(*shared->out);
}

Result<Json> StepExecutor::RunTool(const std::string& tool, const StepAttempt& attempt) {
  if (tools_ == nullptr) return MakeError(ErrorCode::kUnavailable, "no tool registry in this process", "step " + attempt.path);
  const auto info = tools_->Find(tool);
  if (!info) return MakeError(ErrorCode::kNotFound, "no tool named \"" + tool + "\" is registered", "step " + attempt.path);
  Json args = attempt.input.is_null() ? Json::object() : attempt.input;
  // Side-effecting tools that take a key get the step's, so a resumed run never repeats them.
  const Json& props = info->input_schema.contains("properties") ? info->input_schema["properties"] : Json::object();
  if (args.is_object() && props.is_object() && props.contains("idempotency_key") && !args.contains("idempotency_key") &&
      !attempt.idempotency_key.empty()) {
    args["idempotency_key"] = attempt.idempotency_key;
  }
  tools::CallContext ctx;
  ctx.principal = "run";
  ctx.run_id = attempt.run_id;
  ctx.trace_parent = attempt.parent;
  ctx.allowed_tools = {tool};
  ctx.risk_threshold = options_.tool_risk_threshold;
  ctx.cancelled = attempt.cancelled;
  StepEmit emit = attempt.emit;
  const std::string path = attempt.path;
  ctx.emit = [emit, path](std::string_view type, const Json& data) {
    Json d = data;
    d["step"] = path;
    emit(std::string(type), std::move(d));
  };
  tools::ToolRegistry* registry = tools_;
  return Bounded(attempt, [registry, tool, args, ctx, path]() -> Result<Json> {
    auto result = registry->Call(tool, args, ctx);
    if (!result.ok()) return result.error();
    const std::string text = ToolText(*result);
    if (result->is_error) {
      return MakeError(ErrorCode::kUnavailable, tool + " failed: " + (text.empty() ? "no details" : text),
                       "step " + path);
    }
    if (result->structured.is_object() || result->structured.is_array()) return result->structured;
    return Json{{"text", text}};
  });
}

Result<Json> StepExecutor::RunAgent(const std::string& agent_name, const StepAttempt& attempt) {
  const auto it = options_.agents.find(agent_name);
  if (it == options_.agents.end()) {
    return MakeError(ErrorCode::kNotFound, "no agent named \"" + agent_name + "\"", "step " + attempt.path);
  }
  // thread_id is stable across attempts and resumes, so a runner that checkpoints (langgraph)
  // continues a retried step where the killed attempt stopped; others ignore it.
  Json input = {{"message", attempt.input.value("message", "")},
                {"history", Json::array()},
                {"thread_id", attempt.run_id + "/" + attempt.path}};
  return RunOnWorker(it->second, it->second.runner, input, attempt);
}

Result<Json> StepExecutor::RunGraph(const WorkflowDefinition& def, const StepAttempt& attempt) {
  runners::AgentConfig agent;
  // The workflow's first agent (if any) gives the runner its model, prompt and tools.
  if (!def.agents.empty()) {
    if (auto it = options_.agents.find(def.agents.front()); it != options_.agents.end()) agent = it->second;
  }
  if (agent.name.empty()) agent.name = def.name;
  return RunOnWorker(agent, def.orchestrator, attempt.input, attempt);
}

Result<Json> StepExecutor::RunOnWorker(const runners::AgentConfig& agent, const std::string& runner,
                                       const Json& worker_input, const StepAttempt& attempt) {
  if (pool_ == nullptr) return MakeError(ErrorCode::kUnavailable, "no worker pool in this process", "step " + attempt.path);
  const std::string child_id = NewUuid();
  std::vector<tools::ToolInfo> snapshot;
  if (tools_ != nullptr && !agent.tools.empty()) {
    tools::CallContext visible;
    visible.allowed_tools = agent.tools;
    snapshot = tools_->List(visible);
  }
  STEWARD_RETURN_IF_ERROR(store_.CreateAgentRun(child_id, attempt.run_id, attempt.path, agent.name, runner,
                                                attempt.parent.trace_id, worker_input, snapshot));
  STEWARD_RETURN_IF_ERROR(store_.SetChildRun(attempt.run_id, attempt.path, child_id));

  RunIdentity identity;
  identity.run_id = child_id;
  identity.agent = agent.name;
  identity.model = agent.model;
  identity.trace_id = attempt.parent.trace_id;
  identity.root_span_id = attempt.parent.span_id;
  identity.tools = agent.tools;
  identity.risk_threshold = agent.risk_threshold;
  std::shared_ptr<LiveRun> child = runs_.Add(std::move(identity));

  runners::RunRequest work;
  work.run_id = child_id;
  work.runner = runner;
  work.agent = agent;
  work.input = worker_input;
  work.core_base_url = options_.core_base_url;
  work.token = child->identity().token;
  work.traceparent = telemetry::FormatTraceparent(attempt.parent);
  if (attempt.limits.cpu_seconds) work.limits["cpu_seconds"] = *attempt.limits.cpu_seconds;
  if (attempt.limits.memory_mb) work.limits["memory_mb"] = *attempt.limits.memory_mb;
  if (attempt.timeout) work.limits["wall_seconds"] = (attempt.timeout->count() + 999) / 1000;
  // The sink only queues into the child run; this thread pumps the queue, so nothing here blocks
  // the worker's reader thread.
  const std::string trace_id = attempt.parent.trace_id;
  Status submitted = pool_->Submit(work, [child, trace_id](const runners::WorkerEvent& event) {
    if (event.type == "token") {
      child->Emit("token", {{"text", event.data.value("text", "")}});
    } else if (event.type == "status") {
      Json d = event.data;
      d.erase("type");
      d.erase("run_id");
      child->Emit("status", std::move(d));
    } else if (event.type == "done") {
      child->Emit("done", {{"output", event.data.value("output", "")},
                           {"data", event.data.contains("data") ? event.data["data"] : Json(nullptr)},
                           {"stats", event.data.value("stats", Json::object())}});
    } else if (event.type == "error") {
      child->Emit("error", {{"code", event.data.value("code", "internal")},
                            {"message", event.data.value("message", "the worker reported an error")}});
    } else if (event.type == "spans") {
      telemetry::RecordWorkerSpans(event.data, trace_id, child->id());
    }
  });
  auto finish_child = [&](const std::string& status, const Json& output, const Json& error) {
    const RunCounters& c = child->counters();
    const Json stats = {{"usage",
                         {{"prompt_tokens", c.prompt_tokens.load()},
                          {"completion_tokens", c.completion_tokens.load()},
                          {"model_calls", c.model_calls.load()}}},
                        {"cost_usd", static_cast<double>(c.cost_nano_usd.load()) / 1e9},
                        {"tool_calls", c.tool_calls.load()},
                        {"tool_errors", c.tool_errors.load()}};
    if (Status s = store_.FinishChildRun(child_id, status, output, error, stats); !s.ok()) {
      spdlog::warn("workflow run {}: could not record agent run {}: {}", attempt.run_id, child_id, s.error().ToString());
    }
    runs_.Remove(child_id);
  };
  if (!submitted.ok()) {
    finish_child("failed", nullptr, {{"code", "unavailable"}, {"message", submitted.error().message}});
    return MakeError(ErrorCode::kUnavailable, "no worker took the step: " + submitted.error().message,
                     "step " + attempt.path);
  }

  const std::optional<Clock::time_point> deadline =
      attempt.timeout ? std::optional(Clock::now() + *attempt.timeout) : std::nullopt;
  std::optional<Clock::time_point> cancel_deadline;
  bool timed_out = false;
  bool stopped = false;
  std::optional<RunEvent> terminal;
  while (!terminal) {
    std::optional<RunEvent> event = child->Next(kPumpWait);
    if (event) {
      if (event->terminal()) {
        terminal = std::move(event);
        break;
      }
      Json d = std::move(event->data);
      d["step"] = attempt.path;
      d["child_run_id"] = child_id;
      attempt.emit(event->type, std::move(d));
      continue;
    }
    if (!cancel_deadline) {
      if (deadline && Clock::now() >= *deadline) timed_out = true;
      if (attempt.cancelled()) stopped = true;
      if (timed_out || stopped) {
        child->RequestCancel();
        pool_->Cancel(child_id);
        cancel_deadline = Clock::now() + kCancelGrace;
      }
    } else if (Clock::now() >= *cancel_deadline) {
      break;  // the pool always ends a cancelled run; this is only a guard
    }
  }
  if (timed_out) {
    finish_child("timed_out", nullptr, {{"code", "deadline_exceeded"}, {"message", "the step attempt timed out"}});
    return AttemptTimeout(attempt);
  }
  if (stopped || !terminal) {
    finish_child("cancelled", nullptr, {{"code", "cancelled"}, {"message", "the workflow run was stopped"}});
    return MakeError(ErrorCode::kCancelled, "the run was stopped", "step " + attempt.path);
  }
  if (terminal->type == "error") {
    const std::string code = terminal->data.value("code", "internal");
    const std::string message = telemetry::Redact(terminal->data.value("message", ""));
    finish_child(code == "cancelled" ? "cancelled" : "failed", nullptr, {{"code", code}, {"message", message}});
    // A crashed worker or a failed model call: worth another attempt (kUnavailable).
    ErrorCode ec = ErrorCodeFromName(code);
    if (ec == ErrorCode::kCancelled || ec == ErrorCode::kInternal) ec = ErrorCode::kUnavailable;
    return MakeError(ec, "the worker reported " + code + ": " + message, "step " + attempt.path);
  }
  Json output = {{"text", terminal->data.value("output", "")},
                 {"data", terminal->data.contains("data") ? terminal->data["data"] : Json(nullptr)}};
  finish_child("succeeded", output, nullptr);
  return output;
}

Result<Json> StepExecutor::RunLlm(const std::string& model, const StepAttempt& attempt) {
  if (models_ == nullptr) return MakeError(ErrorCode::kUnavailable, "no model gateway in this process", "step " + attempt.path);
  models::ChatRequest request;
  const std::string system = attempt.input.value("system", "");
  if (!system.empty()) request.messages.push_back({{"role", "system"}, {"content", system}});
  request.messages.push_back({{"role", "user"}, {"content", attempt.input.value("prompt", "")}});
  models::ModelCallContext ctx;
  ctx.run_id = attempt.run_id;
  ctx.trace_parent = attempt.parent;
  models::ModelGateway* gateway = models_;
  StepEmit emit = attempt.emit;
  const std::string path = attempt.path;
  auto cancelled = attempt.cancelled;
  return Bounded(attempt, [gateway, model, request, ctx, emit, path, cancelled]() mutable -> Result<Json> {
    auto result = gateway->Complete(
        model, std::move(request),
        [&](const models::ChatChunk& chunk) {
          if (!chunk.content.empty()) emit("token", {{"text", chunk.content}, {"step", path}});
          return !cancelled();
        },
        ctx);
    if (!result.ok()) return result.error();
    return Json{{"text", result->content},
                {"usage",
                 {{"prompt_tokens", result->usage.prompt_tokens}, {"completion_tokens", result->usage.completion_tokens}}}};
  });
}

Result<Json> StepExecutor::RunApproval(const StepAttempt& attempt) {
  if (approvals_ == nullptr) return MakeError(ErrorCode::kUnavailable, "no approval store in this process", "step " + attempt.path);
  tools::ApprovalRecord record;
  if (!attempt.approval_id.empty()) {
    auto found = approvals_->Get(attempt.approval_id);
    if (!found.ok()) return found.error();
    record = *found;
  } else {
    record.id = NewUuid();
    record.run_id = attempt.run_id;
    record.tool = kWorkflowApprovalTool;
    record.arguments = {{"workflow", attempt.workflow}, {"step", attempt.path},
                        {"message", attempt.input.value("message", "")}};
    record.arguments_hash = tools::ArgumentsHash(record.arguments);
    record.tier = "high";
    record.reason = attempt.input.value("message", std::string("workflow step ") + attempt.path + " asks for approval");
    auto inserted = approvals_->Insert(record);
    if (!inserted.ok()) return inserted.error();
    record = *inserted;
    STEWARD_RETURN_IF_ERROR(store_.SetApproval(attempt.run_id, attempt.path, record.id));
  }
  if (record.status == tools::ApprovalStatus::kPending) {
    attempt.emit("approval_required", {{"approval_id", record.id}, {"tool", record.tool},
                                       {"arguments", record.arguments}, {"arguments_hash", record.arguments_hash},
                                       {"tier", record.tier}, {"reason", record.reason}, {"step", attempt.path}});
  }
  const std::optional<Clock::time_point> deadline =
      attempt.timeout ? std::optional(Clock::now() + *attempt.timeout) : std::nullopt;
  while (record.status == tools::ApprovalStatus::kPending) {
    if (attempt.cancelled()) return MakeError(ErrorCode::kCancelled, "the run was stopped", "step " + attempt.path);
    if (deadline && Clock::now() >= *deadline) {
      auto expired = approvals_->Decide(record.id, tools::ApprovalStatus::kExpired, "timeout",
                                        "the workflow step's timeout passed", true);
      if (expired.ok()) {
        record = *expired;
        break;
      }
    }
    std::this_thread::sleep_for(options_.approval_poll);
    auto current = approvals_->Get(record.id);
    if (current.ok()) record = *current;
  }
  attempt.emit("approval_resolved", {{"approval_id", record.id}, {"status", tools::ApprovalStatusName(record.status)},
                                     {"by", record.decided_by}, {"note", record.note}, {"step", attempt.path}});
  if (record.status == tools::ApprovalStatus::kApproved) {
    return Json{{"approved", true}, {"approval_id", record.id}, {"by", record.decided_by}, {"note", record.note}};
  }
  if (record.status == tools::ApprovalStatus::kExpired) {
    return MakeError(ErrorCode::kDeadlineExceeded, "approval " + record.id + " expired without a decision",
                     "step " + attempt.path);
  }
  return MakeError(ErrorCode::kPermissionDenied,
                   "approval " + record.id + " was denied by " + record.decided_by +
                       (record.note.empty() ? "" : " (" + record.note + ")"),
                   "step " + attempt.path);
}

}  // namespace steward::engine
