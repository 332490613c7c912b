#pragma once
// The offline provider's tool rules: which offered tools serve the intents found in the user's
// text, and how an offered tool's JSON Schema becomes arguments. Pure functions over their
// inputs, so the provider stays deterministic and each rule is testable on its own.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/detail/offline_text.hpp"
#include "models/detail/offline_time.hpp"

namespace steward::models::detail {

using Json = nlohmann::json;

// ---- Tools ----------------------------------------------------------------------------------

// One tool from the request's OpenAI `tools` array.
struct OfferedTool {
  std::string name;
  std::string description;
  Json parameters;                      // JSON Schema of the arguments (object)
  std::vector<std::string> name_words;  // "memory.recall_conversation" -> memory, recall, conversation
};
[[nodiscard]] std::vector<OfferedTool> ParseTools(const Json& tools);

// The values rules can offer to a tool's arguments.
struct ArgValues {
  std::string primary;              // the fact (remember) or the topic words (everything else)
  std::vector<std::string> topic_words;
  std::optional<std::string> path;
  std::optional<std::string> url;
  DateRange range;
};

// Arguments satisfying the schema's `required` list, plus optional properties whose meaning
// is known and whose value the text supplies. std::nullopt when a required property has an
// unknown meaning or no value (the tool must then not be called).
[[nodiscard]] std::optional<Json> BuildArguments(const Json& schema, const ArgValues& values);

// A tool call the rules decided on.
struct PlannedCall {
  std::string name;
  Json arguments;  // object
};

// The intents found in the user's text and the offered tools that serve them, in rule order,
// at most one call per tool. Empty when no rule applies.
[[nodiscard]] std::vector<PlannedCall> PlanToolCalls(const NormalizedText& text,
                                                     const std::vector<OfferedTool>& tools,
                                                     std::chrono::sys_days today);

// A tool call made earlier in the current turn (after the user's last message) and its outcome.
struct TurnCall {
  std::string name;
  Json arguments;      // object; empty when the call's arguments were not JSON
  bool failed = false;  // its result was an error
  size_t step = 0;      // which of the turn's assistant messages made it, from 0
};

// The fallback after a failed web tool (a tool of the "web" server: web.search, web_fetch...):
// search the local documents instead, with the failed call's query (or the question's topic
// words). Calls the memory search tool, else another non-web search tool, if offered and not
// yet called this turn; std::nullopt otherwise (or when no web call failed).
[[nodiscard]] std::optional<PlannedCall> PlanFallbackCall(const NormalizedText& text,
                                                          const std::vector<OfferedTool>& tools,
                                                          const std::vector<TurnCall>& calls,
                                                          std::chrono::sys_days today);

// The failed web tool whose fallback ran, when one did: a web call failed and a later step
// called another tool that did not fail. Empty otherwise.
[[nodiscard]] std::string FallbackFrom(const std::vector<TurnCall>& calls);

// The call `tool_choice` forces ({"type":"function","function":{"name":X}}), if its arguments
// can be built from the text; used when tool_choice names a tool or is "required".
[[nodiscard]] std::optional<PlannedCall> PlanForcedCall(const NormalizedText& text,
                                                        const OfferedTool& tool,
                                                        std::chrono::sys_days today);

}  // namespace steward::models::detail
