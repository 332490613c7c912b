// /api/workflows and /api/runs: the configured workflows, starting a run (JSON answer or an SSE
// stream of its events), and run history with filters.

#include <spdlog/spdlog.h>

#include "engine/workflow_engine.hpp"
#include "gateway/api.hpp"
#include "gateway/sse.hpp"

namespace steward::gateway {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(200);
constexpr auto kHeartbeatEvery = std::chrono::seconds(10);

Status RequireEngine(const ApiContext& ctx) {
  if (ctx.workflows == nullptr) {
    return MakeError(ErrorCode::kUnavailable, "the workflow engine is not running in this steward", "workflows");
  }
  return Status::Ok();
}

// Relays the run's events until its terminal one. A client that goes away stops the stream, not
// the run: a workflow is durable and runs on without a watcher.
void StreamRun(engine::LiveRun& run, ResponseWriter& w) {
  auto last_write = std::chrono::steady_clock::now();
  for (;;) {
    std::optional<engine::RunEvent> event = run.Next(kPollInterval);
    if (!event) {
      if (w.PeerClosed()) break;
      if (std::chrono::steady_clock::now() - last_write > kHeartbeatEvery) {
        if (!w.Write(": keep-alive\n\n")) break;
        last_write = std::chrono::steady_clock::now();
      }
      continue;
    }
    if (!w.Write(SseEvent(event->type, event->data))) break;
    last_write = std::chrono::steady_clock::now();
    if (event->terminal()) return;
  }
  spdlog::info("workflow run {}: the client stopped watching; the run goes on", run.id());
}

void StartRun(ApiContext& ctx, const Request& req, const PathParams& params, ResponseWriter& w) {
  auto principal = RequirePrincipal(ctx, req, w);
  if (!principal) return;
  if (!principal->owner()) {
    return w.SendError(MakeError(ErrorCode::kPermissionDenied, "a run token cannot start workflows", "Authorization"));
  }
  if (Status s = RequireEngine(ctx); !s.ok()) return w.SendError(s.error());
  nlohmann::json body = nlohmann::json::object();
  if (!req.body().empty()) {
    auto parsed = RequireJsonObject(req, w);
    if (!parsed) return;
    body = std::move(*parsed);
  }
  engine::StartWorkflowRequest start;
  start.workflow = params.find("name")->second;
  for (const auto& [key, value] : body.items()) {
    if (key == "inputs") {
      if (!value.is_object() && !value.is_null()) {
        return w.SendError(MakeError(ErrorCode::kInvalidArgument,
                                     std::string("expected an object of inputs, got ") + value.type_name(), "inputs"));
      }
      if (value.is_object()) start.inputs = value;
    } else if (key == "stream") {
      if (!value.is_boolean()) {
        return w.SendError(MakeError(ErrorCode::kInvalidArgument,
                                     std::string("expected true or false, got ") + value.type_name(), "stream"));
      }
      start.stream = value.get<bool>();
    } else if (key == "trigger") {
      if (!value.is_string()) {
        return w.SendError(MakeError(ErrorCode::kInvalidArgument, "expected a string", "trigger"));
      }
      start.trigger = value.get<std::string>();
    } else {
      return w.SendError(MakeError(ErrorCode::kInvalidArgument,
                                   "unknown field \"" + key + "\" (expected inputs, stream, trigger)", key));
    }
  }
  auto started = ctx.workflows->StartRun(start);
  if (!started.ok()) return w.SendError(started.error());
  if (!start.stream) {
    return w.SendJson(http::status::accepted, {{"run_id", started->run_id},
                                               {"workflow", start.workflow},
                                               {"status", "running"},
                                               {"trace_id", started->trace_id}});
  }
  if (!w.StartStream(http::status::ok, "text/event-stream")) return;
  StreamRun(*started->live, w);
  w.EndStream();
}

}  // namespace

void RegisterWorkflowRoutes(HttpServer& server, ApiContext& ctx) {
  server.Route(http::verb::get, "/api/workflows", [&ctx](const Request& req, const PathParams&, ResponseWriter& w) {
    if (!RequirePrincipal(ctx, req, w)) return;
    if (Status s = RequireEngine(ctx); !s.ok()) return w.SendError(s.error());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [_, def] : ctx.workflows->options().workflows) {
      list.push_back(engine::WorkflowEngine::DescribeWorkflow(def));
    }
    w.SendJson(http::status::ok, {{"workflows", list}});
  });

  server.Route(http::verb::post, "/api/workflows/{name}/runs",
               [&ctx](const Request& req, const PathParams& params, ResponseWriter& w) { StartRun(ctx, req, params, w); });

  server.Route(http::verb::get, "/api/runs", [&ctx](const Request& req, const PathParams&, ResponseWriter& w) {
    if (!RequirePrincipal(ctx, req, w)) return;
    if (Status s = RequireEngine(ctx); !s.ok()) return w.SendError(s.error());
    const ParsedTarget target = ParseTarget(req.target());
    engine::RunFilter filter;
    if (auto it = target.query.find("status"); it != target.query.end()) filter.status = it->second;
    if (auto it = target.query.find("workflow"); it != target.query.end()) filter.workflow = it->second;
    if (auto it = target.query.find("limit"); it != target.query.end()) {
      try {
        filter.limit = std::clamp(std::stoi(it->second), 1, 1000);
      } catch (const std::exception&) {
        return w.SendError(MakeError(ErrorCode::kInvalidArgument, "expected an integer 1..1000", "limit"));
      }
    }
    auto runs = ctx.workflows->store().ListRuns(filter);
    if (!runs.ok()) return w.SendError(runs.error());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : *runs) list.push_back(r.ToJson());
    w.SendJson(http::status::ok, {{"runs", list}});
  });
}

nlohmann::json WorkflowRunDetails(const ApiContext& ctx, const std::string& run_id) {
  if (ctx.workflows == nullptr) return nullptr;
  auto run = ctx.workflows->store().LoadRun(run_id);
  if (!run.ok()) return nullptr;
  auto steps = ctx.workflows->store().StepsJson(run_id);
  nlohmann::json out = run->ToJson();
  out["steps"] = steps.ok() ? *steps : nlohmann::json::array();
  // Child runs (agent steps, sub-workflows) by parent step.
  return out;
}

}  // namespace steward::gateway
