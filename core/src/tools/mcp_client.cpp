#include "tools/mcp_client.hpp"

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "tools/mcp_endpoint.hpp"

namespace steward::tools {

namespace {

using nlohmann::json;

constexpr auto kReplyTimeout = std::chrono::seconds(10);

std::string Seconds(std::chrono::milliseconds ms) {
  const double s = static_cast<double>(ms.count()) / 1000.0;
  char buf[32];
  std::snprintf(buf, sizeof buf, s == static_cast<int64_t>(s) ? "%.0f s" : "%.1f s", s);
  return buf;
}

bool IsKnownVersion(std::string_view v) {
  for (auto known : kMcpProtocolVersions) {
    if (known == v) return true;
  }
  return false;
}

std::string KnownVersionsText() {
  std::string out;
  for (auto v : kMcpProtocolVersions) out += (out.empty() ? "" : ", ") + std::string(v);
  return out;
}

// How a JSON-RPC error answer maps onto Steward's codes.
ErrorCode CodeForRpcError(int code) {
  switch (code) {
    case -32601: return ErrorCode::kNotFound;         // method not found
    case -32602: return ErrorCode::kInvalidArgument;  // invalid params (bad tool arguments)
    case -32001: return ErrorCode::kDeadlineExceeded; // the TypeScript SDK's request timeout
    case -32800: return ErrorCode::kCancelled;
    default: return ErrorCode::kUnavailable;
  }
}

std::optional<int64_t> IdNumber(const json& id) {
  if (id.is_number_integer()) return id.get<int64_t>();
  if (id.is_number_unsigned()) {
    const auto u = id.get<uint64_t>();
    if (u <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(u);
  }
  return std::nullopt;
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::string_view McpErrorName(int code) {
  switch (code) {
    case -32700: return "parse error";
    case -32600: return "invalid request";
    case -32601: return "method not found";
    case -32602: return "invalid params";
    case -32603: return "internal error";
    case -32002: return "resource not found";
    case -32001: return "request timeout";
    case -32800: return "request cancelled";
    default: return "server error";
  }
}

McpClient::McpClient(std::unique_ptr<detail::McpTransport> transport, McpClientOptions options)
    : transport_(std::move(transport)), options_(std::move(options)) {}

McpClient::~McpClient() { Close(); }

std::string McpClient::Who() const { return "MCP server '" + options_.server + "'"; }

McpFrameStats McpClient::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

Status McpClient::Connect() {
  STEWARD_RETURN_IF_ERROR(transport_->Open(*this));
  opened_ = true;
  json params = {
      {"protocolVersion", std::string(kMcpLatestProtocolVersion)},
      // Steward serves none of the client features (roots, sampling, elicitation): the server
      // must not expect them, and asks for them are refused.
      {"capabilities", json::object()},
      {"clientInfo", {{"name", "steward"}, {"version", options_.client_version}}},
  };
  // Start-up gets at least a minute whatever timeout_s says: a server's first answer waits on
  // its interpreter and imports (npx, Python), which on a busy machine take far longer than a
  // tool call should.
  constexpr std::chrono::milliseconds kStartupAllowance{60'000};
  auto answer = Request("initialize", std::move(params), std::max(options_.timeout, kStartupAllowance));
  if (!answer.ok()) return answer.error();
  const json& result = *answer;
  if (!result.is_object() || !result.contains("protocolVersion") ||
      !result["protocolVersion"].is_string()) {
    return MakeError(ErrorCode::kUnavailable,
                     Who() + " sent an initialize result without a protocolVersion: " +
                         Dump(result).substr(0, 200),
                     options_.server);
  }
  const std::string version = result["protocolVersion"].get<std::string>();
  if (!IsKnownVersion(version)) {
    return MakeError(ErrorCode::kUnavailable,
                     Who() + " speaks MCP protocol version " + version +
                         ", which Steward does not (it speaks " + KnownVersionsText() + ")",
                     options_.server);
  }
  protocol_version_ = version;
  if (auto caps = result.find("capabilities"); caps != result.end() && caps->is_object()) {
    capabilities_ = *caps;
  }
  if (auto info = result.find("serverInfo"); info != result.end() && info->is_object()) {
    server_info_ = *info;
  }
  transport_->Initialized(protocol_version_);
  return Notify("notifications/initialized");
}

Status McpClient::SendJson(const json& message, std::chrono::steady_clock::time_point deadline) {
  return transport_->Send(Dump(message), deadline);
}

Status McpClient::Notify(std::string_view method, json params) {
  json message = {{"jsonrpc", "2.0"}, {"method", std::string(method)}};
  if (!params.is_null()) message["params"] = std::move(params);
  Status sent = SendJson(message, std::chrono::steady_clock::now() + kReplyTimeout);
  if (!sent.ok()) {
    return MakeError(sent.error().code, Who() + ": cannot send " + std::string(method) + ": " +
                                            sent.error().message,
                     options_.server);
  }
  return Status::Ok();
}

Result<json> McpClient::Request(std::string_view method, json params,
                                std::optional<std::chrono::milliseconds> timeout,
                                McpProgressFn on_progress) {
  std::string label(method);
  if (method == "tools/call" && params.contains("name") && params["name"].is_string()) {
    label += " " + params["name"].get<std::string>();
  }
  const int64_t id = next_id_++;
  auto pending = std::make_shared<Pending>();
  pending->on_progress = std::move(on_progress);
  pending->method = label;
  {
    std::lock_guard lock(mu_);
    if (closed_ || closed_reason_) {
      const std::string why = closed_reason_ ? closed_reason_->message : "the connection is closed";
      return MakeError(ErrorCode::kUnavailable, Who() + " is not connected: " + why, options_.server);
    }
    pending_[id] = pending;
  }
  if (pending->on_progress) {
    if (!params.is_object()) params = json::object();
    params["_meta"]["progressToken"] = id;
  }
  json message = {{"jsonrpc", "2.0"}, {"id", id}, {"method", std::string(method)}};
  if (!params.is_null()) message["params"] = std::move(params);
  const auto limit = timeout.value_or(options_.timeout);
  const auto deadline = std::chrono::steady_clock::now() + limit;

  Status sent = SendJson(message, deadline);
  std::unique_lock lock(mu_);
  if (!sent.ok() && !pending->outcome) {
    pending_.erase(id);
    const Error& e = sent.error();
    const ErrorCode code = e.code == ErrorCode::kConfig ? ErrorCode::kUnavailable : e.code;
    return MakeError(code, Who() + " (" + label + "): " + e.message, options_.server);
  }
  cv_.wait_until(lock, deadline, [&] { return pending->outcome.has_value(); });
  if (pending->outcome) return std::move(*pending->outcome);
  pending_.erase(id);
  lock.unlock();
  // The server may still be working on it; tell it to stop so a late answer wastes nothing.
  (void)Notify("notifications/cancelled",
               {{"requestId", id}, {"reason", "no answer within " + Seconds(limit)}});
  return MakeError(ErrorCode::kDeadlineExceeded,
                   Who() + " did not answer " + label + " within " + Seconds(limit) +
                       " (timeout_s); the server was asked to cancel it",
                   options_.server);
}

Result<std::vector<McpToolDefinition>> McpClient::ListTools() {
  std::vector<McpToolDefinition> tools;
  std::set<std::string> names;
  std::set<std::string> cursors;
  json cursor = nullptr;
  for (size_t page = 0;; ++page) {
    if (page >= options_.max_pages) {
      return MakeError(ErrorCode::kUnavailable,
                       Who() + " kept paginating tools/list past " +
                           std::to_string(options_.max_pages) + " pages",
                       options_.server);
    }
    json params = json::object();
    if (!cursor.is_null()) params["cursor"] = cursor;
    auto answer = Request("tools/list", std::move(params));
    if (!answer.ok()) {
      // A server without tools (resources or prompts only) does not serve tools/list at all.
      if (page == 0 && answer.error().code == ErrorCode::kNotFound) return tools;
      return answer.error();
    }
    const json& result = *answer;
    if (!result.is_object() || !result.contains("tools") || !result["tools"].is_array()) {
      return MakeError(ErrorCode::kUnavailable,
                       Who() + " sent a malformed tools/list result (expected {\"tools\": [...]}): " +
                           Dump(result).substr(0, 200),
                       options_.server);
    }
    for (const json& tool : result["tools"]) {
      if (!tool.is_object() || !tool.contains("name") || !tool["name"].is_string() ||
          tool["name"].get_ref<const std::string&>().empty()) {
        Problem("listed a tool without a name; skipped: " + Dump(tool).substr(0, 200));
        continue;
      }
      McpToolDefinition def;
      def.name = tool["name"].get<std::string>();
      if (def.name.find_first_of(" \t\r\n") != std::string::npos) {
        Problem("listed a tool named \"" + def.name + "\" (names hold no spaces); skipped");
        continue;
      }
      if (!names.insert(def.name).second) {
        Problem("listed the tool \"" + def.name + "\" twice; the first one is used");
        continue;
      }
      if (auto d = tool.find("description"); d != tool.end() && d->is_string()) def.description = *d;
      if (auto t = tool.find("title"); t != tool.end() && t->is_string()) def.title = *t;
      if (auto a = tool.find("annotations"); a != tool.end() && a->is_object()) def.annotations = *a;
      if (auto s = tool.find("inputSchema"); s != tool.end() && s->is_object()) {
        def.input_schema = *s;
      } else {
        if (s != tool.end()) {
          Problem("tool \"" + def.name + "\" has an inputSchema that is not an object; skipped");
          names.erase(def.name);
          continue;
        }
        def.input_schema = {{"type", "object"}};
      }
      tools.push_back(std::move(def));
    }
    auto next = result.find("nextCursor");
    if (next == result.end() || next->is_null() || (next->is_string() && next->get_ref<const std::string&>().empty())) {
      return tools;
    }
    if (!next->is_string()) {
      return MakeError(ErrorCode::kUnavailable,
                       Who() + " sent a tools/list nextCursor that is not a string: " + next->dump(),
                       options_.server);
    }
    if (!cursors.insert(next->get<std::string>()).second) {
      return MakeError(ErrorCode::kUnavailable,
                       Who() + " repeated the tools/list cursor " + next->dump() +
                           " (its pagination loops)",
                       options_.server);
    }
    cursor = *next;
  }
}

Result<ToolCallResult> McpClient::CallTool(std::string_view name, const json& arguments,
                                           std::optional<std::chrono::milliseconds> timeout,
                                           McpProgressFn on_progress) {
  json params = {{"name", std::string(name)},
                 {"arguments", arguments.is_null() ? json::object() : arguments}};
  auto answer = Request("tools/call", std::move(params), timeout, std::move(on_progress));
  if (!answer.ok()) return answer.error();
  const json& result = *answer;
  const auto malformed = [&](const std::string& why) -> Error {
    const std::string message = "sent a malformed tools/call result for " + std::string(name) +
                                " (" + why + ")";
    Problem(message);
    return MakeError(ErrorCode::kUnavailable, Who() + " " + message, options_.server);
  };
  if (!result.is_object()) return malformed("expected an object");
  ToolCallResult out;
  if (auto content = result.find("content"); content != result.end() && !content->is_null()) {
    if (!content->is_array()) return malformed("content must be an array");
    out.content = *content;
  }
  if (auto structured = result.find("structuredContent");
      structured != result.end() && !structured->is_null()) {
    if (!structured->is_object()) return malformed("structuredContent must be an object");
    out.structured = *structured;
  }
  if (auto is_error = result.find("isError"); is_error != result.end() && !is_error->is_null()) {
    if (!is_error->is_boolean()) return malformed("isError must be a boolean");
    out.is_error = is_error->get<bool>();
  }
  return out;
}

void McpClient::Close() {
  closed_ = true;
  {
    std::lock_guard lock(mu_);
    if (!closed_reason_) closed_reason_ = MakeError(ErrorCode::kUnavailable, "the connection was closed");
    for (auto& [id, pending] : pending_) {
      pending->outcome = MakeError(ErrorCode::kUnavailable,
                                   Who() + " (" + pending->method + "): the connection was closed",
                                   options_.server);
    }
    pending_.clear();
  }
  cv_.notify_all();
  if (opened_.exchange(false)) transport_->Close();
}

// --- what the server sends ---------------------------------------------------------------

void McpClient::OnText(std::string_view text) {
  for (detail::ParsedFrame& parsed : detail::ParseFrames(text)) {
    if (parsed.frame) {
      HandleFrame(std::move(*parsed.frame));
      continue;
    }
    {
      std::lock_guard lock(mu_);
      ++stats_.bad_frames;
    }
    Problem("sent a malformed message: " + parsed.problem);
    if (!parsed.id.is_null()) {
      Complete(parsed.id, MakeError(ErrorCode::kUnavailable,
                                    Who() + " sent a malformed response: " + parsed.problem,
                                    options_.server));
    }
  }
}

void McpClient::OnOversized(size_t size, std::string_view head, std::string_view tail) {
  {
    std::lock_guard lock(mu_);
    ++stats_.oversized;
  }
  const std::string message = "sent a message of " + std::to_string(size) +
                              " bytes, more than the limit of " +
                              std::to_string(detail::kMaxMcpFrameBytes) + "; it was dropped";
  Problem(message);
  const json id = detail::PeekResponseId(head, tail);
  if (!id.is_null()) {
    Complete(id, MakeError(ErrorCode::kUnavailable, Who() + " " + message, options_.server));
  }
}

void McpClient::OnClosed(const Error& why) {
  {
    std::lock_guard lock(mu_);
    closed_reason_ = why;
    for (auto& [id, pending] : pending_) {
      pending->outcome = MakeError(ErrorCode::kUnavailable,
                                   Who() + " stopped while " + pending->method +
                                       " was running: " + why.message,
                                   options_.server);
    }
    pending_.clear();
  }
  closed_ = true;
  cv_.notify_all();
  if (options_.on_closed) options_.on_closed(why);
}

void McpClient::HandleFrame(detail::Frame frame) {
  using detail::FrameKind;
  switch (frame.kind) {
    case FrameKind::kResult:
      if (!Complete(frame.id, std::move(frame.result))) {
        {
          std::lock_guard lock(mu_);
          ++stats_.unknown_ids;
        }
        Problem("sent a response to request id " + frame.id.dump() +
                ", which is not waiting (late, duplicate or never sent); ignored");
      }
      return;
    case FrameKind::kError: {
      if (frame.id.is_null()) {
        Problem("reported an error about a message it could not read: " + frame.error_message +
                " (" + std::to_string(frame.error_code) + ")");
        return;
      }
      std::string method;
      {
        std::lock_guard lock(mu_);
        if (auto n = IdNumber(frame.id)) {
          if (auto it = pending_.find(*n); it != pending_.end()) method = it->second->method;
        }
      }
      Error error = MakeError(CodeForRpcError(frame.error_code),
                              Who() + " refused " + (method.empty() ? "a request" : method) + ": " +
                                  frame.error_message + " (" + std::string(McpErrorName(frame.error_code)) +
                                  ", " + std::to_string(frame.error_code) + ")",
                              options_.server);
      if (!Complete(frame.id, std::move(error))) {
        {
          std::lock_guard lock(mu_);
          ++stats_.unknown_ids;
        }
        Problem("sent an error for request id " + frame.id.dump() + ", which is not waiting; ignored");
      }
      return;
    }
    case FrameKind::kRequest:
      HandleServerRequest(frame);
      return;
    case FrameKind::kNotification:
      HandleNotification(frame);
      return;
  }
}

void McpClient::HandleServerRequest(const detail::Frame& frame) {
  {
    std::lock_guard lock(mu_);
    ++stats_.server_requests;
  }
  json reply = {{"jsonrpc", "2.0"}, {"id", frame.id}};
  if (frame.method == "ping") {
    reply["result"] = json::object();
  } else {
    spdlog::info("mcp {}: refused the server's request {} (Steward's client does not serve it)",
                 options_.server, frame.method);
    reply["error"] = {{"code", -32601},
                      {"message", "Method not found: Steward's MCP client does not support \"" +
                                      frame.method + "\" (it declares no client capabilities)"}};
  }
  Status sent = SendJson(reply, std::chrono::steady_clock::now() + kReplyTimeout);
  if (!sent.ok()) Problem("could not be answered on " + frame.method + ": " + sent.error().message);
}

void McpClient::HandleNotification(const detail::Frame& frame) {
  if (frame.method == "notifications/tools/list_changed") {
    spdlog::info("mcp {}: its tool list changed; refreshing", options_.server);
    if (options_.on_tools_changed) options_.on_tools_changed();
    return;
  }
  if (frame.method == "notifications/progress") {
    const auto token = IdNumber(frame.params.value("progressToken", json()));
    McpProgressFn relay;
    if (token) {
      std::lock_guard lock(mu_);
      if (auto it = pending_.find(*token); it != pending_.end()) relay = it->second->on_progress;
    }
    if (relay) relay(frame.params);
    return;
  }
  if (frame.method == "notifications/message") {
    const std::string level = frame.params.value("level", "info");
    const json data = frame.params.value("data", json());
    spdlog::info("mcp {} [{}]: {}", options_.server, level,
                 data.is_string() ? data.get<std::string>() : Dump(data).substr(0, 2000));
    return;
  }
  spdlog::debug("mcp {}: ignored notification {}", options_.server, frame.method);
}

bool McpClient::Complete(const json& id, Result<json> outcome) {
  const auto n = IdNumber(id);
  if (!n) return false;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(*n);
    if (it == pending_.end()) return false;
    it->second->outcome = std::move(outcome);
    pending_.erase(it);
  }
  cv_.notify_all();
  return true;
}

void McpClient::Problem(const std::string& message) {
  spdlog::warn("mcp {}: {}", options_.server, message);
  if (options_.on_problem) options_.on_problem(message);
}

}  // namespace steward::tools
