#pragma once
// The provider for OpenAI-compatible chat-completions servers: OpenAI itself, vLLM, Ollama,
// llama.cpp server, LiteLLM and the like.

#include <string>
#include <string_view>

#include "models/detail/http_stream.hpp"
#include "models/provider.hpp"
#include "models/provider_config.hpp"

namespace steward::models {

// Streams `POST {base_url}/chat/completions` and hands each chunk to the sink as it arrives.
// Also accepts a whole JSON answer from servers that ignore `stream`. Thread-safe.
class OpenAiProvider final : public Provider {
 public:
  explicit OpenAiProvider(ProviderConfig config);

  [[nodiscard]] Result<ChatResult> Complete(const ChatRequest& request,
                                            const ChunkSink& sink) override;
  [[nodiscard]] std::string_view kind() const override { return "openai"; }

 private:
  ProviderConfig config_;
  std::string url_;
  detail::HttpStreamClient client_;
};

}  // namespace steward::models
