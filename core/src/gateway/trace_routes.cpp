// /api/runs/{id} and /api/runs/{id}/trace: a run's row and its stored span tree (what
// `steward trace RUN` prints). Also the traceparent rule shared by /v1 and /mcp.

#include "gateway/api.hpp"
#include "telemetry/tracer.hpp"
#include "models/cost_rollup.hpp"

namespace steward::gateway {

namespace {

// How long a trace request waits for spans that ended just before it to reach the table.
constexpr auto kFlushWait = std::chrono::seconds(2);

}  // namespace

telemetry::SpanContext TraceParentFor(const Request& request, const Principal& principal) {
  std::optional<telemetry::SpanContext> header;
  if (auto it = request.find("traceparent"); it != request.end()) {
    header = telemetry::ParseTraceparent(std::string_view(it->value().data(), it->value().size()));
  }
  if (principal.run) {
    const engine::RunIdentity& run = principal.run->identity();
    // A run's calls stay in the run's trace whatever a framework forwards.
    if (header && header->trace_id == run.trace_id) return *header;
    telemetry::SpanContext root;
    root.trace_id = run.trace_id;
    root.span_id = run.root_span_id;
    return root;
  }
  return header.value_or(telemetry::SpanContext{});
}

void RegisterTraceRoutes(HttpServer& server, ApiContext& ctx) {
  server.Route(http::verb::get, "/api/runs/{id}", [&ctx](const Request& req, const PathParams& params, ResponseWriter& w) {
    if (!RequirePrincipal(ctx, req, w)) return;
    auto run = ctx.spans->LoadRun(params.find("id")->second);
    if (!run.ok()) return w.SendError(run.error());
    nlohmann::json body = *run;
    // A workflow run (or a step's child run) also shows its workflow fields and steps.
    if (nlohmann::json wf = WorkflowRunDetails(ctx, params.find("id")->second); wf.is_object() && body.is_object()) {
      for (auto& [key, value] : wf.items()) {
        if (!body.contains(key) || key == "steps") body[key] = value;
      }
    }
    w.SendJson(http::status::ok, body);
  });

  server.Route(http::verb::get, "/api/runs/{id}/trace",
               [&ctx](const Request& req, const PathParams& params, ResponseWriter& w) {
                 if (!RequirePrincipal(ctx, req, w)) return;
                 auto run = ctx.spans->LoadRun(params.find("id")->second);
                 if (!run.ok()) return w.SendError(run.error());
                 if (auto tracer = telemetry::ActiveTracer()) (void)tracer->Flush(kFlushWait);
                 const std::string trace_id = run->value("trace_id", "");
                 auto spans = ctx.spans->LoadTrace(trace_id);
                 if (!spans.ok()) return w.SendError(spans.error());
                 nlohmann::json list = nlohmann::json::array();
                 for (const auto& span : *spans) list.push_back(telemetry::SpanToJson(span));
                 nlohmann::json body = {{"run", *run}, {"trace_id", trace_id}, {"spans", std::move(list)}};
                 // What the run cost with its child runs, from model_call (refused calls included, at $0).
                 const std::string id = params.find("id")->second;
                 if (auto costs = models::RunCosts(*ctx.db, {id}); costs.ok() && costs->count(id)) {
                   const models::CostTotals& c = costs->at(id);
                   body["cost"] = {{"model_calls", c.model_calls}, {"prompt_tokens", c.prompt_tokens},
                                   {"completion_tokens", c.completion_tokens}, {"cost_usd", c.cost_usd}};
                 }
                 w.SendJson(http::status::ok, body);
               });
}

}  // namespace steward::gateway
