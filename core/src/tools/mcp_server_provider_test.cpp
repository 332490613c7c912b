#include "tools/mcp_server_provider.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tools/mcp_hub.hpp"
#include "tools/testing/fake_mcp_transport.hpp"
#include "tools/tool_registry.hpp"

namespace steward::tools {
namespace {

using nlohmann::json;
using testing::FakeMcpServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Polls `condition` for up to 5 s.
template <typename F>
bool Eventually(F condition) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

// A fake server offering `tools` (names), answering tools/call with the tool's name.
class ToolServer {
 public:
  explicit ToolServer(std::vector<std::string> tools) : tools_(std::move(tools)) {
    server.SetHandler([this](const json& m) -> std::vector<std::string> {
      const std::string method = m.value("method", "");
      if (method == "initialize") return {FakeMcpServer::InitializeResult(m["id"])};
      if (method == "tools/list") {
        json list = json::array();
        std::lock_guard lock(mu_);
        for (const auto& name : tools_) {
          list.push_back({{"name", name}, {"description", name}, {"inputSchema", {{"type", "object"}}}});
        }
        return {FakeMcpServer::Result(m["id"], {{"tools", list}})};
      }
      if (method == "tools/call") {
        return {FakeMcpServer::Result(
            m["id"], {{"content", {{{"type", "text"}, {"text", "ran " + m["params"]["name"].get<std::string>()}}}}})};
      }
      return {};
    });
  }
  void SetTools(std::vector<std::string> tools) {
    std::lock_guard lock(mu_);
    tools_ = std::move(tools);
  }
  McpProviderOptions Options() {
    McpProviderOptions options;
    options.initial_backoff = std::chrono::milliseconds(300);
    options.max_backoff = std::chrono::milliseconds(1000);
    options.make_transport = [this](const McpServerConfig&) { return server.MakeTransport(); };
    return options;
  }

  FakeMcpServer server;

 private:
  std::mutex mu_;
  std::vector<std::string> tools_;
};

McpServerConfig Config(std::string name = "fake") {
  McpServerConfig config;
  config.name = std::move(name);
  config.command = "unused";
  config.timeout = std::chrono::milliseconds(2000);
  return config;
}

std::vector<std::string> Names(const std::vector<ToolInfo>& tools) {
  std::vector<std::string> out;
  for (const auto& t : tools) out.push_back(t.name);
  return out;
}

TEST(McpServerProvider, ListsTheServersToolsNamespacedWithTheirDefaultTier) {
  ToolServer fake({"read_text_file", "write_file"});
  McpServerProvider provider(Config("fs"), fake.Options());
  provider.Start();
  ASSERT_TRUE(provider.WaitForFirstAttempt(std::chrono::seconds(5)));
  const auto tools = provider.ListTools();
  ASSERT_THAT(Names(tools), ElementsAre("fs.read_text_file", "fs.write_file"));
  EXPECT_EQ(tools[0].server, "fs");
  EXPECT_EQ(tools[0].risk_tier, "low");
  EXPECT_EQ(tools[1].risk_tier, "high");
  auto result = provider.Call("read_text_file", json::object(), CallContext{});
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->content[0]["text"], "ran read_text_file");
  const McpServerHealth health = provider.Health();
  EXPECT_EQ(health.state, McpServerState::kReady);
  EXPECT_EQ(health.tool_count, 2u);
  EXPECT_EQ(health.protocol_version, "2025-11-25");
}

TEST(McpServerProvider, AServersAnnotationsCanRaiseATierButNotLowerIt) {
  ToolServer fake({});
  FakeMcpServer& server = fake.server;
  server.SetHandler([](const json& m) -> std::vector<std::string> {
    const std::string method = m.value("method", "");
    if (method == "initialize") return {FakeMcpServer::InitializeResult(m["id"])};
    if (method == "tools/list") {
      json tools = {{{"name", "read_and_wipe"}, {"annotations", {{"destructiveHint", true}}}},
                    {{"name", "write_file"}, {"annotations", {{"readOnlyHint", true}}}}};
      return {FakeMcpServer::Result(m["id"], {{"tools", tools}})};
    }
    return {};
  });
  McpServerProvider provider(Config("fs"), fake.Options());
  provider.Start();
  ASSERT_TRUE(provider.WaitForFirstAttempt(std::chrono::seconds(5)));
  const auto tools = provider.ListTools();
  ASSERT_THAT(Names(tools), ElementsAre("fs.read_and_wipe", "fs.write_file"));
  EXPECT_EQ(tools[0].risk_tier, "high");
  EXPECT_EQ(tools[1].risk_tier, "high");
}

TEST(McpServerProvider, RefreshesItsToolsOnListChanged) {
  ToolServer fake({"a"});
  McpServerProvider provider(Config(), fake.Options());
  provider.Start();
  ASSERT_TRUE(provider.WaitForFirstAttempt(std::chrono::seconds(5)));
  // What a call in flight holds: it must outlive the list it came from.
  std::shared_ptr<const ToolInfo> before = provider.FindTool("fake.a");
  ASSERT_NE(before, nullptr);
  EXPECT_EQ(provider.FindTool("fake.b"), nullptr);
  fake.SetTools({"a", "b"});
  fake.server.Push(R"({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})");
  EXPECT_TRUE(Eventually([&] { return provider.ListTools().size() == 2; }));
  EXPECT_THAT(Names(provider.ListTools()), ElementsAre("fake.a", "fake.b"));
  EXPECT_EQ(before->name, "fake.a");
  EXPECT_EQ(before->server, "fake");
  ASSERT_NE(provider.FindTool("fake.b"), nullptr);
  EXPECT_EQ(provider.FindTool("fake.b")->name, "fake.b");
  EXPECT_NE(provider.FindTool("fake.a").get(), before.get());  // from the new list
}

TEST(McpServerProvider, RestartsACrashedServerAndFailsFastMeanwhile) {
  ToolServer fake({"a"});
  McpServerProvider provider(Config(), fake.Options());
  provider.Start();
  ASSERT_TRUE(provider.WaitForFirstAttempt(std::chrono::seconds(5)));
  fake.server.Crash("the server process was killed by signal 9 (SIGKILL)");

  ASSERT_TRUE(Eventually([&] { return provider.Health().state == McpServerState::kRestarting; }));
  const auto started = std::chrono::steady_clock::now();
  auto during = provider.Call("a", json::object(), CallContext{});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(100));
  ASSERT_FALSE(during.ok());
  EXPECT_EQ(during.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(during.error().message, HasSubstr("MCP server 'fake' is restarting"));
  EXPECT_THAT(during.error().message, HasSubstr("SIGKILL"));
  // The last known tools stay listed, so the call reached the provider and said why.
  EXPECT_EQ(provider.ListTools().size(), 1u);

  ASSERT_TRUE(Eventually([&] { return provider.Health().state == McpServerState::kReady; }));
  EXPECT_EQ(fake.server.opens(), 2);
  EXPECT_EQ(provider.Health().restarts, 1);
  EXPECT_TRUE(provider.Call("a", json::object(), CallContext{}).ok());
}

TEST(McpServerProvider, AServerThatCannotStartIsUnhealthyAndRetried) {
  ToolServer fake({"a"});
  fake.server.FailOpen("`no-such-server` was not found in PATH");
  McpServerProvider provider(Config(), fake.Options());
  provider.Start();
  EXPECT_FALSE(provider.WaitForFirstAttempt(std::chrono::seconds(5)));
  const McpServerHealth health = provider.Health();
  EXPECT_EQ(health.state, McpServerState::kRestarting);
  EXPECT_THAT(health.last_error, HasSubstr("no-such-server"));
  EXPECT_TRUE(provider.ListTools().empty());
  auto call = provider.Call("a", json::object(), CallContext{});
  ASSERT_FALSE(call.ok());
  EXPECT_THAT(call.error().message, HasSubstr("no-such-server"));
  EXPECT_TRUE(Eventually([&] { return fake.server.opens() >= 2; }));  // retried after the backoff
}

TEST(McpServerProvider, ADisabledServerNeverStarts) {
  ToolServer fake({"a"});
  McpServerConfig config = Config();
  config.enabled = false;
  McpServerProvider provider(config, fake.Options());
  provider.Start();
  EXPECT_FALSE(provider.WaitForFirstAttempt(std::chrono::milliseconds(200)));
  EXPECT_EQ(provider.Health().state, McpServerState::kDisabled);
  EXPECT_EQ(fake.server.opens(), 0);
  auto call = provider.Call("a", json::object(), CallContext{});
  ASSERT_FALSE(call.ok());
  EXPECT_THAT(call.error().message, HasSubstr("disabled"));
}

TEST(McpServerProvider, ProgressBecomesRunStatusEvents) {
  ToolServer fake({"slow"});
  FakeMcpServer& server = fake.server;
  server.SetHandler([&server](const json& m) -> std::vector<std::string> {
    const std::string method = m.value("method", "");
    if (method == "initialize") return {FakeMcpServer::InitializeResult(m["id"])};
    if (method == "tools/list") {
      return {FakeMcpServer::Result(m["id"], {{"tools", {{{"name", "slow"}, {"inputSchema", {{"type", "object"}}}}}}})};
    }
    if (method == "tools/call") {
      server.Push(json({{"jsonrpc", "2.0"}, {"method", "notifications/progress"},
                        {"params", {{"progressToken", m["params"]["_meta"]["progressToken"]},
                                    {"progress", 23}, {"message", "fetching… 23 articles"}}}})
                      .dump());
      return {FakeMcpServer::Result(m["id"], {{"content", json::array()}})};
    }
    return {};
  });
  McpServerProvider provider(Config(), fake.Options());
  provider.Start();
  ASSERT_TRUE(provider.WaitForFirstAttempt(std::chrono::seconds(5)));
  std::vector<json> events;
  CallContext ctx;
  ctx.run_id = "r1";
  ctx.emit = [&](std::string_view type, const json& data) {
    if (type == "status") events.push_back(data);
  };
  ASSERT_TRUE(provider.Call("slow", json::object(), ctx).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["text"], "fake.slow: fetching… 23 articles");
  EXPECT_EQ(events[0]["run_id"], "r1");
}

TEST(McpHub, RegistersEveryServerAndRefusesATakenName) {
  ToolServer fake({"a"});
  ToolRegistry registry;
  McpHubOptions options;
  options.provider = fake.Options();
  McpHub hub(registry, options);
  McpServerConfig disabled = Config("off");
  disabled.enabled = false;
  ASSERT_TRUE(hub.Start({Config("one"), disabled}).ok());
  EXPECT_THAT(Names(registry.ListAll()), ElementsAre("one.a"));
  const auto health = hub.Health();
  ASSERT_EQ(health.size(), 2u);
  EXPECT_EQ(health[0].state, McpServerState::kReady);
  EXPECT_EQ(health[1].state, McpServerState::kDisabled);

  CallContext ctx;
  ctx.allowed_tools = {"one.*"};
  auto result = registry.Call("one.a", json::object(), ctx);
  ASSERT_TRUE(result.ok()) << result.error().ToString();

  McpHub second(registry, options);
  Status clash = second.Start({Config("one")});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, ErrorCode::kConfig);
  EXPECT_EQ(clash.error().context, "mcp_servers.one");

  hub.Stop();
  EXPECT_TRUE(registry.ListAll().empty());
}

}  // namespace
}  // namespace steward::tools
