#include "tools/tool_tracing.hpp"

#include "telemetry/redaction.hpp"
#include "tools/tool_registry.hpp"

namespace steward::tools {

namespace {
constexpr size_t kMaxArgumentBytes = 4096;
}  // namespace

telemetry::ScopedSpan StartToolSpan(const std::string& tool, const std::string& call_id, const nlohmann::json& arguments,
                                    const CallContext& ctx) {
  telemetry::ScopedSpan span = telemetry::StartSpan("execute_tool " + tool, ctx.trace_parent);
  if (!span.recording()) return span;
  const size_t dot = tool.find('.');
  // The tracer redacts every attribute before export, JSON in strings by key too (RedactSpan), so
  // the arguments are stored as they came: redacting here as well doubled the span's cost.
  std::string args = arguments.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (args.size() > kMaxArgumentBytes) {
    // Cut JSON is no longer JSON, so the tracer could only redact it by value: redact by key first.
    args = telemetry::RedactJson(arguments).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (args.size() > kMaxArgumentBytes) {
      // Marked, so readers don't try to parse it.
      size_t cut = kMaxArgumentBytes;
      while (cut > 0 && (static_cast<unsigned char>(args[cut]) & 0xC0) == 0x80) --cut;
      args = args.substr(0, cut) + "…(truncated)";
    }
  }
  span.SetRunId(ctx.run_id)
      .Set("gen_ai.operation.name", "execute_tool")
      .Set("gen_ai.tool.name", tool)
      .Set("gen_ai.tool.call.id", call_id)
      .Set("tool.name", tool)
      .Set("tool.server", dot == std::string::npos ? std::string() : tool.substr(0, dot))
      .Set("tool.arguments", args);
  if (!ctx.principal.empty()) span.Set("steward.principal", ctx.principal);
  return span;
}

void FinishToolSpan(telemetry::ScopedSpan& span, const Result<ToolCallResult>& result, double duration_ms) {
  if (span.recording()) {
    const bool ok = result.ok() && !result->is_error;
    span.Set("tool.success", ok).Set("tool.duration_ms", duration_ms);
    if (!result.ok()) {
      span.Set("tool.error_type", Describe(result.error().code).name).SetError(result.error().message);
    } else if (result->is_error) {
      span.Set("tool.error_type", "tool_error").SetError(SummarizeToolResult(*result));
    } else {
      if (auto count = ResultCount(*result)) span.Set("tool.result_count", *count);
      span.SetOk();
    }
  }
  span.End();
}

}  // namespace steward::tools
