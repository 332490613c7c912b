#pragma once
// The offline provider's tool-gap detection: requests whose intent needs a capability no
// offered tool provides (sending email, posting to a chat, buying, booking, scheduling, running
// commands, the web, writing files). For each, the offline model still does what it can (drafts
// the email, writes the message) and files a tool-gap report (docs/tool-gap-report.schema.json)
// as a fenced ```steward-tool-gap block at the end of its answer. Pure functions.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/detail/offline_rules.hpp"
#include "models/detail/offline_text.hpp"

namespace steward::models::detail {

// A capability the request needs and no offered tool provides.
struct ToolGap {
  std::string doing;      // "send email", for sentences: "I can't send email here"
  std::string attempted;  // what the answer does instead, for the report
  std::string attempt;    // the answer's part that does it (a draft), may be empty
  Json missing_tool;      // {name, description, inputs, outputs, estimated_risk}
  std::string server;     // the proposed MCP server's name ("email")
  std::string server_description;
};

// The gaps in `text` given the offered `tools` (possibly none), in a fixed order, at most one
// per capability. Empty when every capability the text asks for is covered or none is asked.
[[nodiscard]] std::vector<ToolGap> FindToolGaps(const NormalizedText& text, const std::vector<OfferedTool>& tools);

// The tool-gap report for `gaps` (non-empty): task, attempted, missing_tools,
// existing_tools_checked (each offered tool, or tools/list when none) and proposed_mcp_server.
[[nodiscard]] Json BuildToolGapReport(const NormalizedText& text, const std::vector<ToolGap>& gaps,
                                      const std::vector<OfferedTool>& tools);

// The answer's explanation for `gaps`: what can't be done and why, each attempt, and a pointer
// to the report.
[[nodiscard]] std::string ToolGapAnswer(const std::vector<ToolGap>& gaps, const std::vector<OfferedTool>& tools);

// The fenced block that ends the answer: "```steward-tool-gap\n{…}\n```\n".
[[nodiscard]] std::string ToolGapBlock(const Json& report);

}  // namespace steward::models::detail
