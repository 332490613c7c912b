#pragma once
// The OpenAI chat-completions wire format as Steward serves it on /v1: request validation and
// the JSON of responses and stream chunks.

#include <string>

#include "common/result.hpp"
#include "models/provider.hpp"

namespace steward::models {

struct ChatCompletionCall {
  std::string model;  // a model or agent name
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  ChatRequest request;         // request.model is left empty: the router fills the upstream name
};

// Validates a /v1/chat/completions body. Errors are kInvalidArgument with context = the field
// ("messages[2].role") and a message saying what was expected.
[[nodiscard]] Result<ChatCompletionCall> ParseChatCompletion(const Json& body);

// `chat.completion.chunk` JSON for one chunk (choice index 0).
[[nodiscard]] Json ChunkJson(const std::string& id, const std::string& model, int64_t created, const ChatChunk& chunk);
// The first chunk of a stream: the assistant role with empty content.
[[nodiscard]] Json RoleChunkJson(const std::string& id, const std::string& model, int64_t created);
// The usage-only chunk sent last when stream_options.include_usage is set.
[[nodiscard]] Json UsageChunkJson(const std::string& id, const std::string& model, int64_t created, const Usage& usage);
// A whole `chat.completion`.
[[nodiscard]] Json CompletionJson(const std::string& id, const std::string& model, int64_t created,
                                  const ChatResult& result);
// OpenAI's error envelope: {"error": {"message", "type", "param", "code"}}.
[[nodiscard]] Json OpenAiErrorJson(const Error& error);

}  // namespace steward::models
