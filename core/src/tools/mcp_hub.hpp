#pragma once
// Every MCP server in the configuration, as tool providers in the registry: started together,
// reported together (/api/tools), stopped together.

#include <chrono>
#include <memory>
#include <vector>

#include "common/result.hpp"
#include "tools/mcp_server_config.hpp"
#include "tools/mcp_server_provider.hpp"
#include "tools/tool_registry.hpp"

namespace steward::tools {

struct McpHubOptions {
  // How long Start waits for the servers' first connection attempts (they run in parallel).
  // A server still starting after that keeps starting in the background.
  std::chrono::milliseconds startup_wait{15'000};
  McpProviderOptions provider;
};

// Start and Stop from one thread; Health from any.
class McpHub final {
 public:
  // `registry` must outlive the hub.
  explicit McpHub(ToolRegistry& registry, McpHubOptions options = {});
  ~McpHub();  // Stop()
  McpHub(const McpHub&) = delete;
  McpHub& operator=(const McpHub&) = delete;

  // Registers one provider per server (disabled ones too, so they are listed) and starts the
  // enabled ones. A server that cannot start is logged and left restarting in the background:
  // Steward runs without it. Errors only for a name the registry refuses (kConfig: taken by
  // another tool server, or containing '.').
  [[nodiscard]] Status Start(const std::vector<McpServerConfig>& servers);

  // One entry per configured server, in configuration order.
  [[nodiscard]] std::vector<McpServerHealth> Health() const;

  // Unregisters and stops every server. Idempotent.
  void Stop();

 private:
  ToolRegistry& registry_;
  const McpHubOptions options_;
  std::vector<std::shared_ptr<McpServerProvider>> servers_;
};

}  // namespace steward::tools
