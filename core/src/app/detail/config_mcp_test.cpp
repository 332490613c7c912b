#include "app/detail/config_mcp.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "app/config.hpp"

namespace steward::app {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Result<Config> Load(const std::string& yaml, std::map<std::string, std::string> vars = {}) {
  EnvLookup env = [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  return LoadConfigText(yaml, "steward.yaml", "/etc/steward", env);
}

const fs::path kExampleFile =
    fs::path(STEWARD_SOURCE_DIR) / "config" / "steward.example.yaml";

TEST(McpServersConfig, ReadsStdioAndHttpServersInFileOrder) {
  auto config = Load(R"(
files:
  roots: [/srv/docs, notes]
mcp_servers:
  fs:
    transport: stdio
    command: node
    args: [server.js, --verbose]
    env: {NODE_OPTIONS: "--max-old-space-size=256", TOKEN: "${GH}"}
    cwd: ../tools
    append_file_roots: true
    timeout_s: 2.5
  local:
    command: ./bin/server
  search:
    url: https://search.example/mcp
    headers: {Authorization: "Bearer ${SEARCH_TOKEN}"}
    enabled: no
)",
                     {{"GH", "gh-secret"}, {"SEARCH_TOKEN", "s3cret"}});
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_THAT(config->files.roots, ElementsAre("/srv/docs", "/etc/steward/notes"));
  ASSERT_EQ(config->mcp_servers.size(), 3u);

  const auto& fs_server = config->mcp_servers[0];
  EXPECT_EQ(fs_server.name, "fs");
  EXPECT_EQ(fs_server.transport, tools::McpTransportKind::kStdio);
  EXPECT_EQ(fs_server.command, "node");  // a bare name is looked up in PATH at start
  EXPECT_THAT(fs_server.args, ElementsAre("server.js", "--verbose"));
  EXPECT_EQ(fs_server.env.at("TOKEN"), "gh-secret");
  EXPECT_EQ(fs_server.env.at("NODE_OPTIONS"), "--max-old-space-size=256");
  EXPECT_EQ(fs_server.cwd, "/etc/tools");
  EXPECT_TRUE(fs_server.append_file_roots);
  EXPECT_EQ(fs_server.timeout, std::chrono::milliseconds(2500));
  EXPECT_TRUE(fs_server.enabled);

  const auto& local = config->mcp_servers[1];
  EXPECT_EQ(local.transport, tools::McpTransportKind::kStdio);  // inferred from command
  EXPECT_EQ(local.command, "/etc/steward/bin/server");
  EXPECT_EQ(local.timeout, std::chrono::seconds(60));

  const auto& search = config->mcp_servers[2];
  EXPECT_EQ(search.transport, tools::McpTransportKind::kHttp);  // inferred from url
  EXPECT_EQ(search.url, "https://search.example/mcp");
  EXPECT_EQ(search.headers.at("Authorization"), "Bearer s3cret");
  EXPECT_FALSE(search.enabled);
}

TEST(McpServersConfig, AFileListsExactlyItsServers) {
  auto none = Load("server: {listen: \"127.0.0.1:9000\"}\n");
  ASSERT_TRUE(none.ok()) << none.error().ToString();
  EXPECT_TRUE(none->mcp_servers.empty());
  EXPECT_TRUE(none->files.roots.empty());
  auto empty = Load("mcp_servers: {}\nfiles:\n");
  ASSERT_TRUE(empty.ok()) << empty.error().ToString();
  EXPECT_TRUE(empty->mcp_servers.empty());
}

TEST(McpServersConfig, TheExampleFileConfiguresTheFilesystemServer) {
  auto config = LoadConfigFile(kExampleFile, [](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  ASSERT_EQ(config->mcp_servers.size(), 1u);
  const auto& server = config->mcp_servers[0];
  EXPECT_EQ(server.name, "fs");
  EXPECT_TRUE(server.append_file_roots);
  EXPECT_EQ(fs::path(server.cwd).filename(), "tools");
  ASSERT_EQ(server.args.size(), 1u);
  EXPECT_THAT(server.args[0], HasSubstr("@modelcontextprotocol/server-filesystem"));
  // The path the example names is where setup.sh installs the package.
  EXPECT_EQ(fs::path(server.cwd) / server.args[0],
            (kExampleFile.parent_path() / ".." / "tools" / server.args[0]).lexically_normal());
}

struct BadCase {
  const char* yaml;
  const char* message;  // substring of the error message
  const char* where;    // substring of the error context
};

TEST(McpServersConfig, RejectsMistakesWithPreciseErrors) {
  const BadCase cases[] = {
      {"mcp_servers: {fs: {transport: pipe, command: x}}", "unknown transport \"pipe\" (expected stdio or http)",
       "mcp_servers.fs.transport"},
      {"mcp_servers: {fs: {transport: stdo, command: x}}", "did you mean \"stdio\"", "mcp_servers.fs.transport"},
      {"mcp_servers:\n  fs:\n", "expected a mapping with transport", "mcp_servers.fs"},
      {"mcp_servers: {fs: {transport: stdio}}", "missing required key \"command\"", "mcp_servers.fs.command"},
      {"mcp_servers: {fs: {transport: http}}", "missing required key \"url\"", "mcp_servers.fs.url"},
      {"mcp_servers: {fs: {args: [x]}}", "missing required key \"command\" (a stdio server's program",
       "mcp_servers.fs.transport"},
      {"mcp_servers: {fs: {url: ftp://x/mcp}}", "expected an http:// or https:// URL", "mcp_servers.fs.url"},
      {"mcp_servers: {fs: {command: x, url: \"http://a/mcp\"}}", "both command and url are set",
       "mcp_servers.fs.transport"},
      {"mcp_servers: {fs: {command: x, headers: {A: b}}}", "headers is not used by transport \"stdio\"",
       "mcp_servers.fs.headers"},
      {"mcp_servers: {fs: {url: \"http://a/mcp\", args: [x]}}", "args is not used by transport \"http\"",
       "mcp_servers.fs.args"},
      {"mcp_servers: {fs: {url: \"http://a/mcp\", append_file_roots: true}}",
       "append_file_roots is not used by transport \"http\"", "mcp_servers.fs.append_file_roots"},
      {"mcp_servers: {\"a.b\": {command: x}}", "invalid MCP server name \"a.b\"", "mcp_servers"},
      {"mcp_servers: {fs: {command: x, timeout_s: 0}}", "a number of seconds between 0.001 and 86400",
       "mcp_servers.fs.timeout_s"},
      {"mcp_servers: {fs: {command: x, enabled: maybe}}", "expected true or false, got \"maybe\"",
       "mcp_servers.fs.enabled"},
      {"mcp_servers: {fs: {command: x, env: {1X: y}}}", "invalid environment variable name \"1X\"",
       "mcp_servers.fs"},
      {"mcp_servers: {fs: {command: x, env: {X: [1]}}}", "expected a string", "mcp_servers.fs.env.X"},
      {"mcp_servers: {fs: {command: x, args: x}}", "expected a list of strings", "mcp_servers.fs.args"},
      {"mcp_servers: {fs: {command: x, bogus: 1}}", "unknown key \"bogus\"", "mcp_servers.fs.bogus"},
      {"mcp_servers: {fs: {command: x, cwd: \"\"}}", "expected a directory", "mcp_servers.fs.cwd"},
      {"mcp_servers: {fs: {command: \"${NOPE}\"}}", "environment variable NOPE is not set",
       "mcp_servers.fs.command"},
      {"mcp_servers: [fs]", "expected a mapping of names", "mcp_servers"},
      {"files: {roots: /srv}", "expected a list of strings", "files.roots"},
      {"files: {root: [/srv]}", "did you mean \"roots\"", "files.root"},
  };
  for (const auto& c : cases) {
    auto config = Load(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.error().code, ErrorCode::kConfig) << c.yaml;
    EXPECT_THAT(config.error().message, HasSubstr(c.message)) << c.yaml;
    EXPECT_THAT(config.error().context, HasSubstr(c.where)) << c.yaml;
    EXPECT_THAT(config.error().context, HasSubstr("steward.yaml")) << c.yaml;
  }
}

TEST(McpServersConfig, SecretsReadFromTheEnvironmentAreNotQuotedInErrors) {
  auto config = Load("mcp_servers: {s: {url: \"${URL}\"}}", {{"URL", "ftp://user:hunter2@host"}});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().message, HasSubstr("${URL}"));
  EXPECT_THAT(config.error().message, ::testing::Not(HasSubstr("hunter2")));
}

}  // namespace
}  // namespace steward::app
