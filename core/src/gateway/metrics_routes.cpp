// GET /metrics (Prometheus text format: the in-process registry plus the durable families read
// from PostgreSQL) and GET /api/metrics/summary?since=7d (the success metrics `steward metrics`
// prints). Both need the owner token: a run's token is the agent's credential, not an operator's.

#include "gateway/api.hpp"
#include "telemetry/db_metrics.hpp"
#include "telemetry/instruments.hpp"
#include "telemetry/prometheus_text.hpp"
#include "telemetry/success_metrics.hpp"

namespace steward::gateway {

namespace {

std::optional<Principal> RequireOwner(const ApiContext& ctx, const Request& req, ResponseWriter& w) {
  auto principal = RequirePrincipal(ctx, req, w);
  if (principal && !principal->owner()) {
    w.SendError(MakeError(ErrorCode::kPermissionDenied, "metrics need the owner token, not a run's token"));
    return std::nullopt;
  }
  return principal;
}

}  // namespace

void RegisterMetricsRoutes(HttpServer& server, ApiContext& ctx) {
  telemetry::metrics::RegisterStewardMetrics();

  server.Route(http::verb::get, "/metrics", [&ctx](const Request& req, const PathParams&, ResponseWriter& w) {
    if (!RequireOwner(ctx, req, w)) return;
    std::vector<telemetry::MetricFamily> families = telemetry::Metrics().Collect();
    if (ctx.db != nullptr) telemetry::CollectDatabaseMetrics(*ctx.db, families);
    std::string body;
    body.reserve(64 * 1024);
    telemetry::AppendPrometheusText(families, body);
    w.Send(http::status::ok, telemetry::kPrometheusContentType, std::move(body));
  });

  server.Route(http::verb::get, "/api/metrics/summary",
               [&ctx](const Request& req, const PathParams&, ResponseWriter& w) {
                 if (!RequireOwner(ctx, req, w)) return;
                 const ParsedTarget target = ParseTarget(req.target());
                 const auto it = target.query.find("since");
                 const std::string since_arg = it == target.query.end() ? std::string() : it->second;
                 auto since = telemetry::ParseSince(since_arg);
                 if (!since.ok()) return w.SendError(since.error());
                 if (ctx.db == nullptr) return w.SendError(MakeError(ErrorCode::kUnavailable, "no database"));
                 auto summary = telemetry::ComputeSuccessMetrics(*ctx.db, *since, since_arg);
                 if (!summary.ok()) return w.SendError(summary.error());
                 w.SendJson(http::status::ok, *summary);
               });
}

}  // namespace steward::gateway
