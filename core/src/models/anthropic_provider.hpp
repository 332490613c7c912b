#pragma once
// The provider for Anthropic's Messages API. Requests and chunks stay in Steward's OpenAI
// shapes; detail/anthropic_translate does the mapping both ways.

#include <string>
#include <string_view>

#include "models/detail/http_stream.hpp"
#include "models/provider.hpp"
#include "models/provider_config.hpp"

namespace steward::models {

// Streams `POST {base_url}/v1/messages` and hands each translated chunk to the sink as it
// arrives. Thread-safe.
class AnthropicProvider final : public Provider {
 public:
  // The Messages API version this translation is written against.
  static constexpr std::string_view kApiVersion = "2023-06-01";

  explicit AnthropicProvider(ProviderConfig config);

  [[nodiscard]] Result<ChatResult> Complete(const ChatRequest& request,
                                            const ChunkSink& sink) override;
  [[nodiscard]] std::string_view kind() const override { return "anthropic"; }

 private:
  ProviderConfig config_;
  std::string url_;
  detail::HttpStreamClient client_;
};

}  // namespace steward::models
