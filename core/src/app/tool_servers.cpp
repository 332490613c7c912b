#include "app/tool_servers.hpp"

#include <cstdlib>
#include <system_error>

#include "runners/detail/subprocess.hpp"

namespace steward::app {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFilesServerScript =
    "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js";

}  // namespace

fs::path FindToolsDir() {
  std::error_code ec;
  if (const char* env = std::getenv("STEWARD_TOOLS_DIR"); env != nullptr && *env != '\0') {
    return fs::is_directory(env, ec) ? fs::path(env) : fs::path();
  }
  fs::path dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (int up = 0; up < 5 && !dir.empty(); ++up, dir = dir.parent_path()) {
    if (fs::is_directory(dir / "tools" / "node_modules", ec)) return dir / "tools";
    if (dir == dir.root_path()) break;
  }
  if (fs::is_directory("/opt/steward/tools/node_modules", ec)) return "/opt/steward/tools";
  return {};
}

std::optional<tools::McpServerConfig> FindBundledFilesServer() {
  const fs::path tools_dir = FindToolsDir();
  if (tools_dir.empty()) return std::nullopt;
  std::error_code ec;
  const fs::path script = tools_dir / kFilesServerScript;
  if (!fs::is_regular_file(script, ec)) return std::nullopt;
  const char* path = std::getenv("PATH");
  auto node = runners::detail::ResolveExecutable("node", path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  if (!node.ok()) return std::nullopt;
  tools::McpServerConfig server;
  server.name = "fs";
  server.transport = tools::McpTransportKind::kStdio;
  server.command = *node;
  server.args = {script.string()};
  server.append_file_roots = true;
  return server;
}

Result<std::vector<std::string>> PrepareFileRoots(const Config& config, const fs::path& home) {
  std::vector<std::string> roots = config.files.roots;
  if (roots.empty()) roots.push_back((home / "files").string());
  for (const auto& root : roots) {
    std::error_code ec;
    if (fs::is_directory(root, ec)) continue;
    fs::create_directories(root, ec);
    if (ec) {
      return MakeError(ErrorCode::kConfig, "cannot create the file root " + root + ": " + ec.message(),
                       "files.roots");
    }
    fs::permissions(root, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  return roots;
}

Result<std::vector<tools::McpServerConfig>> PrepareMcpServers(const Config& config,
                                                              const fs::path& home) {
  std::vector<tools::McpServerConfig> servers = config.mcp_servers;
  std::optional<std::vector<std::string>> roots;
  for (auto& server : servers) {
    if (!server.append_file_roots || !server.enabled) continue;
    if (!roots) {
      auto prepared = PrepareFileRoots(config, home);
      if (!prepared.ok()) return prepared.error();
      roots = std::move(*prepared);
    }
    server.args.insert(server.args.end(), roots->begin(), roots->end());
  }
  return servers;
}

}  // namespace steward::app
