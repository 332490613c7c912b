#pragma once
// `steward metrics [--since 7d] [--json]`: the Phase 1 success metrics (decision approval rate,
// tool success rate, workflow completion rate, task completion without escalation, latency p50,
// progress within 2 s, memory freshness and indexing), computed by the server from stored data
// (telemetry/success_metrics.hpp) and fetched from GET /api/metrics/summary.

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace steward::app {

// One block per metric, in kSuccessMetricNames order:
//   Decision approval rate ........ 92.0%   n=25 tool calls by agents   (target >= 80%)
//       automatic 20, held 5, approved 3, denied 1, expired 1, runs 9
//       how: (tool calls that ran without being held ...)
// A metric with n = 0 shows "—". `how` lines only when `explain`.
[[nodiscard]] std::string RenderSuccessMetrics(const nlohmann::json& summary, bool explain);

// Fetches the summary for `since` ("7d", "all", "" = all) and prints it (raw JSON with `as_json`);
// the exit status.
int RunMetricsCommand(const std::string& base_url, const std::string& token, const std::string& since, bool as_json,
                      bool explain, std::ostream& out, std::ostream& err);

}  // namespace steward::app
