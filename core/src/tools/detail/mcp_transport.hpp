#pragma once
// How McpClient's JSON-RPC messages reach a server and come back: a child process on stdio, or
// the Streamable HTTP transport. A transport moves texts; McpClient parses and matches them.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "tools/mcp_server_config.hpp"

namespace steward::tools::detail {

// Receives what a server sends. Called on the transport's threads (stdio: its reader thread;
// HTTP: the thread inside Send, or the thread of the server-notification stream), never with a
// transport lock held, so a sink may call Send from inside OnText.
class McpTransportSink {
 public:
  virtual ~McpTransportSink() = default;
  // One JSON text: a stdio line, an HTTP JSON body, the data of one SSE event.
  virtual void OnText(std::string_view text) = 0;
  // A message larger than kMaxMcpFrameBytes was dropped: its size and first and last bytes.
  virtual void OnOversized(size_t size, std::string_view head, std::string_view tail) = 0;
  // The transport cannot carry messages any more (the process exited, the session is gone).
  // At most once per Open.
  virtual void OnClosed(const Error& why) = 0;
};

// One connection to one server. Send may be called from several threads at once.
class McpTransport {
 public:
  virtual ~McpTransport() = default;

  // Starts delivering to `sink`, which must outlive Close(). stdio spawns the process here, so
  // call it from a thread that lives as long as the process should (PR_SET_PDEATHSIG).
  [[nodiscard]] virtual Status Open(McpTransportSink& sink) = 0;

  // Sends one JSON-RPC message. Over HTTP, whatever the server answers (a JSON body or an SSE
  // stream) reaches the sink before Send returns; an HTTP error status is returned as an Error.
  [[nodiscard]] virtual Status Send(const std::string& message,
                                    std::chrono::steady_clock::time_point deadline) = 0;

  // The handshake finished with `protocol_version`. HTTP sends it as MCP-Protocol-Version from
  // now on and opens the GET stream on which servers push notifications.
  virtual void Initialized(const std::string& protocol_version) {}

  // Stops the process or ends the session; no sink call happens once this returns. Idempotent.
  virtual void Close() = 0;

  // The server's process id (stdio), else 0.
  [[nodiscard]] virtual int pid() const { return 0; }

  // The last lines the server wrote to stderr, for error messages; empty over HTTP.
  [[nodiscard]] virtual std::string RecentStderr() const { return {}; }
};

// A transport for `config` (its transport field decides which).
[[nodiscard]] std::unique_ptr<McpTransport> MakeMcpTransport(const McpServerConfig& config);

[[nodiscard]] std::unique_ptr<McpTransport> MakeStdioTransport(const McpServerConfig& config);
[[nodiscard]] std::unique_ptr<McpTransport> MakeHttpTransport(const McpServerConfig& config);

}  // namespace steward::tools::detail
