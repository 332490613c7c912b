#pragma once
// The MCP servers Steward starts: the bundled filesystem server (found next to the installation)
// and the configured ones made ready to launch (file roots resolved and created).

#include <filesystem>
#include <optional>
#include <vector>

#include "app/config.hpp"
#include "common/result.hpp"
#include "tools/mcp_server_config.hpp"

namespace steward::app {

// Where the npm-installed servers live: $STEWARD_TOOLS_DIR, else a `tools/` folder with
// node_modules next to the installation (searched upward from the executable, as for .venv),
// else /opt/steward/tools. Empty when none exists.
[[nodiscard]] std::filesystem::path FindToolsDir();

// The official @modelcontextprotocol/server-filesystem as server `fs` (stdio, node), confined to
// files.roots; nullopt unless both node (in PATH) and the package are installed.
[[nodiscard]] std::optional<tools::McpServerConfig> FindBundledFilesServer();

// The file roots in force: config.files.roots, or <home>/files when none are set. Each is
// created (mode 0700) if missing; an error names a root that cannot be.
[[nodiscard]] Result<std::vector<std::string>> PrepareFileRoots(const Config& config,
                                                               const std::filesystem::path& home);

// config.mcp_servers ready for the hub: `append_file_roots` servers get the roots as arguments.
[[nodiscard]] Result<std::vector<tools::McpServerConfig>> PrepareMcpServers(
    const Config& config, const std::filesystem::path& home);

}  // namespace steward::app
