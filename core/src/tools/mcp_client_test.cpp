#include "tools/mcp_client.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tools/mcp_endpoint.hpp"
#include "tools/testing/fake_mcp_transport.hpp"

namespace steward::tools {
namespace {

using nlohmann::json;
using testing::FakeMcpServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A client on a fake server that answers initialize (with `version`) and tools/list with
// `tools` on one page; other methods go to `more` when set.
struct Harness {
  FakeMcpServer server;
  std::vector<std::string> problems;
  std::atomic<int> tools_changed{0};
  std::unique_ptr<McpClient> client;

  explicit Harness(std::string version = "2025-11-25",
                   std::function<std::vector<std::string>(const json&)> more = nullptr) {
    server.SetHandler([version, more](const json& m) -> std::vector<std::string> {
      const std::string method = m.value("method", "");
      if (method == "initialize") return {FakeMcpServer::InitializeResult(m["id"], version)};
      // Notifications and the client's replies to server requests need no answer.
      if (more && !method.empty() && m.contains("id")) return more(m);
      return {};
    });
    McpClientOptions options;
    options.server = "fake";
    options.timeout = std::chrono::milliseconds(2000);
    options.on_problem = [this](const std::string& p) { problems.push_back(p); };
    options.on_tools_changed = [this] { ++tools_changed; };
    client = std::make_unique<McpClient>(server.MakeTransport(), std::move(options));
  }
};

json Tool(const std::string& name) {
  return {{"name", name}, {"description", "does " + name}, {"inputSchema", {{"type", "object"}}}};
}

TEST(McpClient, OffersTheLatestVersionAndAcceptsAnOlderOneTheServerKnows) {
  Harness h("2025-03-26");
  ASSERT_TRUE(h.client->Connect().ok());
  const auto init = h.server.sent("initialize");
  ASSERT_EQ(init.size(), 1u);
  EXPECT_EQ(init[0]["params"]["protocolVersion"], std::string(kMcpLatestProtocolVersion));
  EXPECT_EQ(init[0]["params"]["clientInfo"]["name"], "steward");
  EXPECT_EQ(h.client->protocol_version(), "2025-03-26");
  EXPECT_EQ(h.client->server_info()["name"], "fake");
  // initialized follows initialize, as a notification.
  const auto sent = h.server.sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1]["method"], "notifications/initialized");
  EXPECT_FALSE(sent[1].contains("id"));
}

TEST(McpClient, RefusesAProtocolVersionItDoesNotSpeak) {
  Harness h("1999-01-01");
  Status connected = h.client->Connect();
  ASSERT_FALSE(connected.ok());
  EXPECT_EQ(connected.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(connected.error().message, HasSubstr("1999-01-01"));
  EXPECT_THAT(connected.error().message, HasSubstr("2025-06-18"));
  EXPECT_TRUE(h.server.sent("notifications/initialized").empty());
}

TEST(McpClient, ListToolsFollowsCursorsAcrossPages) {
  Harness h("2025-11-25", [](const json& m) -> std::vector<std::string> {
    const std::string cursor = m["params"].value("cursor", "");
    if (cursor.empty()) {
      return {FakeMcpServer::Result(m["id"], {{"tools", {Tool("a"), Tool("b")}}, {"nextCursor", "p2"}})};
    }
    if (cursor == "p2") {
      return {FakeMcpServer::Result(m["id"], {{"tools", {Tool("c")}}, {"nextCursor", "p3"}})};
    }
    return {FakeMcpServer::Result(m["id"], {{"tools", {Tool("d")}}})};
  });
  ASSERT_TRUE(h.client->Connect().ok());
  auto tools = h.client->ListTools();
  ASSERT_TRUE(tools.ok()) << tools.error().ToString();
  std::vector<std::string> names;
  for (const auto& t : *tools) names.push_back(t.name);
  EXPECT_THAT(names, ElementsAre("a", "b", "c", "d"));
  const auto lists = h.server.sent("tools/list");
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_FALSE(lists[0]["params"].contains("cursor"));
  EXPECT_EQ(lists[1]["params"]["cursor"], "p2");
  EXPECT_EQ(lists[2]["params"]["cursor"], "p3");
}

TEST(McpClient, ListToolsStopsAPaginationLoop) {
  Harness h("2025-11-25", [](const json& m) -> std::vector<std::string> {
    return {FakeMcpServer::Result(m["id"], {{"tools", {Tool("a")}}, {"nextCursor", "same"}})};
  });
  ASSERT_TRUE(h.client->Connect().ok());
  auto tools = h.client->ListTools();
  ASSERT_FALSE(tools.ok());
  EXPECT_THAT(tools.error().message, HasSubstr("repeated the tools/list cursor"));
  EXPECT_LE(h.server.sent("tools/list").size(), 3u);
}

TEST(McpClient, ListToolsSkipsUnusableToolsAndSaysSo) {
  Harness h("2025-11-25", [](const json& m) -> std::vector<std::string> {
    json tools = {Tool("ok"), {{"description", "no name"}}, Tool("ok"),
                  {{"name", "bad_schema"}, {"inputSchema", "nope"}}, {{"name", "no_schema"}}};
    return {FakeMcpServer::Result(m["id"], {{"tools", tools}})};
  });
  ASSERT_TRUE(h.client->Connect().ok());
  auto tools = h.client->ListTools();
  ASSERT_TRUE(tools.ok());
  ASSERT_EQ(tools->size(), 2u);
  EXPECT_EQ((*tools)[0].name, "ok");
  EXPECT_EQ((*tools)[1].name, "no_schema");
  EXPECT_EQ((*tools)[1].input_schema, json({{"type", "object"}}));
  EXPECT_EQ(h.problems.size(), 3u);
}

TEST(McpClient, AServerWithoutToolsListHasNoTools) {
  Harness h("2025-11-25", [](const json& m) -> std::vector<std::string> {
    return {json({{"jsonrpc", "2.0"}, {"id", m["id"]},
                  {"error", {{"code", -32601}, {"message", "Method not found"}}}}).dump()};
  });
  ASSERT_TRUE(h.client->Connect().ok());
  auto tools = h.client->ListTools();
  ASSERT_TRUE(tools.ok());
  EXPECT_TRUE(tools->empty());
}

TEST(McpClient, CallToolMapsTheResult) {
  Harness h("2025-11-25", [](const json& m) -> std::vector<std::string> {
    EXPECT_EQ(m["params"]["name"], "echo");
    EXPECT_EQ(m["params"]["arguments"], json({{"text", "hi"}}));
    return {FakeMcpServer::Result(m["id"], {{"content", {{{"type", "text"}, {"text", "hi"}}}},
                                            {"structuredContent", {{"items", {1, 2}}}},
                                            {"isError", true}})};
  });
  ASSERT_TRUE(h.client->Connect().ok());
  auto result = h.client->CallTool("echo", {{"text", "hi"}});
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->content[0]["text"], "hi");
  EXPECT_EQ(result->structured["items"].size(), 2u);
  EXPECT_TRUE(result->is_error);
}

TEST(McpClient, AMalformedCallResultIsAnErrorNotACrash) {
  Harness h("2025-11-25", [](const json& m) -> std::vector<std::string> {
    return {FakeMcpServer::Result(m["id"], {{"content", "not a list"}})};
  });
  ASSERT_TRUE(h.client->Connect().ok());
  auto result = h.client->CallTool("echo", json::object());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(result.error().message, HasSubstr("content must be an array"));
}

TEST(McpClient, AServerErrorAnswerNamesTheServerAndTheCall) {
  Harness h("2025-11-25", [](const json& m) -> std::vector<std::string> {
    return {json({{"jsonrpc", "2.0"}, {"id", m["id"]},
                  {"error", {{"code", -32602}, {"message", "path is required"}}}}).dump()};
  });
  ASSERT_TRUE(h.client->Connect().ok());
  auto result = h.client->CallTool("read_file", json::object());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(result.error().message, HasSubstr("MCP server 'fake' refused tools/call read_file"));
  EXPECT_THAT(result.error().message, HasSubstr("path is required"));
}

TEST(McpClient, AResponseWithTheWrongJsonRpcVersionFailsItsCallAtOnce) {
  Harness h("2025-11-25", [](const json& m) -> std::vector<std::string> {
    return {json({{"jsonrpc", "1.0"}, {"id", m["id"]}, {"result", json::object()}}).dump()};
  });
  ASSERT_TRUE(h.client->Connect().ok());
  const auto started = std::chrono::steady_clock::now();
  auto result = h.client->CallTool("echo", json::object(), std::chrono::seconds(30));
  ASSERT_FALSE(result.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(result.error().message, HasSubstr("malformed response"));
  EXPECT_THAT(result.error().message, HasSubstr("\"jsonrpc\" must be \"2.0\""));
  EXPECT_EQ(h.client->stats().bad_frames, 1u);
}

TEST(McpClient, GarbageAndUnknownIdsAreCountedAndTheSessionGoesOn) {
  Harness h("2025-11-25", [](const json& m) -> std::vector<std::string> {
    return {"Server starting...", "{\"jsonrpc\":", R"({"jsonrpc":"2.0","id":424242,"result":{}})",
            FakeMcpServer::Result(m["id"], {{"content", json::array()}})};
  });
  ASSERT_TRUE(h.client->Connect().ok());
  auto result = h.client->CallTool("echo", json::object());
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  const McpFrameStats stats = h.client->stats();
  EXPECT_EQ(stats.bad_frames, 2u);
  EXPECT_EQ(stats.unknown_ids, 1u);
  ASSERT_EQ(h.problems.size(), 3u);
  EXPECT_THAT(h.problems[0], HasSubstr("not valid JSON"));
  EXPECT_THAT(h.problems[2], HasSubstr("424242"));
}

TEST(McpClient, AnOversizedResponseFailsTheCallItAnswers) {
  FakeMcpServer* server = nullptr;
  Harness h("2025-11-25", [&server](const json& m) -> std::vector<std::string> {
    server->PushOversized(20 << 20, R"({"jsonrpc":"2.0","id":)" + m["id"].dump() + R"(,"result":{)",
                          "xxxx\"}]}}");
    return {};
  });
  server = &h.server;
  ASSERT_TRUE(h.client->Connect().ok());
  auto result = h.client->CallTool("dump", json::object(), std::chrono::seconds(30));
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("more than the limit"));
  EXPECT_EQ(h.client->stats().oversized, 1u);
}

TEST(McpClient, AnswersServerRequestsItDoesNotServeWithAnError) {
  FakeMcpServer* server = nullptr;
  Harness h("2025-11-25", [&server](const json& m) -> std::vector<std::string> {
    if (m.contains("method") && m["method"] == "tools/call") {
      server->Push(R"({"jsonrpc":"2.0","id":"s1","method":"roots/list"})");
      server->Push(R"({"jsonrpc":"2.0","id":"s2","method":"ping"})");
      return {FakeMcpServer::Result(m["id"], {{"content", json::array()}})};
    }
    return {};
  });
  server = &h.server;
  ASSERT_TRUE(h.client->Connect().ok());
  ASSERT_TRUE(h.client->CallTool("x", json::object()).ok());
  std::map<std::string, json> replies;
  for (const auto& m : h.server.sent()) {
    if (!m.contains("method") && m.contains("id")) replies[m["id"].get<std::string>()] = m;
  }
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies["s1"]["error"]["code"], -32601);
  EXPECT_THAT(replies["s1"]["error"]["message"].get<std::string>(), HasSubstr("roots/list"));
  EXPECT_EQ(replies["s2"]["result"], json::object());
  EXPECT_EQ(h.client->stats().server_requests, 2u);
}

TEST(McpClient, ToolListChangedNotifiesTheOwner) {
  Harness h;
  ASSERT_TRUE(h.client->Connect().ok());
  h.server.Push(R"({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})");
  EXPECT_EQ(h.tools_changed.load(), 1);
}

TEST(McpClient, RelaysProgressOfARunningCall) {
  FakeMcpServer* server = nullptr;
  Harness h("2025-11-25", [&server](const json& m) -> std::vector<std::string> {
    const json token = m["params"]["_meta"]["progressToken"];
    server->Push(json({{"jsonrpc", "2.0"}, {"method", "notifications/progress"},
                       {"params", {{"progressToken", token}, {"progress", 3}, {"total", 10}}}})
                     .dump());
    return {FakeMcpServer::Result(m["id"], {{"content", json::array()}})};
  });
  server = &h.server;
  ASSERT_TRUE(h.client->Connect().ok());
  std::vector<json> seen;
  auto result = h.client->CallTool("slow", json::object(), {}, [&](const json& p) { seen.push_back(p); });
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["progress"], 3);
}

TEST(McpClient, AnUnansweredCallTimesOutAndIsCancelled) {
  Harness h;  // tools/call is never answered
  ASSERT_TRUE(h.client->Connect().ok());
  auto result = h.client->CallTool("hang", json::object(), std::chrono::milliseconds(100));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_THAT(result.error().message, HasSubstr("did not answer tools/call hang within 0.1 s"));
  const auto cancelled = h.server.sent("notifications/cancelled");
  ASSERT_EQ(cancelled.size(), 1u);
  EXPECT_EQ(cancelled[0]["params"]["requestId"], h.server.sent("tools/call")[0]["id"]);
}

TEST(McpClient, ACrashFailsRunningCallsAndLaterOnesFastWithTheReason) {
  Harness h;
  ASSERT_TRUE(h.client->Connect().ok());
  std::thread crasher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    h.server.Crash("the server process was killed by signal 9 (SIGKILL)");
  });
  auto running = h.client->CallTool("hang", json::object(), std::chrono::seconds(30));
  crasher.join();
  ASSERT_FALSE(running.ok());
  EXPECT_EQ(running.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(running.error().message, HasSubstr("stopped while tools/call hang was running"));
  EXPECT_THAT(running.error().message, HasSubstr("SIGKILL"));
  auto later = h.client->CallTool("x", json::object());
  ASSERT_FALSE(later.ok());
  EXPECT_THAT(later.error().message, HasSubstr("MCP server 'fake' is not connected"));
}

}  // namespace
}  // namespace steward::tools
