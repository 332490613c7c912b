#include "models/anthropic_provider.hpp"

#include <utility>

#include "models/detail/anthropic_translate.hpp"

namespace steward::models {

namespace {

std::string Preview(std::string_view text) {
  return std::string(text.substr(0, 200)) + (text.size() > 200 ? "..." : "");
}

}  // namespace

AnthropicProvider::AnthropicProvider(ProviderConfig config)
    : config_(std::move(config)), url_(detail::JoinUrl(config_.base_url, "/v1/messages")) {}

Result<ChatResult> AnthropicProvider::Complete(const ChatRequest& request,
                                               const ChunkSink& sink) {
  detail::ProviderCall call;
  call.provider = config_.name;
  call.secret = config_.api_key;
  call.post.url = url_;
  call.post.timeout = config_.timeout;
  call.post.connect_timeout = config_.connect_timeout;

  auto body = detail::ToAnthropicRequest(request);
  if (!body.ok()) {
    return detail::MakeProviderError(call, ErrorCode::kInvalidArgument,
                                     "cannot translate the request: " + body.error().ToString());
  }
  call.post.body = body->dump();
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", "application/json"},
      {"Accept", "text/event-stream"},
      {"anthropic-version", std::string(kApiVersion)}};
  if (!config_.api_key.empty()) headers.emplace_back("x-api-key", config_.api_key);
  call.post.headers = detail::MergeHeaders(headers, config_.headers);

  detail::AnthropicStreamTranslator translator;
  ChunkAccumulator accumulator;
  Usage usage;
  bool whole_answer = false;
  const auto emit = [&](const ChatChunk& chunk) -> Status {
    accumulator.Add(chunk);
    if (sink && !sink(chunk)) return MakeError(ErrorCode::kCancelled, "cancelled");
    return Status::Ok();
  };

  detail::ResponseHandlers handlers;
  handlers.on_event = [&](const detail::SseEvent& event) -> Status {
    Json data = Json::parse(event.data, nullptr, /*allow_exceptions=*/false);
    if (data.is_discarded() || !data.is_object()) {
      return MakeError(ErrorCode::kUnavailable,
                       "sent an SSE event whose data is not a JSON object: " + Preview(event.data));
    }
    // The event name duplicates data.type; trust the name if the data lacks it.
    if (!data.contains("type") && !event.event.empty()) data["type"] = event.event;
    try {
      auto chunk = translator.OnEvent(data);
      if (!chunk.ok()) {
        return MakeError(chunk.error().code, "reported an error mid-stream: " + chunk.error().message);
      }
      if (*chunk) return emit(**chunk);
    } catch (const Json::exception& e) {
      return MakeError(ErrorCode::kUnavailable,
                       std::string("sent a malformed event (") + e.what() + "): " + Preview(event.data));
    }
    return Status::Ok();
  };
  handlers.on_json = [&](std::string_view text) -> Status {
    // Not what was asked for, but a proxy may have collected the stream into one message.
    const Json message = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (message.is_discarded()) {
      return MakeError(ErrorCode::kUnavailable, "sent a body that is not JSON: " + Preview(text));
    }
    try {
      auto chunk = detail::FromAnthropicMessage(message, usage);
      if (!chunk.ok()) return MakeError(chunk.error().code, chunk.error().message + ": " + Preview(text));
      whole_answer = true;
      return emit(*chunk);
    } catch (const Json::exception& e) {
      return MakeError(ErrorCode::kUnavailable,
                       std::string("sent a malformed message (") + e.what() + ")");
    }
  };

  STEWARD_RETURN_IF_ERROR(detail::RunProviderCall(client_, call, handlers));
  if (!whole_answer) {
    if (!translator.finished()) {
      return detail::MakeProviderError(
          call, ErrorCode::kUnavailable,
          "the stream ended before the answer was complete (no stop_reason or message_stop)");
    }
    usage = translator.usage();
  }
  ChatResult result = std::move(accumulator).Finish();
  result.usage = usage;
  return result;
}

}  // namespace steward::models
