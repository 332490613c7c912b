#pragma once
// The shape every tool has in Steward, whoever provides it (built-in memory tools, MCP servers the
// hub is a client of): what it is called, what it accepts, and how a call is attributed.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "telemetry/span.hpp"

namespace steward::tools {

// One tool as the registry lists it.
struct ToolInfo {
  std::string name;          // namespaced "<server>.<tool>", e.g. "memory.search"
  std::string server;        // the providing server, e.g. "memory"
  std::string description;   // shown to models; says when to use the tool
  nlohmann::json input_schema = nlohmann::json::object();  // a JSON Schema object
  std::string risk_tier = "low";  // "low" | "medium" | "high"
  std::string activity;      // progress phrase for status lines ("searching memory"); may be empty
};

// What a tool returned. A tool that ran but failed is a result with is_error, not an Error.
struct ToolCallResult {
  nlohmann::json content = nlohmann::json::array();  // MCP content array ({type: "text", text} ...)
  nlohmann::json structured;                          // MCP structuredContent, or null
  bool is_error = false;

  // A result carrying one text block.
  static ToolCallResult Text(std::string text, nlohmann::json structured = nullptr,
                             bool is_error = false) {
    // Built member by member: an initializer list copies every element into the tree.
    nlohmann::json block(nlohmann::json::value_t::object);
    block.emplace("type", "text");
    block.emplace("text", std::move(text));
    ToolCallResult r;
    r.content.push_back(std::move(block));
    r.structured = std::move(structured);
    r.is_error = is_error;
    return r;
  }
};

// Who is calling and on whose behalf; built by the gateway per request.
struct CallContext {
  std::string principal;   // "owner" or "run"
  std::string run_id;      // uuid text, empty outside a run
  std::string session_id;  // chat session uuid text, empty when none
  // Parent of the call's `execute_tool` span (the caller's traceparent, else the run's root span);
  // invalid: the thread's current span, or a new trace.
  telemetry::SpanContext trace_parent;
  std::vector<std::string> allowed_tools;  // globs over namespaced names; empty = no tools
  // The agent's risk_threshold ("low" | "medium" | "high"): the highest tier it may call
  // without approval (high always needs one; see risk_policy.hpp).
  std::string risk_threshold = "low";
  // True once the call's run is cancelled or over; polled while a call waits for approval.
  // May be empty (no run).
  std::function<bool()> cancelled;
  // Run events (types "tool_call", "tool_result", "status", "approval_required",
  // "approval_resolved"); may be empty. Called on the thread
  // that makes the tool call. `data` by value so an event built for it is moved, not copied,
  // into the run's queue.
  std::function<void(std::string_view type, nlohmann::json data)> emit;
};

// A source of tools under one server name. Implementations must be safe to call from several
// threads at once; the registry holds them by shared_ptr and never locks around Call.
class ToolProvider {
 public:
  virtual ~ToolProvider() = default;

  // The server name that prefixes this provider's tools ("memory").
  [[nodiscard]] virtual std::string_view server() const = 0;

  // The tools this provider offers, with namespaced names and server set.
  [[nodiscard]] virtual std::vector<ToolInfo> ListTools() const = 0;

  // The tool named `name` (namespaced), if this provider offers it, else null: what the registry
  // asks on every call. Shared and read-only so a provider can hand out the ToolInfo it holds
  // (schema included) without copying it per call. The default scans ListTools(); providers
  // whose listing copies or builds many tools override it (bench/tools measures the difference).
  [[nodiscard]] virtual std::shared_ptr<const ToolInfo> FindTool(std::string_view name) const {
    for (auto& info : ListTools()) {
      if (info.name == name) return std::make_shared<const ToolInfo>(std::move(info));
    }
    return nullptr;
  }

  // Runs `tool` (unqualified, e.g. "search") with arguments already validated against its
  // input_schema. Returns an Error only when the call could not be carried out at all.
  [[nodiscard]] virtual Result<ToolCallResult> Call(std::string_view tool,
                                                    const nlohmann::json& args,
                                                    const CallContext& ctx) = 0;
};

}  // namespace steward::tools
