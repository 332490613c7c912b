#include "models/detail/anthropic_translate.hpp"

#include <utility>

namespace steward::models::detail {

namespace {

Error Invalid(const std::string& field, std::string_view what) {
  return MakeError(ErrorCode::kInvalidArgument, std::string(what), field);
}

std::string StringOr(const Json& object, const char* key, std::string fallback = {}) {
  if (!object.is_object()) return fallback;
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

int64_t IntOr(const Json& object, const char* key) {
  if (!object.is_object()) return 0;
  const auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

// "data:image/png;base64,AAAA" -> base64 source; anything else is fetched by Anthropic.
Json ImageSource(const std::string& url) {
  constexpr std::string_view kData = "data:";
  const size_t marker = url.find(";base64,");
  if (url.rfind(kData, 0) == 0 && marker != std::string::npos) {
    return {{"type", "base64"},
            {"media_type", url.substr(kData.size(), marker - kData.size())},
            {"data", url.substr(marker + 8)}};
  }
  return {{"type", "url"}, {"url", url}};
}

// OpenAI content (string, null, or array of parts) -> Anthropic content blocks. Empty text
// is dropped because Anthropic rejects empty text blocks.
Result<Json> ContentBlocks(const Json& content, const std::string& field) {
  Json blocks = Json::array();
  if (content.is_null()) return blocks;
  if (content.is_string()) {
    if (!content.get_ref<const std::string&>().empty()) {
      blocks.push_back({{"type", "text"}, {"text", content}});
    }
    return blocks;
  }
  if (!content.is_array()) return Invalid(field, "expected a string or an array of parts");
  for (size_t i = 0; i < content.size(); ++i) {
    const Json& part = content[i];
    const std::string part_field = field + "[" + std::to_string(i) + "]";
    const std::string type = StringOr(part, "type");
    if (type == "text" || type == "refusal") {
      std::string text = StringOr(part, type.c_str());
      if (!text.empty()) blocks.push_back({{"type", "text"}, {"text", std::move(text)}});
    } else if (type == "image_url") {
      std::string url = part.contains("image_url") ? StringOr(part["image_url"], "url") : "";
      if (url.empty()) return Invalid(part_field + ".image_url.url", "expected an image URL");
      blocks.push_back({{"type", "image"}, {"source", ImageSource(url)}});
    } else {
      return Invalid(part_field + ".type",
                     "content part type '" + type + "' is not supported by Anthropic models "
                     "(supported: text, image_url)");
    }
  }
  return blocks;
}

std::string TextOf(const Json& blocks) {
  std::string text;
  for (const auto& block : blocks) {
    if (StringOr(block, "type") != "text") continue;
    if (!text.empty()) text += "\n";
    text += StringOr(block, "text");
  }
  return text;
}

Result<Json> ToolUseBlock(const Json& call, const std::string& field) {
  const Json& fn = call.contains("function") ? call["function"] : Json::object();
  const std::string name = StringOr(fn, "name");
  if (name.empty()) return Invalid(field + ".function.name", "expected the tool's name");
  Json input = Json::object();
  if (fn.contains("arguments") && fn["arguments"].is_object()) {
    input = fn["arguments"];
  } else if (const std::string args = StringOr(fn, "arguments");
             args.find_first_not_of(" \t\r\n") != std::string::npos) {
    input = Json::parse(args, nullptr, /*allow_exceptions=*/false);
    if (!input.is_object()) {
      return Invalid(field + ".function.arguments",
                     "expected a JSON object (Anthropic tool input), got: " + args.substr(0, 200));
    }
  }
  return Json{{"type", "tool_use"}, {"id", StringOr(call, "id")}, {"name", name}, {"input", input}};
}

Result<Json> ToolChoice(const Json& choice) {
  if (choice.is_string()) {
    const auto& mode = choice.get_ref<const std::string&>();
    if (mode == "auto") return Json{{"type", "auto"}};
    if (mode == "none") return Json{{"type", "none"}};
    if (mode == "required") return Json{{"type", "any"}};
  } else if (choice.is_object() && StringOr(choice, "type") == "function") {
    const std::string name = choice.contains("function") ? StringOr(choice["function"], "name") : "";
    if (!name.empty()) return Json{{"type", "tool"}, {"name", name}};
  }
  return Invalid("tool_choice",
                 "expected \"auto\", \"none\", \"required\" or "
                 "{\"type\":\"function\",\"function\":{\"name\":...}}");
}

// Appends `blocks` as a turn of `role`, merging into the previous turn when the role repeats:
// Anthropic wants alternating turns, and tool results must share one user turn.
void AppendTurn(Json& messages, const std::string& role, Json blocks) {
  if (blocks.empty()) return;
  if (!messages.empty() && messages.back()["role"] == role) {
    for (auto& block : blocks) messages.back()["content"].push_back(std::move(block));
    return;
  }
  messages.push_back({{"role", role}, {"content", std::move(blocks)}});
}

}  // namespace

Result<Json> ToAnthropicRequest(const ChatRequest& request) {
  if (!request.messages.is_array()) return Invalid("messages", "expected an array");
  std::string system;
  Json messages = Json::array();
  for (size_t i = 0; i < request.messages.size(); ++i) {
    const Json& message = request.messages[i];
    const std::string field = "messages[" + std::to_string(i) + "]";
    const std::string role = StringOr(message, "role");
    const Json content = message.is_object() && message.contains("content") ? message["content"]
                                                                          : Json();
    auto blocks = ContentBlocks(content, field + ".content");
    if (!blocks.ok()) return blocks.error();
    if (role == "system" || role == "developer") {
      // Anthropic has one top-level system prompt; later system messages are appended to it.
      const std::string text = TextOf(*blocks);
      if (text.empty()) continue;
      if (!system.empty()) system += "\n\n";
      system += text;
    } else if (role == "user") {
      AppendTurn(messages, "user", std::move(*blocks));
    } else if (role == "assistant") {
      Json out = std::move(*blocks);
      if (message.contains("tool_calls") && message["tool_calls"].is_array()) {
        const Json& calls = message["tool_calls"];
        for (size_t j = 0; j < calls.size(); ++j) {
          auto block = ToolUseBlock(calls[j], field + ".tool_calls[" + std::to_string(j) + "]");
          if (!block.ok()) return block.error();
          out.push_back(std::move(*block));
        }
      }
      AppendTurn(messages, "assistant", std::move(out));
    } else if (role == "tool") {
      const std::string id = StringOr(message, "tool_call_id");
      if (id.empty()) return Invalid(field + ".tool_call_id", "expected the id of the tool call");
      Json result = {{"type", "tool_result"}, {"tool_use_id", id}};
      if (!blocks->empty()) result["content"] = std::move(*blocks);
      AppendTurn(messages, "user", Json::array({std::move(result)}));
    } else {
      return Invalid(field + ".role",
                     "expected system, developer, user, assistant or tool, got '" + role + "'");
    }
  }

  Json body = {{"model", request.model}, {"messages", std::move(messages)}, {"stream", true}};
  int64_t max_tokens = kAnthropicDefaultMaxTokens;
  if (request.max_tokens) {
    max_tokens = *request.max_tokens;
  } else if (IntOr(request.extra, "max_completion_tokens") > 0) {
    max_tokens = IntOr(request.extra, "max_completion_tokens");
  }
  body["max_tokens"] = max_tokens;
  if (!system.empty()) body["system"] = system;
  if (request.temperature) body["temperature"] = *request.temperature;

  if (request.tools.is_array() && !request.tools.empty()) {
    Json tools = Json::array();
    for (size_t i = 0; i < request.tools.size(); ++i) {
      const Json& tool = request.tools[i];
      const std::string field = "tools[" + std::to_string(i) + "]";
      if (StringOr(tool, "type", "function") != "function" || !tool.contains("function")) {
        return Invalid(field, "only {\"type\":\"function\",\"function\":{...}} tools are supported");
      }
      const Json& fn = tool["function"];
      const std::string name = StringOr(fn, "name");
      if (name.empty()) return Invalid(field + ".function.name", "expected the tool's name");
      Json out = {{"name", name}};
      if (const std::string description = StringOr(fn, "description"); !description.empty()) {
        out["description"] = description;
      }
      out["input_schema"] = fn.contains("parameters") && fn["parameters"].is_object()
                                ? fn["parameters"]
                                : Json{{"type", "object"}, {"properties", Json::object()}};
      tools.push_back(std::move(out));
    }
    body["tools"] = std::move(tools);

    std::optional<Json> choice;
    if (!request.tool_choice.is_null()) {
      auto mapped = ToolChoice(request.tool_choice);
      if (!mapped.ok()) return mapped.error();
      choice = std::move(*mapped);
    }
    const Json& extra = request.extra;
    if (extra.is_object() && extra.contains("parallel_tool_calls") &&
        extra["parallel_tool_calls"] == false) {
      if (!choice) choice = Json{{"type", "auto"}};
      if ((*choice)["type"] != "none") (*choice)["disable_parallel_tool_use"] = true;
    }
    if (choice) body["tool_choice"] = std::move(*choice);
  }

  // The few other OpenAI fields with an Anthropic equivalent; the rest would be rejected.
  if (const Json& extra = request.extra; extra.is_object()) {
    if (extra.contains("top_p") && extra["top_p"].is_number()) body["top_p"] = extra["top_p"];
    if (extra.contains("top_k") && extra["top_k"].is_number()) body["top_k"] = extra["top_k"];
    if (extra.contains("stop")) {
      const Json& stop = extra["stop"];
      if (stop.is_string()) body["stop_sequences"] = Json::array({stop});
      if (stop.is_array() && !stop.empty()) body["stop_sequences"] = stop;
    }
    if (const std::string user = StringOr(extra, "user"); !user.empty()) {
      body["metadata"] = {{"user_id", user}};
    }
  }
  return body;
}

std::string MapStopReason(std::string_view stop_reason) {
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") {
    return "length";
  }
  if (stop_reason == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn
}

ErrorCode ErrorCodeForAnthropicError(std::string_view type) {
  if (type == "invalid_request_error" || type == "not_found_error" ||
      type == "request_too_large") {
    return ErrorCode::kInvalidArgument;
  }
  if (type == "timeout_error") return ErrorCode::kDeadlineExceeded;
  return ErrorCode::kUnavailable;  // overloaded, rate limit, api_error, authentication, ...
}

void AnthropicStreamTranslator::ReadUsage(const Json& usage) {
  if (!usage.is_object()) return;
  // OpenAI's prompt_tokens counts cached tokens too; Anthropic reports them separately.
  if (usage.contains("input_tokens") && usage["input_tokens"].is_number_integer()) {
    usage_.prompt_tokens = IntOr(usage, "input_tokens") +
                           IntOr(usage, "cache_creation_input_tokens") +
                           IntOr(usage, "cache_read_input_tokens");
  }
  if (usage.contains("output_tokens") && usage["output_tokens"].is_number_integer()) {
    usage_.completion_tokens = IntOr(usage, "output_tokens");
  }
}

Result<std::optional<ChatChunk>> AnthropicStreamTranslator::OnEvent(const Json& event) {
  const std::string type = StringOr(event, "type");
  ChatChunk chunk;
  const int64_t index = IntOr(event, "index");
  if (type == "message_start") {
    if (event.contains("message") && event["message"].contains("usage")) {
      ReadUsage(event["message"]["usage"]);
    }
  } else if (type == "content_block_start") {
    const Json& block = event.contains("content_block") ? event["content_block"] : Json::object();
    const std::string block_type = StringOr(block, "type");
    if (block_type == "text") {
      blocks_[index] = Block{};
      chunk.content = StringOr(block, "text");
    } else if (block_type == "tool_use") {
      Block state{true, next_tool_index_++, false};
      std::string arguments;
      if (block.contains("input") && block["input"].is_object() && !block["input"].empty()) {
        arguments = block["input"].dump();
        state.has_arguments = true;
      }
      blocks_[index] = state;
      chunk.tool_calls.push_back({{"index", state.tool_index},
                                  {"id", StringOr(block, "id")},
                                  {"type", "function"},
                                  {"function", {{"name", StringOr(block, "name")},
                                                {"arguments", arguments}}}});
    }
    // thinking, redacted_thinking and server tool blocks have no OpenAI equivalent.
  } else if (type == "content_block_delta") {
    const Json& delta = event.contains("delta") ? event["delta"] : Json::object();
    const std::string delta_type = StringOr(delta, "type");
    const auto block = blocks_.find(index);
    if (block == blocks_.end()) return std::optional<ChatChunk>();
    if (delta_type == "text_delta" && !block->second.is_tool) {
      chunk.content = StringOr(delta, "text");
    } else if (delta_type == "input_json_delta" && block->second.is_tool) {
      std::string fragment = StringOr(delta, "partial_json");
      if (!fragment.empty()) {
        block->second.has_arguments = true;
        chunk.tool_calls.push_back({{"index", block->second.tool_index},
                                    {"function", {{"arguments", std::move(fragment)}}}});
      }
    }
  } else if (type == "content_block_stop") {
    const auto block = blocks_.find(index);
    // A tool without parameters streams no JSON at all; OpenAI clients expect "{}".
    if (block != blocks_.end() && block->second.is_tool && !block->second.has_arguments) {
      block->second.has_arguments = true;
      chunk.tool_calls.push_back({{"index", block->second.tool_index},
                                  {"function", {{"arguments", "{}"}}}});
    }
  } else if (type == "message_delta") {
    if (event.contains("delta")) {
      if (std::string reason = StringOr(event["delta"], "stop_reason"); !reason.empty()) {
        chunk.finish_reason = MapStopReason(reason);
        finished_ = true;
      }
    }
    if (event.contains("usage")) ReadUsage(event["usage"]);
  } else if (type == "message_stop") {
    finished_ = true;
  } else if (type == "error") {
    const Json& error = event.contains("error") ? event["error"] : Json::object();
    const std::string error_type = StringOr(error, "type", "error");
    return MakeError(ErrorCodeForAnthropicError(error_type),
                     error_type + ": " + StringOr(error, "message", "(no message)"));
  }
  // ping and event types added after this was written carry nothing we use.
  if (chunk.content.empty() && chunk.tool_calls.empty() && !chunk.finish_reason) {
    return std::optional<ChatChunk>();
  }
  return std::optional<ChatChunk>(std::move(chunk));
}

Result<ChatChunk> FromAnthropicMessage(const Json& message, Usage& usage) {
  if (!message.is_object() || !message.contains("content") || !message["content"].is_array()) {
    return MakeError(ErrorCode::kUnavailable, "the response is not a Messages API message");
  }
  ChatChunk chunk;
  int64_t tool_index = 0;
  for (const auto& block : message["content"]) {
    const std::string type = StringOr(block, "type");
    if (type == "text") {
      chunk.content += StringOr(block, "text");
    } else if (type == "tool_use") {
      const Json input = block.contains("input") ? block["input"] : Json::object();
      chunk.tool_calls.push_back({{"index", tool_index++},
                                  {"id", StringOr(block, "id")},
                                  {"type", "function"},
                                  {"function", {{"name", StringOr(block, "name")},
                                                {"arguments", input.dump()}}}});
    }
  }
  chunk.finish_reason = MapStopReason(StringOr(message, "stop_reason", "end_turn"));
  AnthropicStreamTranslator usage_reader;
  (void)usage_reader.OnEvent({{"type", "message_start"}, {"message", message}});
  usage = usage_reader.usage();
  return chunk;
}

}  // namespace steward::models::detail
