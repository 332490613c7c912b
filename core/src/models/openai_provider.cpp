#include "models/openai_provider.hpp"

#include <utility>

namespace steward::models {

namespace {

using detail::SseEvent;

Json BuildBody(const ChatRequest& request) {
  // Pass-through fields first, so Steward's own fields always win.
  Json body = request.extra.is_object() ? request.extra : Json::object();
  body["model"] = request.model;
  body["messages"] = request.messages;
  if (request.tools.is_array() && !request.tools.empty()) body["tools"] = request.tools;
  if (!request.tool_choice.is_null()) body["tool_choice"] = request.tool_choice;
  if (request.temperature) body["temperature"] = *request.temperature;
  // Newer OpenAI models only take max_completion_tokens; a client sending it meant that one.
  if (request.max_tokens && !body.contains("max_completion_tokens")) {
    body["max_tokens"] = *request.max_tokens;
  }
  body["stream"] = true;
  Json options = body.contains("stream_options") && body["stream_options"].is_object()
                     ? body["stream_options"]
                     : Json::object();
  options["include_usage"] = true;
  body["stream_options"] = std::move(options);
  return body;
}

// A tool call (delta) as OpenAI-shaped, with nulls dropped and `index` always present:
// some servers omit it when they send each call whole.
Json ToolCallDelta(const Json& call, size_t position) {
  Json out = {{"index", call.contains("index") && call["index"].is_number_integer()
                            ? call["index"].get<int64_t>()
                            : static_cast<int64_t>(position)}};
  if (call.contains("id") && call["id"].is_string()) out["id"] = call["id"];
  if (call.contains("type") && call["type"].is_string()) out["type"] = call["type"];
  if (call.contains("function") && call["function"].is_object()) {
    const Json& fn = call["function"];
    Json function = Json::object();
    if (fn.contains("name") && fn["name"].is_string()) function["name"] = fn["name"];
    if (fn.contains("arguments") && fn["arguments"].is_string()) {
      function["arguments"] = fn["arguments"];
    } else if (fn.contains("arguments") && fn["arguments"].is_object()) {
      function["arguments"] = fn["arguments"].dump();  // Ollama's native shape
    }
    out["function"] = std::move(function);
  }
  return out;
}

struct StreamState {
  ChunkAccumulator accumulator;
  Usage usage;
  bool saw_done = false;
  bool saw_finish = false;
};

// Handles one `chat.completion.chunk` (streamed) or `chat.completion` (whole answer).
Status HandleCompletionUnchecked(const Json& object, const ChunkSink& sink, StreamState& state) {
  if (!object.is_object()) {
    return MakeError(ErrorCode::kUnavailable, "sent a chunk that is not a JSON object");
  }
  if (object.contains("error") && !object["error"].is_null()) {
    return MakeError(ErrorCode::kUnavailable,
                     "reported an error mid-stream: " + detail::ExtractUpstreamError(object.dump()));
  }
  if (object.contains("usage") && object["usage"].is_object()) {
    const Json& usage = object["usage"];
    state.usage.prompt_tokens = usage.value("prompt_tokens", int64_t{0});
    state.usage.completion_tokens = usage.value("completion_tokens", int64_t{0});
  }
  if (!object.contains("choices") || !object["choices"].is_array()) return Status::Ok();
  for (const auto& choice : object["choices"]) {
    // Steward asks for one choice; ignore any others a server might add.
    if (!choice.is_object() || choice.value("index", 0) != 0) continue;
    const char* key = choice.contains("delta") ? "delta" : "message";
    const Json& delta = choice.contains(key) && choice[key].is_object() ? choice[key]
                                                                        : Json::object();
    ChatChunk chunk;
    if (delta.contains("content") && delta["content"].is_string()) chunk.content = delta["content"];
    if (delta.contains("tool_calls") && delta["tool_calls"].is_array()) {
      const Json& calls = delta["tool_calls"];
      for (size_t i = 0; i < calls.size(); ++i) {
        if (calls[i].is_object()) chunk.tool_calls.push_back(ToolCallDelta(calls[i], i));
      }
    }
    if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
      chunk.finish_reason = choice["finish_reason"].get<std::string>();
      state.saw_finish = true;
    }
    if (chunk.content.empty() && chunk.tool_calls.empty() && !chunk.finish_reason) continue;
    state.accumulator.Add(chunk);
    if (sink && !sink(chunk)) return MakeError(ErrorCode::kCancelled, "cancelled");
  }
  return Status::Ok();
}

Status HandleCompletion(const Json& object, const ChunkSink& sink, StreamState& state) {
  try {
    return HandleCompletionUnchecked(object, sink, state);
  } catch (const Json::exception& e) {
    // A field of an unexpected type (e.g. a string where a number belongs).
    return MakeError(ErrorCode::kUnavailable,
                     std::string("sent a malformed chat completion (") + e.what() + ")");
  }
}

Json ParseJson(std::string_view text) {
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

std::string Preview(std::string_view text) {
  return std::string(text.substr(0, 200)) + (text.size() > 200 ? "..." : "");
}

}  // namespace

OpenAiProvider::OpenAiProvider(ProviderConfig config)
    : config_(std::move(config)), url_(detail::JoinUrl(config_.base_url, "/chat/completions")) {}

Result<ChatResult> OpenAiProvider::Complete(const ChatRequest& request, const ChunkSink& sink) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
  if (!config_.api_key.empty()) headers.emplace_back("Authorization", "Bearer " + config_.api_key);

  detail::ProviderCall call;
  call.provider = config_.name;
  call.secret = config_.api_key;
  call.post.url = url_;
  call.post.headers = detail::MergeHeaders(headers, config_.headers);
  call.post.body = BuildBody(request).dump();
  call.post.timeout = config_.timeout;
  call.post.connect_timeout = config_.connect_timeout;

  StreamState state;
  detail::ResponseHandlers handlers;
  handlers.on_event = [&](const SseEvent& event) -> Status {
    if (state.saw_done) return Status::Ok();
    if (event.data == "[DONE]") {
      state.saw_done = true;
      return Status::Ok();
    }
    const Json object = ParseJson(event.data);
    if (object.is_discarded()) {
      return MakeError(ErrorCode::kUnavailable,
                       "sent an SSE event whose data is not JSON: " + Preview(event.data));
    }
    return HandleCompletion(object, sink, state);
  };
  handlers.on_json = [&](std::string_view body) -> Status {
    // A server that ignored `stream: true` answered with one chat.completion object.
    const Json object = ParseJson(body);
    if (object.is_discarded()) {
      return MakeError(ErrorCode::kUnavailable, "sent a body that is not JSON: " + Preview(body));
    }
    STEWARD_RETURN_IF_ERROR(HandleCompletion(object, sink, state));
    if (!object.contains("choices")) {
      return MakeError(ErrorCode::kUnavailable,
                       "sent JSON without `choices`: " + Preview(object.dump()));
    }
    state.saw_done = true;
    return Status::Ok();
  };

  STEWARD_RETURN_IF_ERROR(detail::RunProviderCall(client_, call, handlers));
  if (!state.saw_done && !state.saw_finish) {
    return detail::MakeProviderError(
        call, ErrorCode::kUnavailable,
        "the response ended before the answer was complete (no finish_reason and no [DONE])");
  }
  ChatResult result = std::move(state.accumulator).Finish();
  result.usage = state.usage;
  return result;
}

}  // namespace steward::models
