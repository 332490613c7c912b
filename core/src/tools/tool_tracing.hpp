#pragma once
// The span of one tool call (OpenTelemetry GenAI `execute_tool`), kept out of tool_registry.cpp so
// the registry's call path stays about tools: start it, set its risk, finish it.

#include <string>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "telemetry/tracer.hpp"
#include "tools/tool.hpp"

namespace steward::tools {

// Starts `execute_tool {tool}` under ctx.trace_parent (else the thread's current span) with
// tool.name, tool.server, gen_ai.* names, the call id and the arguments: as redacted JSON (values
// of keys like token/password/secret/api_key/authorization become "[REDACTED]"), cut to 4 KiB.
[[nodiscard]] telemetry::ScopedSpan StartToolSpan(const std::string& tool, const std::string& call_id,
                                                  const nlohmann::json& arguments, const CallContext& ctx);

// Sets tool.success, tool.duration_ms, tool.error_type and tool.result_count and the status
// (error for a failed call or an is_error result), then ends the span.
void FinishToolSpan(telemetry::ScopedSpan& span, const Result<ToolCallResult>& result, double duration_ms);

}  // namespace steward::tools
