#include "tools/mcp_endpoint.hpp"

#include <algorithm>
#include <cstdio>
#include <random>
#include <stdexcept>

namespace steward::tools {

namespace {

using nlohmann::json;

// JSON-RPC 2.0 and MCP error codes.
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;

// Deeper documents are refused before anything recursive (dump, events) touches them.
constexpr int kMaxNestingDepth = 64;

constexpr std::string_view kJson = "application/json";

struct TooDeep : std::runtime_error {
  TooDeep() : std::runtime_error("nesting too deep") {}
};

json RpcError(const json& id, int code, std::string message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", std::move(message)}}}};
}

json RpcResult(const json& id, json result) {
  json out(json::value_t::object);
  out.emplace("jsonrpc", "2.0");
  out.emplace("id", id);
  out.emplace("result", std::move(result));
  return out;
}

// Shared by absent "params" and "arguments" so neither is copied to default it.
const json& EmptyObject() {
  static const json kEmpty = json::object();
  return kEmpty;
}

// Tool output comes from databases and remote servers; invalid UTF-8 must not make the whole
// response undeliverable, so it is replaced rather than thrown on.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

McpHttpResponse JsonResponse(int status, const json& body) {
  McpHttpResponse r;
  r.status = status;
  r.content_type = std::string(kJson);
  r.body = Dump(body);
  return r;
}

McpHttpResponse ErrorResponse(int status, int code, std::string message) {
  return JsonResponse(status, RpcError(nullptr, code, std::move(message)));
}

bool IsSupportedVersion(std::string_view v) {
  return std::find(std::begin(kMcpProtocolVersions), std::end(kMcpProtocolVersions), v) !=
         std::end(kMcpProtocolVersions);
}

std::string SupportedVersionsText() {
  std::string out;
  for (auto v : kMcpProtocolVersions) out += (out.empty() ? "" : ", ") + std::string(v);
  return out;
}

// True when an Accept header admits a JSON answer. Parameters (";q=0.9") are ignored: we have
// exactly one representation to offer.
bool AcceptsJson(std::string_view accept) {
  size_t start = 0;
  while (start <= accept.size()) {
    size_t end = accept.find(',', start);
    if (end == std::string_view::npos) end = accept.size();
    std::string_view item = accept.substr(start, end - start);
    item = item.substr(0, item.find(';'));
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    std::string lower(item);
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (lower == kJson || lower == "application/*" || lower == "*/*") return true;
    start = end + 1;
  }
  return false;
}

std::string NewSessionId() {
  // 128 bits from the OS entropy source: session ids must not be guessable.
  thread_local std::random_device rd;
  char buf[33];
  std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return buf;
}

// The deepest nesting of arrays and objects in `text`, brackets inside strings not counted. Up to
// the first syntax error it is exactly the parser's nesting; past one the parser stops anyway, so
// "at most kMaxNestingDepth" proves the parser never goes deeper.
size_t MaxNesting(std::string_view text) {
  size_t depth = 0;
  size_t deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// Parses a request body, throwing TooDeep past kMaxNestingDepth (or json::exception).
json ParseBody(const std::string& text) {
  // The depth-checking callback makes nlohmann use its slower callback parser for every body;
  // only a body that could be too deep needs it.
  if (MaxNesting(text) <= static_cast<size_t>(kMaxNestingDepth)) return json::parse(text);
  return json::parse(text, [](int depth, json::parse_event_t, json&) {
    if (depth > kMaxNestingDepth) throw TooDeep();
    return true;
  });
}

bool IsValidId(const json& id) { return id.is_string() || id.is_number_integer() || id.is_number_unsigned(); }

// Whether the object `message` has "method": `method`.
bool IsMethod(const json& message, std::string_view method) {
  auto it = message.find("method");
  return it != message.end() && it->is_string() && it->get_ref<const std::string&>() == method;
}

// The id to echo in an error about `message`: its own when usable, else null.
json IdOf(const json& message) {
  if (message.is_object()) {
    auto it = message.find("id");
    if (it != message.end() && IsValidId(*it)) return *it;
  }
  return nullptr;
}

}  // namespace

std::string McpHttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return {};
}

McpEndpoint::McpEndpoint(ToolRegistry& registry, McpEndpointOptions options)
    : registry_(registry), options_(std::move(options)) {}

size_t McpEndpoint::session_count() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

McpHttpResponse McpEndpoint::Handle(const McpHttpRequest& req, const CallContext& ctx) {
  if (req.http_method == "POST") return HandlePost(req, ctx);
  if (req.http_method == "DELETE") return HandleDelete(req, ctx);
  // GET would open a server-to-client SSE stream; Steward sends no server-initiated messages.
  McpHttpResponse r = ErrorResponse(
      405, kInvalidRequest,
      "HTTP method " + req.http_method + " is not supported on /mcp; use POST (or DELETE to end "
      "a session)");
  r.headers.emplace_back("Allow", "POST, DELETE");
  return r;
}

McpHttpResponse McpEndpoint::HandleDelete(const McpHttpRequest& req, const CallContext& ctx) {
  switch (TouchSession(req.session_id, ctx)) {
    case SessionState::kMissing:
      return ErrorResponse(400, kInvalidRequest,
                           "DELETE needs the Mcp-Session-Id header of the session to end");
    case SessionState::kUnknown:
      return ErrorResponse(404, kInvalidRequest,
                           "unknown or expired session \"" + req.session_id + "\"");
    case SessionState::kOk:
      break;
  }
  std::lock_guard lock(mu_);
  sessions_.erase(req.session_id);
  return McpHttpResponse{200, "", "", {}};
}

McpHttpResponse McpEndpoint::HandlePost(const McpHttpRequest& req, const CallContext& ctx) {
  if (!req.accept.empty() && !AcceptsJson(req.accept)) {
    return ErrorResponse(406, kInvalidRequest,
                         "the Accept header \"" + req.accept +
                             "\" excludes application/json, the only response type of /mcp");
  }

  json body;
  try {
    body = ParseBody(req.body);
  } catch (const TooDeep&) {
    return ErrorResponse(400, kParseError,
                         "Parse error: JSON nested deeper than " +
                             std::to_string(kMaxNestingDepth) + " levels");
  } catch (const json::exception& e) {
    return ErrorResponse(400, kParseError, std::string("Parse error: the body is not valid JSON (") +
                                               e.what() + ")");
  }

  const bool batch = body.is_array();
  if (batch && body.empty()) {
    return ErrorResponse(400, kInvalidRequest, "Invalid Request: empty batch array");
  }
  if (!batch && !body.is_object()) {
    return ErrorResponse(400, kInvalidRequest,
                         "Invalid Request: the body must be a JSON-RPC message object or an "
                         "array of them");
  }

  const bool initialize = !batch && IsMethod(body, "initialize");
  if (!initialize) {
    if (!req.protocol_version.empty() && !IsSupportedVersion(req.protocol_version)) {
      return ErrorResponse(400, kInvalidRequest,
                           "unsupported MCP-Protocol-Version \"" + req.protocol_version +
                               "\"; supported: " + SupportedVersionsText() +
                               " (negotiated through initialize)");
    }
    switch (TouchSession(req.session_id, ctx)) {
      case SessionState::kMissing:
        return ErrorResponse(400, kInvalidRequest,
                             "the Mcp-Session-Id header is required; send initialize first to "
                             "get a session id");
      case SessionState::kUnknown:
        return ErrorResponse(404, kInvalidRequest,
                             "unknown or expired session \"" + req.session_id +
                                 "\"; send initialize to start a new one");
      case SessionState::kOk:
        break;
    }
  }

  std::string new_session_id;
  json out;
  if (batch) {
    out = json::array();
    for (const auto& message : body) {
      json response = Dispatch(message, ctx, /*in_batch=*/true, &new_session_id);
      if (!response.is_null()) out.push_back(std::move(response));
    }
    if (out.empty()) out = nullptr;
  } else {
    out = Dispatch(body, ctx, /*in_batch=*/false, &new_session_id);
  }

  McpHttpResponse response;
  if (out.is_null()) {
    response.status = 202;  // only notifications or responses: nothing to answer
  } else {
    response = JsonResponse(200, out);
  }
  if (!new_session_id.empty()) response.headers.emplace_back("Mcp-Session-Id", new_session_id);
  return response;
}

json McpEndpoint::Dispatch(const json& message, const CallContext& ctx, bool in_batch,
                           std::string* new_session_id) {
  if (!message.is_object()) {
    return RpcError(nullptr, kInvalidRequest, "Invalid Request: each message must be an object");
  }
  const json id = IdOf(message);
  if (auto version = message.find("jsonrpc"); version == message.end() || *version != "2.0") {
    return RpcError(id, kInvalidRequest, "Invalid Request: \"jsonrpc\" must be \"2.0\"");
  }
  auto method_it = message.find("method");
  const bool has_id = message.contains("id");
  if (method_it == message.end()) {
    // A client's answer to a server request; Steward sends none, so there is nothing to match.
    if (has_id && (message.contains("result") || message.contains("error"))) return nullptr;
    return RpcError(id, kInvalidRequest, "Invalid Request: \"method\" is missing");
  }
  if (!method_it->is_string()) {
    return RpcError(id, kInvalidRequest, "Invalid Request: \"method\" must be a string");
  }
  const std::string& method = method_it->get_ref<const std::string&>();
  if (!has_id) return nullptr;  // notifications (initialized, cancelled, ...) need no action
  if (!IsValidId(message["id"])) {
    return RpcError(nullptr, kInvalidRequest,
                    "Invalid Request: \"id\" must be a string or an integer (MCP forbids null)");
  }
  auto params_it = message.find("params");
  const json& params = params_it == message.end() ? EmptyObject() : *params_it;
  if (!params.is_object()) {
    return RpcError(id, kInvalidParams, "Invalid params: \"params\" must be an object");
  }

  if (method == "initialize") {
    if (in_batch) {
      return RpcError(id, kInvalidRequest,
                      "Invalid Request: initialize must be sent alone, not in a batch");
    }
    return Initialize(id, params, ctx, new_session_id);
  }
  if (method == "ping") return RpcResult(id, json::object());
  if (method == "tools/list") return ListTools(id, params, ctx);
  if (method == "tools/call") return CallTool(id, params, ctx);
  return RpcError(id, kMethodNotFound,
                  "Method not found: \"" + method +
                      "\"; this server supports initialize, ping, tools/list and tools/call");
}

json McpEndpoint::Initialize(const json& id, const json& params, const CallContext& ctx,
                             std::string* new_session_id) {
  auto it = params.find("protocolVersion");
  if (it == params.end() || !it->is_string()) {
    return RpcError(id, kInvalidParams,
                    "Invalid params: \"protocolVersion\" (string) is required in initialize");
  }
  // Per the lifecycle rules: echo the client's version when we speak it, else offer our latest
  // and let the client decide whether to disconnect.
  const std::string requested = it->get<std::string>();
  std::string version =
      IsSupportedVersion(requested) ? requested : std::string(kMcpLatestProtocolVersion);
  json result = {
      {"protocolVersion", version},
      {"capabilities", {{"tools", {{"listChanged", true}}}}},
      {"serverInfo", {{"name", "steward"}, {"version", options_.server_version}}},
      {"instructions",
       "Steward's tool hub: every tool this agent may use, under one policy. Tool names are "
       "<server>.<tool>."},
  };
  *new_session_id = CreateSession(std::move(version), ctx);
  return RpcResult(id, std::move(result));
}

json McpEndpoint::ListTools(const json& id, const json& params, const CallContext& ctx) const {
  const std::vector<ToolInfo> tools = registry_.List(ctx);
  size_t offset = 0;
  if (auto it = params.find("cursor"); it != params.end() && !it->is_null()) {
    // Cursors are the decimal offset of the next page; opaque to clients.
    const std::string cursor = it->is_string() ? it->get<std::string>() : std::string();
    const bool digits = !cursor.empty() && cursor.size() < 10 &&
                        std::all_of(cursor.begin(), cursor.end(), ::isdigit);
    if (!digits || std::stoul(cursor) > tools.size()) {
      return RpcError(id, kInvalidParams,
                      "Invalid params: cursor " + it->dump() +
                          " is not one this server issued; list again without a cursor");
    }
    offset = std::stoul(cursor);
  }
  const size_t page = std::max<size_t>(1, options_.page_size);
  const size_t end = std::min(tools.size(), offset + page);
  json list = json::array();
  for (size_t i = offset; i < end; ++i) {
    list.push_back({{"name", tools[i].name},
                    {"description", tools[i].description},
                    {"inputSchema", tools[i].input_schema}});
  }
  json result = {{"tools", std::move(list)}};
  if (end < tools.size()) result["nextCursor"] = std::to_string(end);
  return RpcResult(id, std::move(result));
}

json McpEndpoint::CallTool(const json& id, const json& params, const CallContext& ctx) {
  auto name = params.find("name");
  if (name == params.end() || !name->is_string()) {
    return RpcError(id, kInvalidParams, "Invalid params: \"name\" (string) is required");
  }
  auto arguments_it = params.find("arguments");
  const json& arguments =
      arguments_it == params.end() || arguments_it->is_null() ? EmptyObject() : *arguments_it;
  if (!arguments.is_object()) {
    return RpcError(id, kInvalidParams, "Invalid params: \"arguments\" must be an object");
  }

  Result<ToolCallResult> result = registry_.Call(name->get_ref<const std::string&>(), arguments, ctx);
  if (!result.ok()) {
    const Error& error = result.error();
    // Unknown tools are protocol errors (the client asked for something that does not exist);
    // everything the model can act on (bad arguments, denied, unavailable) is a tool result
    // with isError, so the model sees the message and can correct itself.
    if (error.code == ErrorCode::kNotFound) {
      return RpcError(id, kInvalidParams, error.message);
    }
    if (error.code == ErrorCode::kInternal) {
      return RpcError(id, kInternalError, "Internal error: " + error.ToString());
    }
    json content = json::array(
        {{{"type", "text"},
          {"text", std::string(Describe(error.code).name) + ": " + error.message}}});
    return RpcResult(id, {{"content", std::move(content)}, {"isError", true}});
  }
  json out(json::value_t::object);
  out.emplace("content", result->content.is_array() ? std::move(result->content) : json::array());
  out.emplace("isError", result->is_error);
  if (result->structured.is_object()) out.emplace("structuredContent", std::move(result->structured));
  return RpcResult(id, std::move(out));
}

McpEndpoint::SessionState McpEndpoint::TouchSession(const std::string& id,
                                                    const CallContext& ctx) {
  if (id.empty()) return SessionState::kMissing;
  const auto now = options_.now();
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return SessionState::kUnknown;
  if (now - it->second.last_used > options_.session_idle_timeout) {
    sessions_.erase(it);
    return SessionState::kUnknown;
  }
  // A session belongs to whoever opened it; to anyone else it does not exist.
  if (it->second.principal != ctx.principal || it->second.run_id != ctx.run_id) {
    return SessionState::kUnknown;
  }
  it->second.last_used = now;
  return SessionState::kOk;
}

std::string McpEndpoint::CreateSession(std::string protocol_version, const CallContext& ctx) {
  const auto now = options_.now();
  std::string id = NewSessionId();
  std::lock_guard lock(mu_);
  while (!sessions_.empty() && sessions_.size() >= std::max<size_t>(1, options_.max_sessions)) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
      return a.second.last_used < b.second.last_used;
    });
    sessions_.erase(oldest);
  }
  sessions_[id] = Session{std::move(protocol_version), ctx.principal, ctx.run_id, now};
  return id;
}

}  // namespace steward::tools
