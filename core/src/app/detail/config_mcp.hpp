#pragma once
// The steward.yaml sections about tools: `mcp_servers:` (the MCP servers Steward is a client of)
// and `files:` (the folders file tools may touch).

#include "app/config.hpp"
#include "app/detail/config_reader.hpp"
#include "common/result.hpp"

namespace steward::app::detail {

// mcp_servers.<name>.{transport, command, args, env, cwd, append_file_roots, url, headers,
// timeout_s, enabled}. Replaces config.mcp_servers with the file's entries, in file order.
[[nodiscard]] Status ParseMcpServers(const Field& f, Config& config);

// files.roots: folders, relative ones resolved against the config file's directory.
[[nodiscard]] Status ParseFiles(const Field& f, Config& config);

}  // namespace steward::app::detail
