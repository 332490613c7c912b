// The stdio transport against real child processes: small shell scripts speaking just enough
// JSON-RPC, so pipes, stderr, exit statuses, environment and working directory are the real ones.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>

#include "tools/detail/mcp_transport.hpp"
#include "tools/mcp_client.hpp"

namespace steward::tools {
namespace {

using ::testing::HasSubstr;

constexpr const char* kInitializeAnswer =
    R"(printf '%s\n' "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocolVersion\":\"2025-06-18\",)"
    R"(\"capabilities\":{},\"serverInfo\":{\"name\":\"$NAME\",\"version\":\"$(pwd)\"}}}")";

struct ShellServer {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Error> closed;
  std::unique_ptr<McpClient> client;

  explicit ShellServer(const std::string& script, std::map<std::string, std::string> env = {},
                       std::string cwd = {}) {
    McpServerConfig config;
    config.name = "sh";
    config.command = "/bin/sh";
    config.args = {"-c", script};
    config.env = std::move(env);
    config.cwd = std::move(cwd);
    McpClientOptions options;
    options.server = "sh";
    options.timeout = std::chrono::seconds(10);
    options.on_closed = [this](const Error& why) {
      std::lock_guard lock(mu);
      closed = why;
      cv.notify_all();
    };
    client = std::make_unique<McpClient>(detail::MakeStdioTransport(config), std::move(options));
  }

  std::optional<Error> WaitClosed() {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [this] { return closed.has_value(); });
    return closed;
  }
};

TEST(McpStdioTransport, HandshakesThenReportsTheExitStatusAndLastStderrLine) {
  ShellServer server(std::string("read -r line; NAME=sh; ") + kInitializeAnswer +
                     "; read -r line; echo 'going down' >&2; exit 3");
  ASSERT_TRUE(server.client->Connect().ok());
  EXPECT_EQ(server.client->protocol_version(), "2025-06-18");
  EXPECT_GT(server.client->pid(), 0);
  auto closed = server.WaitClosed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_THAT(closed->message, HasSubstr("the server process exited with status 3"));
  EXPECT_THAT(closed->message, HasSubstr("going down"));
  auto later = server.client->ListTools();
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().code, ErrorCode::kUnavailable);
}

TEST(McpStdioTransport, GivesTheServerItsEnvAndCwdButNotStewardsSecrets) {
  ::setenv("STEWARD_TEST_PROVIDER_KEY", "sk-do-not-leak", 1);
  ShellServer server(std::string("read -r line; NAME=\"${STEWARD_TEST_PROVIDER_KEY}/${GIVEN}\"; ") +
                         kInitializeAnswer + "; read -r line; sleep 5",
                     {{"GIVEN", "yes"}}, "/tmp");
  ASSERT_TRUE(server.client->Connect().ok());
  ::unsetenv("STEWARD_TEST_PROVIDER_KEY");
  EXPECT_EQ(server.client->server_info()["name"], "/yes");
  EXPECT_EQ(server.client->server_info()["version"], "/tmp");
  server.client->Close();  // stops the sleeping script: closes stdin, then SIGTERM
}

TEST(McpStdioTransport, SkipsAnOversizedLineAndStaysInSync) {
  ShellServer server(std::string("read -r line; NAME=sh; ") + kInitializeAnswer +
                     "; read -r line; read -r line;"
                     " head -c 17000000 /dev/zero | tr '\\000' x; echo;"
                     R"( printf '%s\n' '{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"t","inputSchema":{"type":"object"}}]}}';)"
                     " sleep 5");
  ASSERT_TRUE(server.client->Connect().ok());
  auto tools = server.client->ListTools();
  ASSERT_TRUE(tools.ok()) << tools.error().ToString();
  ASSERT_EQ(tools->size(), 1u);
  EXPECT_EQ((*tools)[0].name, "t");
  EXPECT_EQ(server.client->stats().oversized, 1u);
  server.client->Close();
}

TEST(McpStdioTransport, AMissingCommandIsAClearError) {
  McpServerConfig config;
  config.name = "ghost";
  config.command = "no-such-mcp-server-anywhere";
  McpClientOptions options;
  options.server = "ghost";
  McpClient client(detail::MakeStdioTransport(config), options);
  Status connected = client.Connect();
  ASSERT_FALSE(connected.ok());
  EXPECT_EQ(connected.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(connected.error().message, HasSubstr("no-such-mcp-server-anywhere"));
  EXPECT_THAT(connected.error().message, HasSubstr("not found in PATH"));
}

}  // namespace
}  // namespace steward::tools
