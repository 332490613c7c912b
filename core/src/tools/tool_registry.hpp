#pragma once
// The tool hub's registry: every provider's tools under one namespace, filtered per agent, with
// arguments checked, the risk policy applied (calls needing approval wait in the approval gate),
// and every call reported as run events.

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "tools/tool.hpp"

namespace steward::tools {
class ApprovalGate;
class RiskPolicy;
}  // namespace steward::tools

namespace steward::tools {

// Thread-safe: any method may be called from any thread; provider calls run without the lock.
class ToolRegistry final {
 public:
  ToolRegistry() = default;
  ToolRegistry(const ToolRegistry&) = delete;
  ToolRegistry& operator=(const ToolRegistry&) = delete;

  // Adds `provider` under its server name; kConflict if that name is taken, kInvalidArgument if
  // it is empty or contains '.'.
  [[nodiscard]] Status Register(std::shared_ptr<ToolProvider> provider);

  // Removes the provider for `server`; false if there was none. Calls already running finish.
  bool Unregister(std::string_view server);

  // The tools `ctx` may call (its allowed_tools globs), sorted by name.
  [[nodiscard]] std::vector<ToolInfo> List(const CallContext& ctx) const;

  // Every registered tool, sorted by name, regardless of who asks. With a risk policy, each
  // risk_tier is the policy's (RiskPolicy::TierOf), not the provider's declaration.
  [[nodiscard]] std::vector<ToolInfo> ListAll() const;

  // The tool named `name` ("memory.search"), if registered.
  [[nodiscard]] std::optional<ToolInfo> Find(std::string_view name) const;

  // Makes every Call pass `policy` and, for calls needing approval, wait in `gate`. Both must
  // outlive the registry; call before serving. Without a policy every call runs (unit tests,
  // benchmarks); with a policy but no gate, calls needing approval are refused.
  void SetRiskPolicy(const RiskPolicy* policy, ApprovalGate* gate);

  // Calls the tool `name` ("memory.search") with `args` (null means {}). Errors: kNotFound for
  // an unknown tool, kPermissionDenied when ctx's allowed_tools exclude it, kInvalidArgument when
  // args break the tool's input_schema, or whatever the provider returned. A call the policy
  // holds blocks until decided; if not approved it returns an is_error result saying so and the
  // provider is never called. Emits tool_call before and tool_result + status after, also for
  // calls that fail (and approval_required / approval_resolved in between for held calls).
  [[nodiscard]] Result<ToolCallResult> Call(std::string_view name, const nlohmann::json& args,
                                            const CallContext& ctx);

 private:
  struct Resolved {
    std::shared_ptr<ToolProvider> provider;
    std::shared_ptr<const ToolInfo> info;  // never null
  };
  [[nodiscard]] Result<Resolved> Resolve(std::string_view name) const;

  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<ToolProvider>, std::less<>> providers_;  // guarded by mu_
  const RiskPolicy* policy_ = nullptr;  // set before serving, then read-only
  ApprovalGate* gate_ = nullptr;        // set before serving, then read-only
};

// A short human summary of a tool's outcome for events: "12 results", or the first 200
// characters of its text.
[[nodiscard]] std::string SummarizeToolResult(const ToolCallResult& result);

// How many items a successful result returned (the first array in its structured content), for
// the `count` of tool_result events and the run's sources_found.
[[nodiscard]] std::optional<size_t> ResultCount(const ToolCallResult& result);

}  // namespace steward::tools
