#pragma once
// Pure translation between Steward's canonical OpenAI chat-completions shapes and the
// Anthropic Messages API (request body, streamed events, whole responses). No I/O here, so
// every mapping rule is unit-testable.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "models/provider.hpp"

namespace steward::models::detail {

// Anthropic requires max_tokens; OpenAI clients usually leave it out.
inline constexpr int64_t kAnthropicDefaultMaxTokens = 4096;

// Builds the Messages API body (with `stream: true`) for `request`: system/developer messages
// become `system`, assistant tool_calls become tool_use blocks, tool messages become
// tool_result blocks in a user turn, consecutive same-role turns are merged, tools and
// tool_choice are mapped. kInvalidArgument names the offending field (e.g.
// "messages[3].tool_calls[0].function.arguments") when the request cannot be expressed.
[[nodiscard]] Result<Json> ToAnthropicRequest(const ChatRequest& request);

// "end_turn" -> "stop", "tool_use" -> "tool_calls", "max_tokens" -> "length", ...
[[nodiscard]] std::string MapStopReason(std::string_view stop_reason);

// How an Anthropic error `type` (e.g. "overloaded_error") maps onto Steward's codes.
[[nodiscard]] ErrorCode ErrorCodeForAnthropicError(std::string_view type);

// Turns the events of one streamed Messages response into OpenAI-shaped chunks, keeping the
// state that needs (content block index -> tool call index, usage). One per stream; not
// thread-safe.
class AnthropicStreamTranslator final {
 public:
  // Translates one event (the JSON `data` of an SSE event; its `type` names the event).
  // Returns the chunk to emit, nothing for events that carry no output, or the Error an
  // `error` event reports.
  [[nodiscard]] Result<std::optional<ChatChunk>> OnEvent(const Json& event);

  [[nodiscard]] Usage usage() const { return usage_; }
  // True once `message_stop` (or a stop_reason) arrived: the answer is complete.
  [[nodiscard]] bool finished() const { return finished_; }

 private:
  struct Block {
    bool is_tool = false;
    int64_t tool_index = 0;
    bool has_arguments = false;
  };

  void ReadUsage(const Json& usage);

  std::map<int64_t, Block> blocks_;  // by Anthropic content block index
  int64_t next_tool_index_ = 0;
  Usage usage_;
  bool finished_ = false;
};

// Translates a whole (non-streamed) Messages response into one chunk carrying everything,
// and its usage.
[[nodiscard]] Result<ChatChunk> FromAnthropicMessage(const Json& message, Usage& usage);

}  // namespace steward::models::detail
