#pragma once
// Wiring of the built-in web and email tool servers: defaults for files shipped with Steward,
// the corpus load, and registration in the hub.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "store/database.hpp"
#include "tools/builtin/builtin_config.hpp"
#include "tools/tool_registry.hpp"

namespace steward::tools::builtin {

// A file or directory shipped under config/ ("corpus", "feeds/hn_top.json"): looked for in
// config/ next to the running executable and up to four directories above it (a build tree or
// an installation), then in /opt/steward/config, /usr/share/steward and the config/ of the
// source tree the binary was built from. Empty when not found.
[[nodiscard]] std::filesystem::path FindShippedConfig(std::string_view relative);

// Registers "web" (unless config.web.enabled is false) and, when config.email.smtp_url is set,
// "email". A server named in `replaced_by_mcp` (the names of configured mcp_servers) is left to
// that MCP server: the owner's explicit configuration wins over a built-in (logged). An empty
// corpus or hn_fixture path means the shipped one. Errors: kConfig when a configured corpus
// cannot be loaded; registry conflicts. A missing shipped corpus only leaves web.search with
// nothing to find (logged).
[[nodiscard]] Status RegisterBuiltinTools(ToolRegistry& registry, store::Database& db,
                                          BuiltinToolsConfig config,
                                          const std::vector<std::string>& replaced_by_mcp = {});

}  // namespace steward::tools::builtin
