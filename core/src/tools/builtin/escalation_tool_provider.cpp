#include "tools/builtin/escalation_tool_provider.hpp"

#include <string>

namespace steward::tools::builtin {

using nlohmann::json;

namespace {
constexpr size_t kMaxTitleBytes = 300;
constexpr size_t kMaxReasonBytes = 8000;
}  // namespace

std::vector<ToolInfo> EscalationToolProvider::ListTools() const {
  ToolInfo info;
  info.name = "steward.escalate";
  info.server = "steward";
  info.description =
      "Ask the owner to decide something you should not decide alone (for example, which of two "
      "disagreeing sources to trust before publishing). The call waits until the owner approves or "
      "denies it; approved means go ahead as proposed, an error result means do not.";
  info.input_schema = {
      {"type", "object"},
      {"properties",
       {{"title", {{"type", "string"}, {"minLength", 1}, {"maxLength", kMaxTitleBytes},
                   {"description", "One line the owner sees first, e.g. \"Sources disagree on X\"."}}},
        {"reason", {{"type", "string"}, {"minLength", 1}, {"maxLength", kMaxReasonBytes},
                    {"description", "What is proposed and why the owner is asked."}}},
        {"details", {{"type", "object"}, {"description", "Anything that helps decide (the conflicting claims...)."}}}}},
      {"required", {"title", "reason"}},
      {"additionalProperties", false}};
  info.risk_tier = "high";
  info.activity = "asking the owner";
  return {info};
}

Result<ToolCallResult> EscalationToolProvider::Call(std::string_view tool, const json& args,
                                                    const CallContext& /*ctx*/) {
  if (tool != "escalate") {
    return MakeError(ErrorCode::kNotFound, "the steward server has no tool \"" + std::string(tool) + "\"",
                     std::string(tool));
  }
  // Reached only after the approval gate let this call through: the owner approved it.
  const std::string title = args.value("title", std::string());
  return ToolCallResult::Text("The owner approved: " + title, json{{"decision", "approved"}, {"title", title}});
}

}  // namespace steward::tools::builtin
