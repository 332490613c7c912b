#pragma once
// Spans a worker recorded inside its framework, received as the runner protocol's `spans`
// message (docs/runner-protocol.md), checked and handed to the tracer so they join the run's
// trace in the span table and in OTLP exports.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "telemetry/span.hpp"

namespace steward::telemetry {

struct WorkerSpanLimits {
  size_t max_spans = 5000;        // per message; the rest are dropped
  size_t max_attributes = 128;    // per span
  size_t max_value_bytes = 8192;  // longer string attributes are cut
};

// The usable spans of a `spans` message: those that decode (otlp_json.hpp) and belong to
// `trace_id` (a worker cannot write into another run's trace), with run_id set, service from
// the message's resource service.name ("steward-worker" when absent), scope from each span's
// scope.name, and attribute steward.worker.runtime from the resource's telemetry.sdk.language.
// `rejected` (optional) receives how many were dropped.
[[nodiscard]] std::vector<Span> WorkerSpansFromMessage(const nlohmann::json& message, const std::string& trace_id,
                                                       const std::string& run_id, const WorkerSpanLimits& limits = {},
                                                       size_t* rejected = nullptr);

// WorkerSpansFromMessage, then Record on the installed tracer (nothing when tracing is off).
// Returns how many spans were recorded.
size_t RecordWorkerSpans(const nlohmann::json& message, const std::string& trace_id, const std::string& run_id);

}  // namespace steward::telemetry
