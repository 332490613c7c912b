#pragma once
// The JSON-RPC side of Steward's /mcp endpoint (MCP Streamable HTTP transport, answered with
// application/json, never SSE). The gateway owns HTTP: it authenticates, builds the CallContext
// for the caller, passes method, body and MCP headers here, and writes back what it gets.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/tool.hpp"
#include "tools/tool_registry.hpp"

namespace steward::tools {

// Protocol revisions negotiable through `initialize`, oldest first: those the official Python
// (mcp 2.3) and TypeScript SDKs offer in the handshake. The stateless 2026 revision is not
// spoken; such clients fall back to `initialize`.
inline constexpr std::string_view kMcpProtocolVersions[] = {
    "2024-10-07", "2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"};
inline constexpr std::string_view kMcpLatestProtocolVersion = "2025-11-25";

// What the gateway extracts from one HTTP request to /mcp.
struct McpHttpRequest {
  std::string http_method;       // "POST", "GET", "DELETE", ...
  std::string body;              // the raw request body
  std::string session_id;        // Mcp-Session-Id header, empty when absent
  std::string protocol_version;  // MCP-Protocol-Version header, empty when absent
  std::string accept;            // Accept header, empty when absent
};

// What the gateway writes back. content_type is empty exactly when body is.
struct McpHttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"Mcp-Session-Id", id}

  // The value of header `name` (exact case), or empty.
  [[nodiscard]] std::string Header(std::string_view name) const;
};

struct McpEndpointOptions {
  size_t page_size = 100;                             // tools per tools/list page
  size_t max_sessions = 1024;                         // least recently used ones are dropped
  std::chrono::seconds session_idle_timeout{24 * 3600};
  std::string server_version = "0.1.0";               // serverInfo.version
  // Clock for session expiry; tests replace it.
  std::function<std::chrono::steady_clock::time_point()> now = std::chrono::steady_clock::now;
};

// Thread-safe: Handle may run on many threads at once; tool calls run outside the session lock.
class McpEndpoint final {
 public:
  // `registry` must outlive the endpoint.
  explicit McpEndpoint(ToolRegistry& registry, McpEndpointOptions options = {});

  // Answers one HTTP request to /mcp on behalf of `ctx` (which decides the visible tools and
  // is bound to the session at initialize: a session id used by another principal or run is
  // unknown). Never fails: every problem becomes an HTTP status and a JSON-RPC error naming it.
  [[nodiscard]] McpHttpResponse Handle(const McpHttpRequest& req, const CallContext& ctx);

  // Live sessions, for metrics and tests.
  [[nodiscard]] size_t session_count() const;

 private:
  struct Session {
    std::string protocol_version;
    std::string principal;
    std::string run_id;
    std::chrono::steady_clock::time_point last_used;
  };
  // Why a session lookup failed, as the HTTP status to answer.
  enum class SessionState { kOk, kMissing, kUnknown };

  McpHttpResponse HandlePost(const McpHttpRequest& req, const CallContext& ctx);
  McpHttpResponse HandleDelete(const McpHttpRequest& req, const CallContext& ctx);
  // The response to one JSON-RPC message, or null for notifications and responses.
  nlohmann::json Dispatch(const nlohmann::json& message, const CallContext& ctx,
                          bool in_batch, std::string* new_session_id);
  nlohmann::json Initialize(const nlohmann::json& id, const nlohmann::json& params,
                            const CallContext& ctx, std::string* new_session_id);
  nlohmann::json ListTools(const nlohmann::json& id, const nlohmann::json& params,
                           const CallContext& ctx) const;
  nlohmann::json CallTool(const nlohmann::json& id, const nlohmann::json& params,
                          const CallContext& ctx);

  SessionState TouchSession(const std::string& id, const CallContext& ctx);
  std::string CreateSession(std::string protocol_version, const CallContext& ctx);

  ToolRegistry& registry_;
  const McpEndpointOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Session> sessions_;  // guarded by mu_
};

}  // namespace steward::tools
