#pragma once
// `steward tools`: the tools agents can use right now, with the health of the servers behind
// them, from GET /api/tools.

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace steward::app {

// Two tables for an /api/tools answer ({servers, tools}):
//   SERVER  TRANSPORT  HEALTH      TOOLS  DETAIL
//   fs      stdio      ready          14  pid 4242, MCP 2025-11-25
//   TOOL               TIER  DESCRIPTION
//   fs.read_text_file  low   Read the complete contents of a file as text.
[[nodiscard]] std::string RenderTools(const nlohmann::json& answer);

// Fetches /api/tools and prints it (the raw JSON with `as_json`) to `out`, errors to `err`;
// returns the exit status.
int RunToolsCommand(const std::string& base_url, const std::string& token, bool as_json,
                    std::ostream& out, std::ostream& err);

}  // namespace steward::app
