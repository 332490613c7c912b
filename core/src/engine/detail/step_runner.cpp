#include "engine/detail/step_runner.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "engine/run_registry.hpp"
#include "engine/step_executor.hpp"
#include "engine/template.hpp"
#include "telemetry/tracer.hpp"

namespace steward::engine::detail {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using RunState = WorkflowEngine::RunState;

// A whole-workflow step on a worker runner: a crashed worker gets one more attempt.
constexpr int kGraphAttempts = 2;

Error Abandon(const std::string& why) { return MakeError(ErrorCode::kCancelled, why, kAbandon); }

// Errors a new attempt cannot fix.
bool Retryable(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kConfig:
    case ErrorCode::kNotFound:
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kCancelled:
    case ErrorCode::kBudgetExceeded:
      return false;
    default:
      return true;
  }
}

bool Interrupted(const StepRunnerEnv& env, const RunState& s) {
  return env.stopping.load(std::memory_order_acquire) || s.cancel.load(std::memory_order_acquire) ||
         (s.live && s.live->cancel_requested());
}

// Sleeps `d` in small slices; false if interrupted.
bool SleepFor(const StepRunnerEnv& env, const RunState& s, milliseconds d) {
  const auto until = Clock::now() + d;
  while (Clock::now() < until) {
    if (Interrupted(env, s)) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(milliseconds(50), until - Clock::now()));
  }
  return !Interrupted(env, s);
}

std::string ChildPath(const std::string& prefix, const std::string& id) {
  return prefix.empty() ? id : prefix + "." + id;
}

const StepDefinition* FindHandler(const WorkflowDefinition& def, const std::string& id) {
  for (const auto& h : def.handlers) {
    if (h.id == id) return &h;
  }
  return nullptr;
}

void StepStatus(const RunState& s, const std::string& path, const std::string& state, const std::string& kind, int attempt,
            const std::string& text, Json extra = Json::object()) {
  Json d = {{"text", text}, {"step", path}, {"state", state}, {"kind", kind}, {"attempt", attempt}};
  for (auto& [k, v] : extra.items()) d[k] = v;
  s.Emit("status", std::move(d));
}

// One commit per step boundary of a sequence: a step's result is recorded in the same statement
// that starts the first attempt of the step after it (StepStore::CompleteAndBegin).
struct Begun {  // the first attempt of a step, started that way
  Json input;
  std::string key;
};
struct NextStep {
  // The next step's first attempt, asked for once this step's output is in ctx; nullopt: it
  // starts on its own (resumed, interrupted, or its input does not render).
  std::function<std::optional<std::pair<AttemptStart, Begun>>()> prepare;
  std::optional<Begun> begun;  // set when it was started with this step's result
};

Result<Json> RunSequence(StepRunnerEnv& env, RunState& s, const std::vector<StepDefinition>& steps,
                         const std::string& prefix, Json& ctx);
// `begun`: this step's first attempt was started with the previous step's result. `next`: how to
// start the following step's in the commit of this one's result (null: no following step).
Result<Json> RunStepImpl(StepRunnerEnv& env, RunState& s, const StepDefinition& step, const std::string& path,
                         Json& ctx, const Begun* begun = nullptr, NextStep* next = nullptr);

// Renders what the attempt of `step` gets as input; for composites, what they decide on.
Result<Json> RenderInput(const RunState& s, const StepDefinition& step, const Json& ctx) {
  if (&step == &s.graph_step) {
    return Json{{"graph", s.def->graph}, {"workflow", s.def->name}, {"inputs", s.input}, {"thread_id", s.run_id}};
  }
  switch (step.kind) {
    case StepKind::kTool:
    case StepKind::kWorkflow:
      return RenderTemplate(step.input, ctx);
    case StepKind::kAgent: {
      auto m = RenderTemplateString(step.message, ctx);
      if (!m.ok()) return m.error();
      return Json{{"message", m->is_string() ? m->get<std::string>() : m->dump()}};
    }
    case StepKind::kApproval: {
      auto m = RenderTemplateString(step.message.empty() ? step.description : step.message, ctx);
      if (!m.ok()) return m.error();
      return Json{{"message", m->is_string() ? m->get<std::string>() : m->dump()}};
    }
    case StepKind::kLlm: {
      auto p = RenderTemplateString(step.prompt, ctx);
      if (!p.ok()) return p.error();
      auto sys = RenderTemplateString(step.system, ctx);
      if (!sys.ok()) return sys.error();
      return Json{{"prompt", p->is_string() ? p->get<std::string>() : p->dump()},
                  {"system", sys->is_string() ? sys->get<std::string>() : sys->dump()}};
    }
    case StepKind::kForEach: {
      const std::string& expr = step.items;
      auto items = HasPlaceholders(expr) ? RenderTemplateString(expr, ctx) : EvaluateExpression(expr, ctx);
      if (!items.ok()) return items.error();
      if (!items->is_array()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "expected `items` to yield an array, got " + std::string(items->type_name()),
                         "step " + step.id + ".items");
      }
      return Json{{"items", *items}};
    }
    case StepKind::kBranch: {
      for (size_t i = 0; i < step.cases.size(); ++i) {
        auto holds = EvaluateCondition(step.cases[i].when, ctx);
        if (!holds.ok()) return holds.error();
        if (*holds) return Json{{"case", i}};
      }
      return Json{{"case", "otherwise"}};
    }
  }
  return Json::object();
}

// The idempotency key an attempt of `step` passes to its tool.
Result<std::string> AttemptKey(const RunState& s, const StepDefinition& step, const std::string& path,
                               const Json& ctx) {
  if (step.kind != StepKind::kTool || &step == &s.graph_step) return std::string();
  if (step.idempotency_key.empty()) return s.run_id + "/" + path;
  auto k = RenderTemplateString(step.idempotency_key, ctx);
  if (!k.ok()) return k.error();
  return k->is_string() ? k->get<std::string>() : k->dump();
}

Result<Json> RunForEach(StepRunnerEnv& env, RunState& s, const StepDefinition& step, const std::string& path,
                        const Json& items, const Json& ctx) {
  const size_t n = items.size();
  std::vector<std::optional<Result<Json>>> results(n);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      if (failed.load() || Interrupted(env, s)) return;
      Json local = ctx;
      local["item"] = items[i];
      local["index"] = i;
      auto r = RunSequence(env, s, step.body, path + "[" + std::to_string(i) + "]", local);
      if (!r.ok()) failed = true;
      results[i].emplace(std::move(r));
    }
  };
  const size_t parallel = std::min<size_t>(std::max(step.max_parallel, 1), std::max<size_t>(n, 1));
  std::vector<std::thread> threads;
  for (size_t t = 1; t < parallel; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  Json out = Json::array();
  for (size_t i = 0; i < n; ++i) {
    if (!results[i]) {
      if (Interrupted(env, s) && env.stopping.load()) return Abandon("steward is stopping");
      continue;  // not started because another item failed
    }
    if (!results[i]->ok()) return results[i]->error();
  }
  for (size_t i = 0; i < n; ++i) {
    if (!results[i]) return MakeError(ErrorCode::kCancelled, "the run was cancelled", "step " + path);
    out.push_back(results[i]->value());
  }
  return out;
}

Result<Json> RunSubWorkflow(StepRunnerEnv& env, RunState& s, const StepDefinition& step, const std::string& path,
                            const Json& inputs, const std::string& prior_child) {
  const auto& workflows = env.workflows;
  const auto it = workflows.find(step.workflow);
  if (it == workflows.end()) {
    return MakeError(ErrorCode::kNotFound,
                     "no workflow named \"" + step.workflow + "\" (configured: " + JoinKeys(workflows) + ")",
                     "step " + path);
  }
  auto child = std::make_shared<RunState>();
  child->def = &it->second;
  child->trace_id = s.trace_id;
  child->span = s.span;
  child->live = s.live;
  child->engine_stopping = s.engine_stopping;
  bool resumed = false;
  if (!prior_child.empty()) {
    auto prior = env.store.LoadRun(prior_child);
    if (prior.ok() && prior->status == "succeeded") return prior->output;
    if (prior.ok() && prior->status == "running") {
      auto claimed = env.store.Claim(prior_child);
      if (claimed.ok() && *claimed) {
        child->run_id = prior_child;
        child->input = prior->input;
        resumed = true;
      }
    }
  }
  if (!resumed) {
    auto validated = ResolveInputs(*child->def, inputs);
    if (!validated.ok()) return validated.error();
    child->input = *validated;
    child->run_id = NewUuid();
    NewWorkflowRun row;
    row.id = child->run_id;
    row.workflow = child->def->name;
    row.trigger = "workflow";
    row.trace_id = s.trace_id;
    row.parent_run_id = s.run_id;
    row.parent_step = path;
    row.input = child->input;
    STEWARD_RETURN_IF_ERROR(env.store.CreateRun(row));
    STEWARD_RETURN_IF_ERROR(env.store.SetChildRun(s.run_id, path, child->run_id));
  }
  auto out = ExecuteRun(env, *child);
  if (!out.ok() && IsAbandon(out.error())) return out;
  const Status finished =
      out.ok() ? env.store.FinishRun(child->run_id, "succeeded", *out, nullptr)
               : env.store.FinishRun(child->run_id, std::string(Describe(out.error().code).run_state), nullptr,
                                     ErrorJson(out.error(), 0));
  if (!finished.ok()) return Abandon(finished.error().message);
  return out;
}

// Runs one attempt; `prior` is the step's row as found (resumed waits reuse its approval).
Result<Json> RunAttempt(StepRunnerEnv& env, RunState& s, const StepDefinition& step, const std::string& path, Json& ctx,
                        int attempt, const Json& input, const std::string& key, const StepRecord* prior) {
  StepAttempt a;
  a.run_id = s.run_id;
  a.workflow = s.def->name;
  a.path = path;
  a.attempt = attempt;
  a.input = input;
  a.idempotency_key = key;
  a.timeout = step.timeout;
  a.limits = step.limits;
  // An attempt abandoned at its timeout may still call these after the run ended: they hold
  // what they use.
  std::shared_ptr<LiveRun> live = s.live;
  a.emit = [live](const std::string& type, Json data) {
    if (live) live->Emit(type, std::move(data));
  };
  std::shared_ptr<RunState> self = s.shared_from_this();
  a.cancelled = [self] {
    return (self->engine_stopping && self->engine_stopping->load()) || self->cancel.load() ||
           (self->live && self->live->cancel_requested());
  };
  telemetry::ScopedSpan span = telemetry::StartSpan("workflow.step " + path, s.span);
  span.SetRunId(s.run_id).Set("workflow.step.path", path).Set("workflow.step.kind", std::string(StepKindName(step.kind)))
      .Set("workflow.step.attempt", static_cast<int64_t>(attempt));
  a.parent = span.context();
  Result<Json> out = Json(nullptr);
  if (&step == &s.graph_step) {
    out = env.exec.RunGraph(*s.def, a);
  } else {
    switch (step.kind) {
      case StepKind::kTool:
        out = env.exec.RunTool(step.tool, a);
        break;
      case StepKind::kAgent:
        out = env.exec.RunAgent(step.agent, a);
        break;
      case StepKind::kLlm:
        out = env.exec.RunLlm(step.model, a);
        break;
      case StepKind::kApproval:
        if (prior != nullptr && prior->status == "waiting") a.approval_id = prior->approval_id;
        out = env.exec.RunApproval(a);
        break;
      case StepKind::kForEach:
        out = RunForEach(env, s, step, path, input.at("items"), ctx);
        break;
      case StepKind::kBranch: {
        const Json& which = input.at("case");
        const bool otherwise = which.is_string();
        const auto& steps = otherwise ? step.otherwise : step.cases.at(which.get<size_t>()).steps;
        const std::string prefix = otherwise ? path + ".otherwise" : path + ".case[" + which.dump() + "]";
        out = RunSequence(env, s, steps, prefix, ctx);
        break;
      }
      case StepKind::kWorkflow:
        out = RunSubWorkflow(env, s, step, path, input,
                             prior != nullptr && attempt == prior->attempt ? prior->child_run_id : std::string());
        break;
    }
  }
  if (out.ok()) span.SetOk(); else span.SetError(out.error().message);
  return out;
}

// The row of the first attempt of `step`, for the commit of the previous step's result.
std::optional<std::pair<AttemptStart, Begun>> PrepareFirstAttempt(StepRunnerEnv& env, RunState& s,
                                                                  const StepDefinition& step, const std::string& path,
                                                                  const Json& ctx) {
  if (Interrupted(env, s)) return std::nullopt;
  {
    std::lock_guard lock(s.mu);
    if (s.recorded.count(path)) return std::nullopt;  // resumed: its row decides how it continues
  }
  auto input = RenderInput(s, step, ctx);
  if (!input.ok()) return std::nullopt;
  auto key = AttemptKey(s, step, path, ctx);
  if (!key.ok()) return std::nullopt;
  AttemptStart row{path, step.id, std::string(StepKindName(step.kind)), *input, *key};
  return std::make_pair(std::move(row), Begun{std::move(*input), std::move(*key)});
}

Result<Json> RunSequence(StepRunnerEnv& env, RunState& s, const std::vector<StepDefinition>& steps,
                         const std::string& prefix, Json& ctx) {
  Json last = nullptr;
  std::optional<Begun> begun;  // the current step's first attempt, started with the previous result
  for (size_t i = 0; i < steps.size(); ++i) {
    const StepDefinition& step = steps[i];
    // A step already started decides itself what an interruption means for its attempt.
    if (!begun && Interrupted(env, s)) {
      if (env.stopping.load()) return Abandon("steward is stopping");
      return MakeError(ErrorCode::kCancelled, "the run was cancelled", "step " + ChildPath(prefix, step.id));
    }
    NextStep next;
    if (i + 1 < steps.size()) {
      const StepDefinition& following = steps[i + 1];
      next.prepare = [&env, &s, &following, &ctx, path = ChildPath(prefix, following.id)] {
        return PrepareFirstAttempt(env, s, following, path, ctx);
      };
    }
    auto out = RunStepImpl(env, s, step, ChildPath(prefix, step.id), ctx, begun ? &*begun : nullptr, &next);
    if (!out.ok()) return out.error();
    begun = std::move(next.begun);
    last = std::move(*out);
  }
  return last;
}

// The failure of `step` for good: its fallback's output replaces its own, else its on_error
// handler runs and the error stands.
Result<Json> HandleFailure(StepRunnerEnv& env, RunState& s, const StepDefinition& step, const std::string& path,
                           Json& ctx, const Error& error, int attempt) {
  StepStatus(s, path, "failed", std::string(StepKindName(step.kind)), attempt, path + " failed: " + error.message,
         {{"error", ErrorJson(error, attempt)}});
  Json handler_ctx = ctx;
  handler_ctx["error"] = {{"step", path}, {"code", std::string(Describe(error.code).name)}, {"message", error.message}};
  if (!step.fallback.empty()) {
    if (const StepDefinition* fb = FindHandler(*s.def, step.fallback)) {
      auto out = RunStepImpl(env, s, *fb, path + ".fallback", handler_ctx);
      if (out.ok()) {
        if (Status c = env.store.Complete(s.run_id, path, *out); !c.ok()) return Abandon(c.error().message);
        ctx["steps"][step.id] = {{"output", *out}};
        StepStatus(s, path, "succeeded", std::string(StepKindName(step.kind)), attempt,
               path + " replaced by its fallback " + step.fallback);
        return out;
      }
      if (IsAbandon(out.error())) return out;
    }
  }
  if (!step.on_error.empty()) {
    if (const StepDefinition* h = FindHandler(*s.def, step.on_error)) {
      auto handled = RunStepImpl(env, s, *h, path + ".on_error", handler_ctx);
      if (!handled.ok()) {
        if (IsAbandon(handled.error())) return handled;
        spdlog::warn("workflow run {}: the on_error handler of {} failed: {}", s.run_id, path,
                     handled.error().ToString());
      }
    }
  }
  Error e = error;
  if (e.context.empty() || e.context.rfind("step ", 0) != 0) e.context = "step " + path;
  return e;
}

Result<Json> RunStepImpl(StepRunnerEnv& env, RunState& s, const StepDefinition& step, const std::string& path,
                         Json& ctx, const Begun* begun, NextStep* next) {
  const std::string kind = &step == &s.graph_step ? "graph" : std::string(StepKindName(step.kind));
  std::optional<StepRecord> prior;
  {
    std::lock_guard lock(s.mu);
    if (auto it = s.recorded.find(path); it != s.recorded.end()) prior = it->second;
  }
  if (prior && prior->status == "succeeded") {
    ctx["steps"][step.id] = {{"output", prior->output}};
    StepStatus(s, path, "succeeded", kind, prior->attempt, path + ": already done (recorded result)", {{"recorded", true}});
    return prior->output;
  }
  const RetryPolicy& retry = step.retry;
  const int max_attempts = std::max(1, &step == &s.graph_step ? kGraphAttempts : retry.max_attempts);
  if (prior && prior->status == "failed") {
    const Json& e = prior->error;
    Error error = MakeError(ErrorCode::kUnavailable, "failed", "step " + path);
    if (e.is_object()) {
      error = MakeError(ErrorCodeFromName(e.value("code", "unavailable")), e.value("message", "failed"),
                        e.value("context", "step " + path));
    }
    return HandleFailure(env, s, step, path, ctx, error, prior->attempt);
  }
  while (true) {
    // An approval still waiting, or a sub-workflow whose child run is in progress, continues
    // where it was rather than starting a new attempt.
    const bool resume_wait =
        prior && ((prior->status == "waiting" && !prior->approval_id.empty()) ||
                  (step.kind == StepKind::kWorkflow && &step != &s.graph_step && prior->status == "running" &&
                   !prior->child_run_id.empty()) ||
                  // A composite's own attempt is not what failed: its inner steps have their own.
                  ((step.kind == StepKind::kForEach || step.kind == StepKind::kBranch) && &step != &s.graph_step &&
                   prior->status == "running"));
    if (prior && !resume_wait && prior->attempt >= max_attempts) {
      // The last allowed attempt was cut short by the death of the process that ran it.
      const Error error = MakeError(ErrorCode::kUnavailable,
                                    "attempt " + std::to_string(prior->attempt) + " of " +
                                        std::to_string(max_attempts) +
                                        " was interrupted (the process running it stopped) and no attempts are left",
                                    "step " + path);
      if (Status r = env.store.RecordFailure(s.run_id, path, ErrorJson(error, prior->attempt), true); !r.ok()) {
        return Abandon(r.error().message);
      }
      return HandleFailure(env, s, step, path, ctx, error, prior->attempt);
    }
    Result<Json> input = Json(nullptr);
    std::string key;
    int attempt = 0;
    if (begun != nullptr) {
      input = begun->input;
      key = begun->key;
      attempt = 1;
    } else {
      input = RenderInput(s, step, ctx);
      if (input.ok()) {
        auto k = AttemptKey(s, step, path, ctx);
        if (k.ok()) key = std::move(*k);
        else input = k.error();
      }
      if (resume_wait) {
        attempt = prior->attempt;
      } else {
        auto started = env.store.BeginAttempt(s.run_id, path, step.id, kind, input.ok() ? *input : Json(nullptr), key);
        if (!started.ok()) return Abandon(started.error().message);
        attempt = *started;
      }
    }
    Result<Json> out = input.ok() ? Result<Json>(Json(nullptr)) : Result<Json>(input.error());
    if (input.ok() && begun != nullptr && Interrupted(env, s)) {
      // Started with the previous step's result, but nothing of it ran: a stop does not count it,
      // a cancel ends it like an attempt cut short.
      if (env.stopping.load(std::memory_order_acquire)) {
        (void)env.store.ForgetAttempt(s.run_id, path);
        return Abandon("steward is stopping");
      }
      out = MakeError(ErrorCode::kCancelled, "the run was cancelled", "step " + path);
    } else if (input.ok()) {
      StepStatus(s, path, "started", kind, attempt,
             path + ": " + kind + (attempt > 1 ? " (attempt " + std::to_string(attempt) + ")" : ""));
      out = RunAttempt(env, s, step, path, ctx, attempt, *input, key, resume_wait ? &*prior : nullptr);
    }
    prior.reset();
    begun = nullptr;
    if (out.ok()) {
      // In ctx before the commit: the next step's input, started in the same commit, may read it.
      ctx["steps"][step.id] = {{"output", *out}};
      auto following = next != nullptr && next->prepare ? next->prepare() : std::nullopt;
      if (following) {
        auto folded = env.store.CompleteAndBegin(s.run_id, path, *out, following->first);
        if (!folded.ok()) return Abandon(folded.error().message);
        if (*folded) next->begun = std::move(following->second);
      } else if (Status c = env.store.Complete(s.run_id, path, *out); !c.ok()) {
        return Abandon(c.error().message);
      }
      {
        std::lock_guard lock(s.mu);
        StepRecord r;
        r.path = path;
        r.status = "succeeded";
        r.output = *out;
        r.attempt = attempt;
        s.recorded[path] = std::move(r);
      }
      StepStatus(s, path, "succeeded", kind, attempt, path + ": done");
      if (env.options.step_pause.count() > 0) (void)SleepFor(env, s, env.options.step_pause);
      return out;
    }
    const Error& error = out.error();
    if (IsAbandon(error)) return out;
    if (env.stopping.load(std::memory_order_acquire)) {
      // Cut short by this process stopping: the attempt does not count. (Composites, approvals
      // and sub-workflows continue in place when resumed, so theirs stays.)
      const bool in_place = &step != &s.graph_step &&
                            (step.kind == StepKind::kForEach || step.kind == StepKind::kBranch ||
                             step.kind == StepKind::kApproval || step.kind == StepKind::kWorkflow);
      if (!in_place) (void)env.store.ForgetAttempt(s.run_id, path);
      return Abandon("steward is stopping");
    }
    const bool final = !Retryable(error.code) || attempt >= max_attempts || Interrupted(env, s);
    if (Status r = env.store.RecordFailure(s.run_id, path, ErrorJson(error, attempt), final); !r.ok()) {
      return Abandon(r.error().message);
    }
    if (final) {
      if (Interrupted(env, s)) return MakeError(ErrorCode::kCancelled, "the run was cancelled", "step " + path);
      return HandleFailure(env, s, step, path, ctx, error, attempt);
    }
    double backoff = static_cast<double>(retry.initial_backoff.count()) * std::pow(retry.multiplier, attempt - 1);
    backoff = std::min(backoff, static_cast<double>(retry.max_backoff.count()));
    StepStatus(s, path, "retrying", kind, attempt,
           path + ": attempt " + std::to_string(attempt) + " failed (" + error.message + "); retrying in " +
               std::to_string(static_cast<int64_t>(backoff)) + " ms",
           {{"error", ErrorJson(error, attempt)}});
    if (!SleepFor(env, s, milliseconds(static_cast<int64_t>(backoff)))) {
      if (env.stopping.load()) return Abandon("steward is stopping");
      return MakeError(ErrorCode::kCancelled, "the run was cancelled", "step " + path);
    }
  }
}

}  // namespace

Json ErrorJson(const Error& e, int attempt) {
  return {{"code", std::string(Describe(e.code).name)}, {"message", e.message}, {"context", e.context},
          {"attempt", attempt}};
}

std::string JoinKeys(const std::map<std::string, WorkflowDefinition>& m) {
  std::string out;
  for (const auto& [k, _] : m) out += (out.empty() ? "" : ", ") + k;
  return out.empty() ? "none" : out;
}

Result<Json> ExecuteRun(StepRunnerEnv& env, RunState& s) {
  auto recorded = env.store.LoadSteps(s.run_id);
  if (!recorded.ok()) return Abandon("cannot load its steps: " + recorded.error().message);
  {
    std::lock_guard lock(s.mu);
    s.recorded = std::move(*recorded);
  }
  Json ctx = {{"inputs", s.input}, {"steps", Json::object()}, {"run", {{"id", s.run_id}, {"workflow", s.def->name}}}};
  Result<Json> last = Json(nullptr);
  if (s.def->orchestrator != "steward") {
    s.graph_step.id = "graph";
    s.graph_step.kind = StepKind::kAgent;
    s.graph_step.description = "the whole workflow, run by " + s.def->orchestrator;
    s.graph_step.retry.max_attempts = kGraphAttempts;
    last = RunStepImpl(env, s, s.graph_step, "graph", ctx);
  } else {
    last = RunSequence(env, s, s.def->steps, "", ctx);
  }
  if (!last.ok()) return last;
  if (!s.def->output.empty()) {
    auto rendered = RenderTemplateString(s.def->output, ctx);
    if (!rendered.ok()) return rendered.error();
    return *rendered;
  }
  return last;
}

}  // namespace steward::engine::detail
