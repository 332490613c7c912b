#pragma once
// `steward trace RUN_ID`: a run's span tree with durations, tokens, costs and errors, from
// GET /api/runs/{id}/trace.

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace steward::app {

// The tree for an /api/runs/{id}/trace answer ({run, trace_id, spans}), one span per line:
//   chat.run researcher (412 ms, $0.0003, confidence 83%)
//   ├─ worker: invoke_agent researcher (405 ms)   [python]
//   │  ├─ chat offline (3.1 ms, 561→216 tokens)
//   │  └─ execute_tool memory.search (2.9 ms, 2 results)
// Spans with status error end with "✗ <message>".
[[nodiscard]] std::string RenderTrace(const nlohmann::json& trace);

// Fetches the trace of `run_id` and prints it to `out` (errors to `err`); the exit status.
int RunTraceCommand(const std::string& base_url, const std::string& token, const std::string& run_id,
                    std::ostream& out, std::ostream& err);

}  // namespace steward::app
