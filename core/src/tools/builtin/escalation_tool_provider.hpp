#pragma once
// The built-in "steward" tool server: `steward.escalate`, through which a worker-side framework
// puts a question to the owner as an ordinary approval. LangGraph's research graph calls it when
// it stops at an `interrupt` (sources disagree): the call is tiered high, so the risk policy holds
// it at the approval gate until the owner approves or denies it (or it times out); the provider
// runs only for an approved call and answers with the decision. A call that was not approved
// never reaches it: the registry answers with the gate's not-approved result instead, whose
// structuredContent says {approval_id, decision: denied|expired, by}.

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "tools/tool.hpp"

namespace steward::tools::builtin {

// Tools (namespaced under "steward", risk tier high, so every call waits for the owner):
//   escalate {title, reason, details?: object} -> {decision: "approved", title}
// Thread-safe (stateless).
class EscalationToolProvider final : public ToolProvider {
 public:
  [[nodiscard]] std::string_view server() const override { return "steward"; }
  [[nodiscard]] std::vector<ToolInfo> ListTools() const override;
  [[nodiscard]] Result<ToolCallResult> Call(std::string_view tool, const nlohmann::json& args,
                                            const CallContext& ctx) override;
};

}  // namespace steward::tools::builtin
