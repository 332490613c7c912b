#include "models/openai_wire.hpp"

#include <algorithm>
#include <array>

namespace steward::models {

namespace {

Error Invalid(std::string field, std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message), std::move(field));
}

std::string Got(const Json& j) { return std::string("got ") + j.type_name(); }

// Content may be a string or an array of parts; Steward's providers take text, so text parts
// are joined and other part types are refused by name.
Result<Json> NormalizeContent(const Json& content, const std::string& field) {
  if (content.is_string() || content.is_null()) return content;
  if (!content.is_array()) return Invalid(field, "expected a string or an array of content parts, " + Got(content));
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const Json& part = content[i];
    const std::string pf = field + "[" + std::to_string(i) + "]";
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string()) {
      return Invalid(pf, "expected a content part object with a \"type\"");
    }
    if (part["type"] != "text") {
      return Invalid(pf + ".type", "only \"text\" content parts are supported, got \"" +
                                       part["type"].get<std::string>() + "\"");
    }
    if (!part.contains("text") || !part["text"].is_string()) return Invalid(pf + ".text", "expected a string");
    text += part["text"].get<std::string>();
  }
  return Json(text);
}

}  // namespace

Result<ChatCompletionCall> ParseChatCompletion(const Json& body) {
  if (!body.is_object()) return Invalid("body", "expected a JSON object, " + Got(body));
  ChatCompletionCall call;
  if (!body.contains("model") || !body["model"].is_string() || body["model"].get<std::string>().empty()) {
    return Invalid("model", "expected a non-empty string naming a model or agent (see GET /v1/models)");
  }
  call.model = body["model"].get<std::string>();
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
    return Invalid("messages", "expected a non-empty array of messages");
  }
  static const std::array<std::string_view, 5> kRoles = {"system", "developer", "user", "assistant", "tool"};
  for (size_t i = 0; i < body["messages"].size(); ++i) {
    const Json& m = body["messages"][i];
    const std::string field = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return Invalid(field, "expected an object, " + Got(m));
    if (!m.contains("role") || !m["role"].is_string()) return Invalid(field + ".role", "expected a string");
    const std::string role = m["role"].get<std::string>();
    if (std::find(kRoles.begin(), kRoles.end(), role) == kRoles.end()) {
      return Invalid(field + ".role", "expected system, developer, user, assistant or tool, got \"" + role + "\"");
    }
    Json out = {{"role", role == "developer" ? "system" : role}};
    auto content = NormalizeContent(m.value("content", Json()), field + ".content");
    if (!content.ok()) return content.error();
    out["content"] = *content;
    if (role == "tool") {
      if (!m.contains("tool_call_id") || !m["tool_call_id"].is_string()) {
        return Invalid(field + ".tool_call_id", "expected a string on a tool message");
      }
      out["tool_call_id"] = m["tool_call_id"];
    }
    if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
      if (role != "assistant" || !m["tool_calls"].is_array()) {
        return Invalid(field + ".tool_calls", "expected an array on an assistant message");
      }
      for (size_t k = 0; k < m["tool_calls"].size(); ++k) {
        const Json& tc = m["tool_calls"][k];
        const std::string tf = field + ".tool_calls[" + std::to_string(k) + "]";
        if (!tc.is_object() || !tc.contains("function") || !tc["function"].is_object() ||
            !tc["function"].contains("name") || !tc["function"]["name"].is_string()) {
          return Invalid(tf + ".function.name", "expected a tool call with a function name");
        }
      }
      out["tool_calls"] = m["tool_calls"];
    } else if (role != "assistant" && out["content"].is_null()) {
      return Invalid(field + ".content", "expected a string");
    }
    if (m.contains("name") && m["name"].is_string()) out["name"] = m["name"];
    call.request.messages.push_back(std::move(out));
  }
  if (body.contains("stream") && !body["stream"].is_null()) {
    if (!body["stream"].is_boolean()) return Invalid("stream", "expected true or false, " + Got(body["stream"]));
    call.stream = body["stream"].get<bool>();
  }
  if (body.contains("stream_options") && body["stream_options"].is_object()) {
    call.include_usage = body["stream_options"].value("include_usage", false);
  }
  if (body.contains("temperature") && !body["temperature"].is_null()) {
    if (!body["temperature"].is_number() || body["temperature"].get<double>() < 0 ||
        body["temperature"].get<double>() > 2) {
      return Invalid("temperature", "expected a number between 0 and 2");
    }
    call.request.temperature = body["temperature"].get<double>();
  }
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (body.contains(key) && !body[key].is_null()) {
      if (!body[key].is_number_integer() || body[key].get<int64_t>() < 1) {
        return Invalid(key, "expected a positive integer");
      }
      call.request.max_tokens = body[key].get<int64_t>();
    }
  }
  if (body.contains("tools") && !body["tools"].is_null()) {
    if (!body["tools"].is_array()) return Invalid("tools", "expected an array, " + Got(body["tools"]));
    for (size_t i = 0; i < body["tools"].size(); ++i) {
      const Json& t = body["tools"][i];
      const std::string field = "tools[" + std::to_string(i) + "]";
      if (!t.is_object() || t.value("type", "") != "function" || !t.contains("function") ||
          !t["function"].is_object() || !t["function"].contains("name") || !t["function"]["name"].is_string()) {
        return Invalid(field, "expected {\"type\": \"function\", \"function\": {\"name\": …, \"parameters\": …}}");
      }
    }
    call.request.tools = body["tools"];
  }
  if (body.contains("tool_choice")) call.request.tool_choice = body["tool_choice"];
  for (const char* key : {"top_p", "stop", "seed", "presence_penalty", "frequency_penalty", "response_format",
                          "parallel_tool_calls", "user"}) {
    if (body.contains(key)) call.request.extra[key] = body[key];
  }
  return call;
}

Json RoleChunkJson(const std::string& id, const std::string& model, int64_t created) {
  return {{"id", id},
          {"object", "chat.completion.chunk"},
          {"created", created},
          {"model", model},
          {"choices", Json::array({{{"index", 0},
                                    {"delta", {{"role", "assistant"}, {"content", ""}}},
                                    {"finish_reason", nullptr}}})}};
}

Json ChunkJson(const std::string& id, const std::string& model, int64_t created, const ChatChunk& chunk) {
  Json delta = Json::object();
  if (!chunk.content.empty()) delta["content"] = chunk.content;
  if (!chunk.tool_calls.empty()) delta["tool_calls"] = chunk.tool_calls;
  return {{"id", id},
          {"object", "chat.completion.chunk"},
          {"created", created},
          {"model", model},
          {"choices", Json::array({{{"index", 0},
                                    {"delta", std::move(delta)},
                                    {"finish_reason", chunk.finish_reason ? Json(*chunk.finish_reason) : Json()}}})}};
}

Json UsageChunkJson(const std::string& id, const std::string& model, int64_t created, const Usage& usage) {
  return {{"id", id},
          {"object", "chat.completion.chunk"},
          {"created", created},
          {"model", model},
          {"choices", Json::array()},
          {"usage",
           {{"prompt_tokens", usage.prompt_tokens},
            {"completion_tokens", usage.completion_tokens},
            {"total_tokens", usage.total()}}}};
}

Json CompletionJson(const std::string& id, const std::string& model, int64_t created, const ChatResult& result) {
  Json message = {{"role", "assistant"}, {"content", result.content}};
  if (!result.tool_calls.empty()) {
    message["tool_calls"] = result.tool_calls;
    if (result.content.empty()) message["content"] = nullptr;
  }
  return {{"id", id},
          {"object", "chat.completion"},
          {"created", created},
          {"model", model},
          {"choices", Json::array({{{"index", 0}, {"message", message}, {"finish_reason", result.finish_reason}}})},
          {"usage",
           {{"prompt_tokens", result.usage.prompt_tokens},
            {"completion_tokens", result.usage.completion_tokens},
            {"total_tokens", result.usage.total()}}}};
}

Json OpenAiErrorJson(const Error& error) {
  const ErrorInfo& info = Describe(error.code);
  std::string type = "api_error";
  if (error.code == ErrorCode::kInvalidArgument || error.code == ErrorCode::kNotFound) type = "invalid_request_error";
  if (error.code == ErrorCode::kUnauthenticated) type = "authentication_error";
  if (error.code == ErrorCode::kPermissionDenied) type = "permission_error";
  if (error.code == ErrorCode::kBudgetExceeded) type = "insufficient_quota";
  return {{"error",
           {{"message", error.context.empty() ? error.message : error.context + ": " + error.message},
            {"type", type},
            {"param", error.context.empty() ? Json() : Json(error.context)},
            {"code", info.name}}}};
}

}  // namespace steward::models
