#pragma once
// The contract every model provider implements. Requests and chunks use the OpenAI
// chat-completions shapes as Steward's canonical form: the gateway speaks that wire format
// to clients and workers, so only non-OpenAI providers (anthropic) translate.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace steward::models {

using Json = nlohmann::json;

// A chat request in OpenAI chat-completions form, already validated by the gateway.
struct ChatRequest {
  std::string model;           // the upstream model name the provider should use
  Json messages = Json::array();  // OpenAI messages: role, content, tool_calls, tool_call_id
  Json tools = Json::array();     // OpenAI tools: [{type:function, function:{name, description, parameters}}]
  Json tool_choice;               // null when absent
  std::optional<double> temperature;
  std::optional<int64_t> max_tokens;
  Json extra = Json::object();    // other OpenAI fields passed through where a provider supports them
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  [[nodiscard]] int64_t total() const { return prompt_tokens + completion_tokens; }
};

// One streamed piece of an answer. Exactly the information of an OpenAI
// `chat.completion.chunk` choice delta.
struct ChatChunk {
  std::string content;  // text delta, may be empty
  // OpenAI-shaped tool call deltas: [{index, id?, type?, function:{name?, arguments?}}]
  Json tool_calls = Json::array();
  std::optional<std::string> finish_reason;  // "stop", "tool_calls", "length" on the last chunk
};

// The whole answer once the stream ended.
struct ChatResult {
  std::string content;
  Json tool_calls = Json::array();  // complete OpenAI tool calls: [{id, type, function:{name, arguments}}]
  std::string finish_reason = "stop";
  Usage usage;
};

// Called for each chunk as it arrives, on the calling thread. Returning false cancels the
// call (the client went away); the provider then stops reading and returns kCancelled.
using ChunkSink = std::function<bool(const ChatChunk&)>;

// A configured model backend. Implementations must be safe to call from many threads at once.
class Provider {
 public:
  virtual ~Provider() = default;

  // Runs one chat completion, streaming chunks to `sink` (which may be empty for callers that
  // only want the result). Returns the aggregated result, or an error naming the provider.
  [[nodiscard]] virtual Result<ChatResult> Complete(const ChatRequest& request,
                                                    const ChunkSink& sink) = 0;

  // "openai", "anthropic", "offline" or "scripted".
  [[nodiscard]] virtual std::string_view kind() const = 0;
};

// Accumulates streamed chunks into a ChatResult (tool call deltas merged by index).
class ChunkAccumulator final {
 public:
  void Add(const ChatChunk& chunk);
  void SetUsage(Usage usage) { result_.usage = usage; }
  [[nodiscard]] ChatResult Finish() &&;

 private:
  ChatResult result_;
};

}  // namespace steward::models
