#include "engine/workflow_engine.hpp"

#include <utility>

#include <spdlog/spdlog.h>

#include "engine/detail/step_runner.hpp"
#include "engine/interrupted_chat_runs.hpp"
#include "engine/run_lease.hpp"
#include "engine/step_executor.hpp"
#include "telemetry/instruments.hpp"
#include "telemetry/tracer.hpp"
#include "tools/approval_store.hpp"

namespace steward::engine {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using detail::ErrorJson;
using detail::IsAbandon;
using detail::JoinKeys;

constexpr int kAdoptBatch = 16;

}  // namespace

WorkflowEngine::WorkflowEngine(store::Database& db, RunRegistry& runs, runners::WorkerPool* pool,
                               tools::ToolRegistry* tools, models::ModelGateway* models, WorkflowEngineOptions options)
    : db_(db),
      runs_(runs),
      options_([&] {
        if (options.owner_id.empty()) options.owner_id = NewUuid();
        return std::move(options);
      }()),
      store_(db, options_.owner_id, options_.lease),
      approvals_(std::make_unique<tools::PgApprovalStore>(db)) {
  StepExecutorOptions exec;
  exec.agents = options_.agents;
  exec.core_base_url = options_.core_base_url;
  exec.tool_risk_threshold = options_.tool_risk_threshold;
  exec.approval_poll = options_.approval_poll;
  executor_ = std::make_unique<StepExecutor>(store_, runs_, pool, tools, models, approvals_.get(), std::move(exec));
  lease_ = std::make_unique<RunLease>(store_, options_.adopt_interval, [this] { AdoptExpired(); });
}

WorkflowEngine::~WorkflowEngine() { Stop(); }

Status WorkflowEngine::Start() {
  AdoptExpired();
  lease_->Start();
  return Status::Ok();
}

Result<StartedWorkflowRun> WorkflowEngine::StartRun(const StartWorkflowRequest& request) {
  const auto it = options_.workflows.find(request.workflow);
  if (it == options_.workflows.end()) {
    return MakeError(ErrorCode::kNotFound,
                     "no workflow named \"" + request.workflow + "\" (configured: " + JoinKeys(options_.workflows) + ")",
                     "workflow");
  }
  auto inputs = ResolveInputs(it->second, request.inputs);
  if (!inputs.ok()) return inputs.error();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return MakeError(ErrorCode::kUnavailable, "steward is stopping; start the run again later", "workflow");
  }
  auto state = std::make_shared<RunState>();
  state->def = &it->second;
  state->input = *inputs;
  state->engine_stopping = stop_shared_;
  telemetry::ScopedSpan root = telemetry::StartSpan("workflow.run " + it->second.name);
  state->trace_id = root.context().trace_id;
  state->span = root.context();
  NewWorkflowRun row;
  row.id = request.run_id.empty() ? NewUuid() : request.run_id;
  row.workflow = it->second.name;
  row.trigger = request.trigger;
  row.trace_id = state->trace_id;
  row.input = state->input;
  state->run_id = row.id;
  root.SetRunId(row.id).Set("workflow.name", row.workflow).Set("workflow.orchestrator", it->second.orchestrator)
      .Set("workflow.trigger", request.trigger);
  if (Status s = store_.CreateRun(row); !s.ok()) {
    root.SetError(s.error().message);
    if (s.error().code == ErrorCode::kConflict) {
      return MakeError(ErrorCode::kConflict, "a run with id " + row.id + " exists already", "run_id");
    }
    return s.error();
  }
  root.SetOk();
  root.End();  // the run's span covers its start; each step has its own span under it
  if (request.stream) {
    RunIdentity identity;
    identity.run_id = row.id;
    identity.agent = row.workflow;
    identity.trace_id = state->trace_id;
    identity.root_span_id = state->span.span_id;
    state->live = runs_.Add(std::move(identity));
    state->registered = true;
    state->live->Emit("session", {{"workflow", row.workflow}, {"trace_id", state->trace_id}, {"inputs", state->input}});
  }
  StartedWorkflowRun started{row.id, state->trace_id, state->live};
  Launch(state);
  return started;
}

Result<std::string> WorkflowEngine::StartWorkflowRun(const std::string& name, const Json& inputs,
                                                     const std::string& trigger, const std::string& run_id) {
  StartWorkflowRequest request;
  request.run_id = run_id;
  request.workflow = name;
  request.inputs = inputs;
  request.trigger = trigger;
  auto started = StartRun(request);
  if (!started.ok()) return started.error();
  return started->run_id;
}

void WorkflowEngine::Launch(std::shared_ptr<RunState> state) {
  std::lock_guard lock(mu_);
  if (stopping_) return;  // the lease is released in Stop(); the next process adopts it
  // Reap threads whose runs ended.
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (!it->joinable()) {
      it = threads_.erase(it);
    } else {
      ++it;
    }
  }
  active_[state->run_id] = state;
  threads_.emplace_back([this, state] { Drive(state); });
}

void WorkflowEngine::Drive(const std::shared_ptr<RunState>& state) {
  detail::StepRunnerEnv env{store_, *executor_, options_, stop_flag_, options_.workflows};
  state->Emit("status", {{"text", "running workflow " + state->def->name}, {"state", "running"}});
  Result<Json> out = detail::ExecuteRun(env, *state);
  const double duration_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - state->started).count();
  if (!out.ok() && IsAbandon(out.error())) {
    // Not stopping (a database error, a lost lease): let whoever adopts it next drive it.
    if (!stop_flag_.load()) (void)store_.Release(state->run_id);
    spdlog::info("workflow run {} ({}): left for another process to resume: {}", state->run_id, state->def->name,
                 out.error().message);
    state->Emit("error", {{"code", "cancelled"},
                          {"message", "this steward stopped driving the run (" + out.error().message +
                                          "); it resumes from its last completed step when a steward adopts it"}});
  } else if (out.ok()) {
    Status s = store_.FinishRun(state->run_id, "succeeded", *out, nullptr);
    if (!s.ok()) {
      state->Emit("error", {{"code", "conflict"}, {"message", s.error().message}});
    } else {
      spdlog::info("workflow run {} ({}) succeeded in {:.0f} ms", state->run_id, state->def->name, duration_ms);
      state->Emit("done", {{"status", "succeeded"}, {"workflow", state->def->name}, {"output", *out},
                           {"trace_id", state->trace_id}, {"duration_ms", duration_ms}});
    }
  } else {
    const Error& e = out.error();
    const std::string status(Describe(e.code).run_state);
    Status s = store_.FinishRun(state->run_id, status, nullptr, ErrorJson(e, 0));
    spdlog::info("workflow run {} ({}) ended {}: {}", state->run_id, state->def->name, status, e.ToString());
    state->Emit("error", {{"code", std::string(Describe(e.code).name)}, {"message", e.message},
                          {"step", e.context.rfind("step ", 0) == 0 ? e.context.substr(5) : e.context},
                          {"status", status}, {"recorded", s.ok()}});
  }
  if (state->registered) runs_.Remove(state->run_id);
  {
    std::lock_guard lock(mu_);
    active_.erase(state->run_id);
    // Detach this thread's handle: it is about to end, and a later Launch reaps it.
    for (auto& t : threads_) {
      if (t.joinable() && t.get_id() == std::this_thread::get_id()) {
        t.detach();
        break;
      }
    }
    cv_.notify_all();
  }
}

void WorkflowEngine::AdoptExpired() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
  }
  // Chat turns cannot be resumed: those of dead processes are ended, each by one process.
  if (auto ended = FailInterruptedChatRuns(db_, options_.owner_id, kAdoptBatch); !ended.ok()) {
    spdlog::warn("run leases: could not look for interrupted chat runs: {}", ended.error().ToString());
  } else {
    for (const std::string& id : *ended) {
      telemetry::metrics::Error("run", "interrupted");
      spdlog::info("chat run {}: its core stopped during the turn; recorded failed (interrupted)", id);
    }
  }
  std::vector<std::string> names;
  for (const auto& [name, _] : options_.workflows) names.push_back(name);
  auto adopted = store_.AdoptExpired(kAdoptBatch, names);
  if (!adopted.ok()) {
    spdlog::warn("workflow engine: could not look for runs to adopt: {}", adopted.error().ToString());
    return;
  }
  for (const std::string& id : *adopted) {
    {
      std::lock_guard lock(mu_);
      if (active_.count(id)) continue;
    }
    auto run = store_.LoadRun(id);
    if (!run.ok()) continue;
    const auto it = options_.workflows.find(run->workflow);
    if (it == options_.workflows.end()) {
      (void)store_.FinishRun(id, "failed", nullptr,
                             {{"code", "not_found"},
                              {"message", "workflow \"" + run->workflow + "\" is no longer configured; the run cannot resume"}});
      continue;
    }
    auto state = std::make_shared<RunState>();
    state->engine_stopping = stop_shared_;
    state->run_id = id;
    state->def = &it->second;
    state->trace_id = run->trace_id;
    state->input = run->input.is_object() ? run->input : Json::object();
    telemetry::SpanContext parent;
    parent.trace_id = run->trace_id;
    parent.span_id = RandomHex(8);
    telemetry::ScopedSpan span = telemetry::StartSpan("workflow.resume " + run->workflow, parent);
    span.SetRunId(id).Set("workflow.name", run->workflow).Set("workflow.owner", options_.owner_id);
    state->span = span.context();
    span.SetOk();
    spdlog::info("workflow run {} ({}): adopted, resuming from its recorded steps", id, run->workflow);
    Launch(state);
  }
}

bool WorkflowEngine::Cancel(const std::string& run_id) {
  std::lock_guard lock(mu_);
  auto it = active_.find(run_id);
  if (it == active_.end()) return false;
  it->second->cancel = true;
  return true;
}

Result<WorkflowRunRecord> WorkflowEngine::Wait(const std::string& run_id, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return !active_.count(run_id); });
  }
  while (true) {
    auto run = store_.LoadRun(run_id);
    if (!run.ok()) return run.error();
    if (run->status != "running") return run;
    if (Clock::now() >= deadline) {
      return MakeError(ErrorCode::kDeadlineExceeded, "run " + run_id + " is still running", "run " + run_id);
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

void WorkflowEngine::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    stop_flag_.store(true, std::memory_order_release);
    stop_shared_->store(true);
    threads.swap(threads_);
  }
  if (lease_) lease_->Stop();
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
  if (Status s = store_.ReleaseAll(); !s.ok()) {
    spdlog::warn("workflow engine: could not release run leases: {}", s.error().ToString());
  }
}

size_t WorkflowEngine::active_runs() const {
  std::lock_guard lock(mu_);
  return active_.size();
}

Json WorkflowEngine::DescribeWorkflow(const WorkflowDefinition& def) {
  Json steps = Json::array();
  for (const auto& s : def.steps) {
    steps.push_back({{"id", s.id}, {"kind", std::string(StepKindName(s.kind))}, {"description", s.description}});
  }
  Json inputs = Json::object();
  for (const auto& [k, v] : def.inputs) inputs[k] = {{"default", v}, {"required", v.is_null()}};
  Json schedule = nullptr;
  if (def.schedule) schedule = {{"cron", def.schedule->cron}, {"timezone", def.schedule->timezone}};
  return {{"name", def.name},         {"description", def.description}, {"pattern", def.pattern},
          {"orchestrator", def.orchestrator}, {"graph", def.graph},     {"agents", def.agents},
          {"trigger", def.trigger},   {"schedule", schedule},           {"inputs", inputs},
          {"steps", steps},           {"source", def.source.string()}};
}

}  // namespace steward::engine
