#pragma once
// How Steward reaches one MCP server it is a client of: the `mcp_servers.<name>` entry of
// steward.yaml after validation.

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace steward::tools {

enum class McpTransportKind {
  kStdio,  // a child process speaking newline-delimited JSON-RPC on stdin/stdout
  kHttp,   // the Streamable HTTP transport (POST, answered with JSON or an SSE stream)
};

// "stdio" or "http".
[[nodiscard]] constexpr std::string_view TransportName(McpTransportKind t) {
  return t == McpTransportKind::kStdio ? "stdio" : "http";
}

struct McpServerConfig {
  std::string name;  // the registry namespace: its tools appear as "<name>.<tool>"
  McpTransportKind transport = McpTransportKind::kStdio;
  // stdio
  std::string command;                     // resolved through PATH unless it holds a '/'
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // added to the inherited environment
  std::string cwd;                         // absolute; empty: Steward's own
  // Append the configured file roots (files.roots) to args when the server starts; how the
  // filesystem server learns which folders it may touch.
  bool append_file_roots = false;
  // http
  std::string url;
  std::map<std::string, std::string> headers;  // e.g. Authorization
  // Per request (initialize, tools/list, tools/call): a call still unanswered then fails with
  // kDeadlineExceeded and the server is told to cancel it.
  std::chrono::milliseconds timeout{60'000};
  bool enabled = true;  // false: listed as disabled, never started
};

}  // namespace steward::tools
