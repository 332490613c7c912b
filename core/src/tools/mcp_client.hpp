#pragma once
// Steward's client side of MCP: one JSON-RPC session with one server over a transport (stdio or
// Streamable HTTP). It does the handshake, lists tools across pages, calls them with a deadline,
// answers what the server asks (ping; everything else is refused with a JSON-RPC error), and
// reports every malformed frame as a problem instead of failing: a broken server costs at most
// the calls it breaks, never the core.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "tools/detail/mcp_frame.hpp"
#include "tools/detail/mcp_transport.hpp"
#include "tools/tool.hpp"

namespace steward::tools {

// A tool as the server lists it (unqualified name).
struct McpToolDefinition {
  std::string name;
  std::string title;        // may be empty
  std::string description;  // may be empty
  nlohmann::json input_schema = nlohmann::json::object();
  nlohmann::json annotations;  // the server's hints (readOnlyHint, ...); null when absent
};

// Counters of what went wrong on the wire, for health and tests.
struct McpFrameStats {
  uint64_t bad_frames = 0;     // not JSON, not JSON-RPC 2.0, malformed fields
  uint64_t oversized = 0;      // larger than kMaxMcpFrameBytes, dropped
  uint64_t unknown_ids = 0;    // responses to no pending request (late, duplicate, invented)
  uint64_t server_requests = 0;  // requests the server sent us
};

struct McpClientOptions {
  std::string server;  // the configured name, for messages
  std::chrono::milliseconds timeout{60'000};  // per request unless a call says otherwise; initialize gets >= 60 s
  std::string client_version = "0.1.0";
  size_t max_pages = 1000;  // tools/list pages followed before giving up (a cursor loop)
  // Called on a transport thread; must not block and must not call back into the client.
  std::function<void()> on_tools_changed;
  std::function<void(const Error& why)> on_closed;  // the transport ended; at most once
  std::function<void(const std::string& problem)> on_problem;  // one malformed frame
};

// Progress a server reported for a running call (notifications/progress params).
using McpProgressFn = std::function<void(const nlohmann::json& progress)>;

// Thread-safe after Connect: requests may run on many threads at once.
class McpClient final : private detail::McpTransportSink {
 public:
  McpClient(std::unique_ptr<detail::McpTransport> transport, McpClientOptions options);
  ~McpClient() override;
  McpClient(const McpClient&) = delete;
  McpClient& operator=(const McpClient&) = delete;

  // Opens the transport, sends initialize (offering the newest protocol version Steward speaks,
  // accepting any older one it knows that the server answers with), then
  // notifications/initialized. Call from a thread that outlives a stdio server (see Subprocess).
  [[nodiscard]] Status Connect();

  // Every tool the server offers, following nextCursor until the last page. Tools without a
  // usable name are skipped (and reported as problems); a server without tools/list has none.
  [[nodiscard]] Result<std::vector<McpToolDefinition>> ListTools();

  // tools/call. A result with isError is a ToolCallResult, not an Error. Errors: kDeadlineExceeded
  // (no answer within `timeout`; the server is told to cancel), kUnavailable (transport down, a
  // malformed answer), kInvalidArgument (the server refused the arguments: -32602).
  [[nodiscard]] Result<ToolCallResult> CallTool(std::string_view name, const nlohmann::json& arguments,
                                                std::optional<std::chrono::milliseconds> timeout = {},
                                                McpProgressFn on_progress = {});

  // One request; its `result` on success. A JSON-RPC error answer becomes an Error whose message
  // carries the server's. With `on_progress`, a progress token is sent and progress relayed.
  [[nodiscard]] Result<nlohmann::json> Request(std::string_view method, nlohmann::json params,
                                               std::optional<std::chrono::milliseconds> timeout = {},
                                               McpProgressFn on_progress = {});

  // Sends a notification.
  [[nodiscard]] Status Notify(std::string_view method, nlohmann::json params = nullptr);

  // Closes the transport; pending requests fail with kUnavailable. Idempotent; not from a callback.
  void Close();

  [[nodiscard]] bool closed() const { return closed_.load(); }
  // After Connect: what the handshake settled.
  [[nodiscard]] const std::string& protocol_version() const { return protocol_version_; }
  [[nodiscard]] const nlohmann::json& server_info() const { return server_info_; }
  [[nodiscard]] const nlohmann::json& capabilities() const { return capabilities_; }
  [[nodiscard]] int pid() const { return transport_->pid(); }
  [[nodiscard]] McpFrameStats stats() const;

  // Feeds one received text as if the transport had delivered it; for tests of frame handling.
  void InjectForTest(std::string_view text) { OnText(text); }

 private:
  struct Pending {
    std::optional<Result<nlohmann::json>> outcome;
    McpProgressFn on_progress;
    std::string method;
  };

  // detail::McpTransportSink
  void OnText(std::string_view text) override;
  void OnOversized(size_t size, std::string_view head, std::string_view tail) override;
  void OnClosed(const Error& why) override;

  void HandleFrame(detail::Frame frame);
  void HandleServerRequest(const detail::Frame& frame);
  void HandleNotification(const detail::Frame& frame);
  // Completes the pending request `id` (if any) with `outcome`; false when no request had it.
  bool Complete(const nlohmann::json& id, Result<nlohmann::json> outcome);
  void Problem(const std::string& message);
  std::string Who() const;  // "MCP server 'fs'"
  Status SendJson(const nlohmann::json& message, std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<detail::McpTransport> transport_;
  const McpClientOptions options_;
  std::atomic<int64_t> next_id_{1};
  std::atomic<bool> closed_{false};
  std::atomic<bool> opened_{false};
  std::string protocol_version_;
  nlohmann::json server_info_ = nlohmann::json::object();
  nlohmann::json capabilities_ = nlohmann::json::object();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, std::shared_ptr<Pending>> pending_;  // guarded by mu_
  std::optional<Error> closed_reason_;                  // guarded by mu_
  McpFrameStats stats_;                                 // guarded by mu_
};

// Names what an MCP error code means, for messages ("method not found").
[[nodiscard]] std::string_view McpErrorName(int code);

}  // namespace steward::tools
