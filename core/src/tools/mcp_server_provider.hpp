#pragma once
// One configured MCP server as a ToolProvider: its tools under the server's config name
// ("fs.read_text_file"), kept connected by a supervisor thread that starts it, refreshes its tool
// list on notifications/tools/list_changed, and restarts it with backoff when it dies.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "tools/detail/mcp_transport.hpp"
#include "tools/mcp_client.hpp"
#include "tools/mcp_server_config.hpp"
#include "tools/tool.hpp"

namespace steward::tools {

enum class McpServerState {
  kStarting,    // first connection attempt running
  kReady,       // connected; calls go through
  kRestarting,  // it failed or died; waiting out the backoff or reconnecting
  kDisabled,    // enabled: false in the config
  kStopped,     // Stop() was called
};

// "starting", "ready", "restarting", "disabled", "stopped".
[[nodiscard]] std::string_view StateName(McpServerState state);

// A snapshot of one server's state for /api/tools and `steward tools`.
struct McpServerHealth {
  std::string name;
  McpTransportKind transport = McpTransportKind::kStdio;
  McpServerState state = McpServerState::kStarting;
  size_t tool_count = 0;
  std::string last_error;  // the latest failure or bad frame; empty when there was none
  int pid = 0;             // the process of a running stdio server
  int restarts = 0;        // reconnections after the first successful start
  std::string protocol_version;
  nlohmann::json server_info = nlohmann::json::object();
  McpFrameStats frames;
  std::chrono::milliseconds retry_in{0};  // while restarting: until the next attempt
};

struct McpProviderOptions {
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{60'000};
  // A server that stayed up this long restarts after initial_backoff again.
  std::chrono::milliseconds healthy_reset{60'000};
  // Builds the transport for each connection attempt; tests substitute fakes.
  std::function<std::unique_ptr<detail::McpTransport>(const McpServerConfig&)> make_transport =
      detail::MakeMcpTransport;
};

// Thread-safe. Call, ListTools and Health may run on any thread; Start/Stop from one owner.
class McpServerProvider final : public ToolProvider {
 public:
  explicit McpServerProvider(McpServerConfig config, McpProviderOptions options = {});
  ~McpServerProvider() override;  // Stop()
  McpServerProvider(const McpServerProvider&) = delete;
  McpServerProvider& operator=(const McpServerProvider&) = delete;

  // Starts the supervisor thread (which spawns the server); a disabled server stays disabled.
  void Start();

  // Waits until the first connection attempt has finished, at most `limit`; true if ready.
  [[nodiscard]] bool WaitForFirstAttempt(std::chrono::milliseconds limit);

  // Stops the server; calls running on it fail with kUnavailable. Idempotent.
  void Stop();

  [[nodiscard]] McpServerHealth Health() const;
  [[nodiscard]] const McpServerConfig& config() const { return config_; }

  // ToolProvider. ListTools keeps the last known list while the server restarts, so a call in
  // that window reaches Call and fails fast with kUnavailable naming the server.
  [[nodiscard]] std::string_view server() const override { return config_.name; }
  [[nodiscard]] std::vector<ToolInfo> ListTools() const override;
  [[nodiscard]] std::shared_ptr<const ToolInfo> FindTool(std::string_view name) const override;
  [[nodiscard]] Result<ToolCallResult> Call(std::string_view tool, const nlohmann::json& args,
                                            const CallContext& ctx) override;

 private:
  void Supervise();
  // Connects a new client and lists its tools; the client on success.
  Result<std::shared_ptr<McpClient>> Connect();
  // Serves `client` until it closes or Stop; refreshes tools on list_changed.
  void Serve(const std::shared_ptr<McpClient>& client);
  void SetTools(const std::vector<McpToolDefinition>& defs);
  // Sleeps `delay` unless stopped first; false when stopped.
  bool WaitBackoff(std::chrono::milliseconds delay);
  Error Unavailable() const;

  const McpServerConfig config_;
  const McpProviderOptions options_;
  std::thread supervisor_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;             // guarded by mu_
  bool closed_ = false;               // the current client's transport ended; guarded by mu_
  bool refresh_ = false;              // list_changed arrived; guarded by mu_
  bool first_attempt_done_ = false;   // guarded by mu_
  McpServerState state_;              // guarded by mu_
  std::shared_ptr<McpClient> client_;  // set while ready; guarded by mu_
  std::shared_ptr<McpClient> connecting_;  // during Connect, so Stop can cut it short; guarded by mu_
  // Replaced whole on refresh, never modified, so FindTool can hand out pointers into it that
  // stay valid (each keeps its list alive) after a refresh.
  std::shared_ptr<const std::vector<ToolInfo>> tools_ = std::make_shared<const std::vector<ToolInfo>>();  // guarded by mu_
  std::string last_error_;             // guarded by mu_
  int restarts_ = 0;                   // guarded by mu_
  int pid_ = 0;                        // guarded by mu_
  std::string protocol_version_;       // guarded by mu_
  nlohmann::json server_info_ = nlohmann::json::object();  // guarded by mu_
  McpFrameStats frames_;               // of clients that are gone; guarded by mu_
  std::chrono::steady_clock::time_point retry_at_{};  // guarded by mu_
};

}  // namespace steward::tools
