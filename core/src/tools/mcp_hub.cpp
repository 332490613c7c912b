#include "tools/mcp_hub.hpp"

#include <spdlog/spdlog.h>

namespace steward::tools {

McpHub::McpHub(ToolRegistry& registry, McpHubOptions options)
    : registry_(registry), options_(std::move(options)) {}

McpHub::~McpHub() { Stop(); }

Status McpHub::Start(const std::vector<McpServerConfig>& servers) {
  for (const auto& config : servers) {
    auto provider = std::make_shared<McpServerProvider>(config, options_.provider);
    if (Status registered = registry_.Register(provider); !registered.ok()) {
      return MakeError(ErrorCode::kConfig,
                       "cannot add MCP server '" + config.name + "': " + registered.error().message +
                           " (choose another name under mcp_servers:)",
                       "mcp_servers." + config.name);
    }
    servers_.push_back(std::move(provider));
  }
  for (const auto& server : servers_) server->Start();
  const auto deadline = std::chrono::steady_clock::now() + options_.startup_wait;
  for (const auto& server : servers_) {
    if (!server->config().enabled) {
      spdlog::info("mcp {}: disabled in the configuration", server->config().name);
      continue;
    }
    const auto left = std::max(std::chrono::milliseconds(0),
                               std::chrono::duration_cast<std::chrono::milliseconds>(
                                   deadline - std::chrono::steady_clock::now()));
    if (!server->WaitForFirstAttempt(left)) {
      const McpServerHealth health = server->Health();
      spdlog::warn("mcp {}: not ready ({}{}); Steward runs without it until it is",
                   health.name, StateName(health.state),
                   health.last_error.empty() ? "" : ": " + health.last_error);
    }
  }
  return Status::Ok();
}

std::vector<McpServerHealth> McpHub::Health() const {
  std::vector<McpServerHealth> out;
  out.reserve(servers_.size());
  for (const auto& server : servers_) out.push_back(server->Health());
  return out;
}

void McpHub::Stop() {
  for (const auto& server : servers_) registry_.Unregister(server->server());
  // Stopped together: each waits up to a couple of seconds for its process to exit.
  std::vector<std::thread> stoppers;
  for (const auto& server : servers_) stoppers.emplace_back([server] { server->Stop(); });
  for (auto& t : stoppers) t.join();
}

}  // namespace steward::tools
