#pragma once
// The Phase 1 success metrics of the user's design, computed from stored data (runs, approvals,
// memory): what `steward metrics` prints and GET /api/metrics/summary answers.
//
//   decision_approval_rate     agent tool calls that ran without being held, or were approved
//   tool_success_rate          tool calls that succeeded, of those that ran
//   workflow_completion_rate   workflow runs that succeeded without manual intervention
//   task_completion_rate       chat turns completed without escalation (approval, tool-gap report)
//   latency_p50                chat turn start → answer stored
//   progress_within_2s         chat turns whose first progress event came within 2 s
//   memory_freshness           share of current memory items updated in the last 30 days
//   memory_indexing            chunks vector-searchable within 1 hour of being stored
//
// Each metric is {title, value (null when n = 0), unit, n, n_of, target, how, details}; `how`
// says in words what was counted.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "store/database.hpp"

namespace steward::telemetry {

// The order the metrics are listed in.
inline constexpr std::string_view kSuccessMetricNames[] = {
    "decision_approval_rate", "tool_success_rate", "workflow_completion_rate", "task_completion_rate",
    "latency_p50",            "progress_within_2s", "memory_freshness",        "memory_indexing"};

// "7d", "24h", "30m", "90s", "2w" → that duration; "all" or "" → nullopt (all stored data).
// kInvalidArgument naming the accepted forms otherwise.
[[nodiscard]] Result<std::optional<std::chrono::seconds>> ParseSince(std::string_view text);

// {window: {since (RFC 3339 or null), until, since_arg}, metrics: {name: metric}}, over runs
// started (approvals of runs started, items created) at or after now - `since`.
[[nodiscard]] Result<nlohmann::json> ComputeSuccessMetrics(store::Database& db,
                                                           std::optional<std::chrono::seconds> since,
                                                           std::string_view since_arg = "");

}  // namespace steward::telemetry
