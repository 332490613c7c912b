#include "models/provider.hpp"

namespace steward::models {

void ChunkAccumulator::Add(const ChatChunk& chunk) {
  result_.content += chunk.content;
  for (const auto& delta : chunk.tool_calls) {
    const size_t index = delta.value("index", 0);
    while (result_.tool_calls.size() <= index) {
      result_.tool_calls.push_back(
          Json{{"id", ""}, {"type", "function"}, {"function", {{"name", ""}, {"arguments", ""}}}});
    }
    Json& call = result_.tool_calls[index];
    if (delta.contains("id") && delta["id"].is_string()) call["id"] = delta["id"];
    if (delta.contains("function")) {
      const Json& fn = delta["function"];
      if (fn.contains("name") && fn["name"].is_string()) {
        call["function"]["name"] = call["function"]["name"].get<std::string>() + fn["name"].get<std::string>();
      }
      if (fn.contains("arguments") && fn["arguments"].is_string()) {
        call["function"]["arguments"] =
            call["function"]["arguments"].get<std::string>() + fn["arguments"].get<std::string>();
      }
    }
  }
  if (chunk.finish_reason) result_.finish_reason = *chunk.finish_reason;
}

ChatResult ChunkAccumulator::Finish() && { return std::move(result_); }

}  // namespace steward::models
