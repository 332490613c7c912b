#include "tools/mcp_endpoint.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tools/testing/fake_tool_provider.hpp"

namespace steward::tools {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class McpEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    memory_ = std::make_shared<testing::FakeProvider>("memory");
    memory_->AddEcho("search");
    memory_->AddEcho("remember");
    ASSERT_TRUE(registry_.Register(memory_).ok());
    ctx_.principal = "run";
    ctx_.run_id = "11111111-1111-1111-1111-111111111111";
    ctx_.allowed_tools = {"memory.*"};
    options_.now = [this] { return now_; };
  }

  McpEndpoint& Endpoint() {
    if (!endpoint_) endpoint_ = std::make_unique<McpEndpoint>(registry_, options_);
    return *endpoint_;
  }

  McpHttpResponse Post(const std::string& body, const std::string& session,
                       const std::string& version = "") {
    McpHttpRequest req{"POST", body, session, version, "application/json, text/event-stream"};
    return Endpoint().Handle(req, ctx_);
  }

  static json Request(int id, const std::string& method, json params = json::object()) {
    return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
  }

  // Initializes and returns the session id.
  std::string Initialize(const std::string& version = "2025-06-18") {
    McpHttpResponse r = Post(Request(1, "initialize",
                                     {{"protocolVersion", version},
                                      {"capabilities", json::object()},
                                      {"clientInfo", {{"name", "test"}, {"version", "1"}}}})
                                 .dump(),
                             "");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Header("Mcp-Session-Id");
  }

  json PostJson(const json& body, const std::string& session, int expected_status = 200) {
    McpHttpResponse r = Post(body.dump(), session);
    EXPECT_EQ(r.status, expected_status) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    return json::parse(r.body);
  }

  ToolRegistry registry_;
  std::shared_ptr<testing::FakeProvider> memory_;
  CallContext ctx_;
  McpEndpointOptions options_;
  std::chrono::steady_clock::time_point now_{};
  std::unique_ptr<McpEndpoint> endpoint_;
};

TEST_F(McpEndpointTest, InitializeEchoesSupportedVersionAndIssuesSession) {
  McpHttpResponse r = Post(Request(1, "initialize",
                                   {{"protocolVersion", "2025-03-26"},
                                    {"capabilities", json::object()},
                                    {"clientInfo", {{"name", "t"}, {"version", "1"}}}})
                               .dump(),
                           "");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  json body = json::parse(r.body);
  EXPECT_EQ(body["jsonrpc"], "2.0");
  EXPECT_EQ(body["id"], 1);
  EXPECT_EQ(body["result"]["protocolVersion"], "2025-03-26");
  EXPECT_EQ(body["result"]["serverInfo"]["name"], "steward");
  EXPECT_EQ(body["result"]["capabilities"]["tools"]["listChanged"], true);
  const std::string session = r.Header("Mcp-Session-Id");
  EXPECT_EQ(session.size(), 32u);
  for (char c : session) EXPECT_TRUE(c >= 0x21 && c <= 0x7E);  // visible ASCII per spec
  EXPECT_EQ(Endpoint().session_count(), 1u);
}

TEST_F(McpEndpointTest, InitializeAcceptsEveryHandshakeVersionOfTheOfficialSdks) {
  for (const char* v : {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2024-10-07"}) {
    McpHttpResponse r =
        Post(Request(1, "initialize", {{"protocolVersion", v}, {"capabilities", json::object()}})
                 .dump(),
             "");
    EXPECT_EQ(json::parse(r.body)["result"]["protocolVersion"], v);
  }
}

TEST_F(McpEndpointTest, InitializeWithUnknownVersionOffersLatest) {
  McpHttpResponse r = Post(Request(1, "initialize", {{"protocolVersion", "2099-01-01"}}).dump(), "");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["result"]["protocolVersion"], "2025-11-25");
}

TEST_F(McpEndpointTest, InitializeWithoutVersionIsInvalidParams) {
  json body = PostJson(Request(1, "initialize", json::object()), "");
  EXPECT_EQ(body["error"]["code"], -32602);
  EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr("protocolVersion"));
  EXPECT_EQ(Endpoint().session_count(), 0u);
}

TEST_F(McpEndpointTest, InitializedNotificationIsAccepted) {
  const std::string session = Initialize();
  McpHttpResponse r =
      Post(json({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}).dump(), session,
           "2025-06-18");
  EXPECT_EQ(r.status, 202);
  EXPECT_TRUE(r.body.empty());
  EXPECT_TRUE(r.content_type.empty());
}

TEST_F(McpEndpointTest, RequestWithoutSessionIs400) {
  Initialize();
  json body = PostJson(Request(2, "tools/list"), "", 400);
  EXPECT_EQ(body["error"]["code"], -32600);
  EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr("Mcp-Session-Id"));
}

TEST_F(McpEndpointTest, UnknownSessionIs404) {
  json body = PostJson(Request(2, "tools/list"), "no-such-session", 404);
  EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr("no-such-session"));
}

TEST_F(McpEndpointTest, SessionOfAnotherRunIsUnknown) {
  const std::string session = Initialize();
  ctx_.run_id = "22222222-2222-2222-2222-222222222222";
  PostJson(Request(2, "ping"), session, 404);
}

TEST_F(McpEndpointTest, IdleSessionExpires) {
  options_.session_idle_timeout = std::chrono::seconds(60);
  const std::string session = Initialize();
  now_ += std::chrono::seconds(30);
  PostJson(Request(2, "ping"), session, 200);
  now_ += std::chrono::seconds(59);  // still within 60 s of the last use
  PostJson(Request(3, "ping"), session, 200);
  now_ += std::chrono::seconds(61);
  PostJson(Request(4, "ping"), session, 404);
  EXPECT_EQ(Endpoint().session_count(), 0u);
}

TEST_F(McpEndpointTest, OldestSessionsAreDroppedAtCapacity) {
  options_.max_sessions = 2;
  const std::string first = Initialize();
  now_ += std::chrono::seconds(1);
  const std::string second = Initialize();
  now_ += std::chrono::seconds(1);
  const std::string third = Initialize();
  EXPECT_EQ(Endpoint().session_count(), 2u);
  PostJson(Request(2, "ping"), first, 404);
  PostJson(Request(2, "ping"), third, 200);
}

TEST_F(McpEndpointTest, DeleteEndsSession) {
  const std::string session = Initialize();
  McpHttpResponse r = Endpoint().Handle({"DELETE", "", session, "2025-06-18", ""}, ctx_);
  EXPECT_EQ(r.status, 200);
  PostJson(Request(2, "ping"), session, 404);
  EXPECT_EQ(Endpoint().Handle({"DELETE", "", session, "", ""}, ctx_).status, 404);
  EXPECT_EQ(Endpoint().Handle({"DELETE", "", "", "", ""}, ctx_).status, 400);
}

TEST_F(McpEndpointTest, GetIs405WithAllow) {
  McpHttpResponse r = Endpoint().Handle({"GET", "", "", "", "text/event-stream"}, ctx_);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("Allow"), "POST, DELETE");
}

TEST_F(McpEndpointTest, UnsupportedProtocolVersionHeaderIs400) {
  const std::string session = Initialize();
  McpHttpResponse r = Post(Request(2, "ping").dump(), session, "2026-07-28");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(json::parse(r.body)["error"]["message"].get<std::string>(),
              HasSubstr("2026-07-28"));
}

TEST_F(McpEndpointTest, NotAcceptingJsonIs406) {
  McpHttpResponse r = Endpoint().Handle({"POST", Request(1, "ping").dump(), "", "", "text/html"}, ctx_);
  EXPECT_EQ(r.status, 406);
  McpHttpResponse ok = Endpoint().Handle(
      {"POST", Request(1, "initialize", {{"protocolVersion", "2025-06-18"}}).dump(), "", "",
       "text/event-stream, application/json;q=0.9"},
      ctx_);
  EXPECT_EQ(ok.status, 200);
}

TEST_F(McpEndpointTest, PingAnswersEmptyResult) {
  const std::string session = Initialize();
  json body = PostJson(Request(7, "ping"), session);
  EXPECT_EQ(body, json({{"jsonrpc", "2.0"}, {"id", 7}, {"result", json::object()}}));
}

TEST_F(McpEndpointTest, ToolsListShowsOnlyAllowedToolsInMcpShape) {
  auto web = std::make_shared<testing::FakeProvider>("web");
  web->AddEcho("fetch");
  ASSERT_TRUE(registry_.Register(web).ok());
  const std::string session = Initialize();
  json body = PostJson(Request(2, "tools/list"), session);
  json tools = body["result"]["tools"];
  ASSERT_EQ(tools.size(), 2u);
  EXPECT_EQ(tools[0]["name"], "memory.remember");
  EXPECT_EQ(tools[1]["name"], "memory.search");
  EXPECT_EQ(tools[1]["inputSchema"]["type"], "object");
  EXPECT_TRUE(tools[1]["description"].is_string());
  EXPECT_FALSE(body["result"].contains("nextCursor"));
}

TEST_F(McpEndpointTest, ToolsListPaginatesWithCursor) {
  auto many = std::make_shared<testing::FakeProvider>("many");
  for (int i = 0; i < 250; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "t%03d", i);
    many->AddEcho(name);
  }
  ASSERT_TRUE(registry_.Register(many).ok());
  ctx_.allowed_tools = {"many.*"};
  const std::string session = Initialize();

  std::vector<std::string> seen;
  json cursor;
  int pages = 0;
  do {
    json params = json::object();
    if (!cursor.is_null()) params["cursor"] = cursor;
    json result = PostJson(Request(10 + pages, "tools/list", params), session)["result"];
    for (const auto& t : result["tools"]) seen.push_back(t["name"]);
    EXPECT_LE(result["tools"].size(), 100u);
    cursor = result.value("nextCursor", json());
    ++pages;
  } while (!cursor.is_null() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 250u);
  EXPECT_EQ(seen.front(), "many.t000");
  EXPECT_EQ(seen.back(), "many.t249");
}

TEST_F(McpEndpointTest, BadCursorIsInvalidParams) {
  const std::string session = Initialize();
  for (json cursor : {json("abc"), json("999999"), json(5)}) {
    json body = PostJson(Request(2, "tools/list", {{"cursor", cursor}}), session);
    EXPECT_EQ(body["error"]["code"], -32602) << cursor;
  }
}

TEST_F(McpEndpointTest, ToolsCallReturnsContentAndStructuredContent) {
  const std::string session = Initialize();
  json body = PostJson(
      Request(3, "tools/call", {{"name", "memory.search"}, {"arguments", {{"query", "paris"}}}}),
      session);
  json result = body["result"];
  EXPECT_EQ(result["isError"], false);
  EXPECT_EQ(result["content"][0]["type"], "text");
  EXPECT_EQ(result["structuredContent"]["tool"], "search");
  EXPECT_EQ(result["structuredContent"]["arguments"]["query"], "paris");
  EXPECT_EQ(result["structuredContent"]["run_id"], ctx_.run_id);
}

TEST_F(McpEndpointTest, ToolErrorIsResultWithIsError) {
  memory_->SetResult("search", ToolCallResult::Text("index offline", nullptr, true));
  const std::string session = Initialize();
  json body = PostJson(
      Request(3, "tools/call", {{"name", "memory.search"}, {"arguments", {{"query", "x"}}}}),
      session);
  ASSERT_TRUE(body.contains("result")) << body;
  EXPECT_EQ(body["result"]["isError"], true);
  EXPECT_EQ(body["result"]["content"][0]["text"], "index offline");
  EXPECT_FALSE(body["result"].contains("structuredContent"));
}

TEST_F(McpEndpointTest, InvalidArgumentsAreToolErrorsTheModelCanRead) {
  const std::string session = Initialize();
  json body = PostJson(
      Request(3, "tools/call", {{"name", "memory.search"}, {"arguments", {{"query", 5}}}}),
      session);
  ASSERT_TRUE(body.contains("result")) << body;
  EXPECT_EQ(body["result"]["isError"], true);
  EXPECT_THAT(body["result"]["content"][0]["text"].get<std::string>(),
              HasSubstr("arguments.query: expected string, got integer 5"));
}

TEST_F(McpEndpointTest, DisallowedToolIsToolError) {
  ctx_.allowed_tools = {"memory.search"};
  const std::string session = Initialize();
  json body = PostJson(
      Request(3, "tools/call", {{"name", "memory.remember"}, {"arguments", {{"query", "x"}}}}),
      session);
  EXPECT_EQ(body["result"]["isError"], true);
  EXPECT_THAT(body["result"]["content"][0]["text"].get<std::string>(),
              HasSubstr("permission_denied"));
  EXPECT_EQ(memory_->calls(), 0);
}

TEST_F(McpEndpointTest, UnknownToolIsInvalidParamsNamingIt) {
  const std::string session = Initialize();
  json body = PostJson(Request(3, "tools/call", {{"name", "memory.forget"}}), session);
  EXPECT_EQ(body["error"]["code"], -32602);
  EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr("memory.forget"));
}

TEST_F(McpEndpointTest, ToolsCallWithoutNameIsInvalidParams) {
  const std::string session = Initialize();
  json body = PostJson(Request(3, "tools/call", {{"arguments", json::object()}}), session);
  EXPECT_EQ(body["error"]["code"], -32602);
  EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr("\"name\""));
  json bad_args =
      PostJson(Request(4, "tools/call", {{"name", "memory.search"}, {"arguments", "x"}}), session);
  EXPECT_THAT(bad_args["error"]["message"].get<std::string>(), HasSubstr("\"arguments\""));
}

TEST_F(McpEndpointTest, ProviderBugIsInternalError) {
  memory_->ThrowOn("search");
  const std::string session = Initialize();
  json body = PostJson(
      Request(3, "tools/call", {{"name", "memory.search"}, {"arguments", {{"query", "x"}}}}),
      session);
  EXPECT_EQ(body["error"]["code"], -32603);
}

TEST_F(McpEndpointTest, ToolCallEventsReachContextEmitter) {
  std::vector<std::string> types;
  ctx_.emit = [&](std::string_view type, const json&) { types.emplace_back(type); };
  const std::string session = Initialize();
  PostJson(Request(3, "tools/call", {{"name", "memory.search"}, {"arguments", {{"query", "x"}}}}),
           session);
  EXPECT_EQ(types, (std::vector<std::string>{"tool_call", "tool_result", "status"}));
}

TEST_F(McpEndpointTest, BatchAnswersEachRequestInOrderAndSkipsNotifications) {
  const std::string session = Initialize();
  json batch = json::array({Request(1, "ping"),
                            {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}},
                            Request(2, "tools/list"), Request(3, "no/such")});
  json body = PostJson(batch, session);
  ASSERT_TRUE(body.is_array());
  ASSERT_EQ(body.size(), 3u);
  EXPECT_EQ(body[0]["id"], 1);
  EXPECT_TRUE(body[0].contains("result"));
  EXPECT_EQ(body[1]["id"], 2);
  EXPECT_EQ(body[1]["result"]["tools"].size(), 2u);
  EXPECT_EQ(body[2]["id"], 3);
  EXPECT_EQ(body[2]["error"]["code"], -32601);
}

TEST_F(McpEndpointTest, BatchOfNotificationsIs202) {
  const std::string session = Initialize();
  McpHttpResponse r = Post(json::array({{{"jsonrpc", "2.0"}, {"method", "notifications/x"}}}).dump(),
                           session);
  EXPECT_EQ(r.status, 202);
}

TEST_F(McpEndpointTest, InitializeInsideBatchIsRejected) {
  const std::string session = Initialize();
  json body = PostJson(json::array({Request(5, "initialize", {{"protocolVersion", "2025-03-26"}})}),
                       session);
  EXPECT_EQ(body[0]["error"]["code"], -32600);
}

TEST_F(McpEndpointTest, EmptyBatchIsInvalidRequest) {
  const std::string session = Initialize();
  json body = PostJson(json::array(), session, 400);
  EXPECT_EQ(body["error"]["code"], -32600);
}

TEST_F(McpEndpointTest, MalformedJsonIsParseError) {
  McpHttpResponse r = Post("{\"jsonrpc\": \"2.0\", \"id\": 1,", "");
  EXPECT_EQ(r.status, 400);
  json body = json::parse(r.body);
  EXPECT_EQ(body["error"]["code"], -32700);
  EXPECT_TRUE(body["id"].is_null());
  EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr("not valid JSON"));
}

TEST_F(McpEndpointTest, DeeplyNestedJsonIsRefused) {
  McpHttpResponse r = Post(std::string(100000, '[') + std::string(100000, ']'), "");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], -32700);
}

TEST_F(McpEndpointTest, NestingLimitIsExactlyWhereItWas) {
  // 64 levels (a value at depth 64) parse; a value at depth 65 does not.
  const auto nested = [](int depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); };
  EXPECT_NE(json::parse(Post(nested(64), "").body).dump().find("-32600"), std::string::npos);
  McpHttpResponse deep = Post(nested(65), "");
  EXPECT_EQ(deep.status, 400);
  EXPECT_EQ(json::parse(deep.body)["error"]["code"], -32700);
  // Brackets inside strings (an escaped quote among them) are not nesting, and must not hide
  // real nesting either: one level plus 64 is still 65.
  const std::string tricky = "[\"\\\"" + std::string(100, ']') + "\", " + nested(64) + "]";
  McpHttpResponse hidden = Post(tricky, "");
  EXPECT_EQ(hidden.status, 400) << hidden.body;
  EXPECT_EQ(json::parse(hidden.body)["error"]["code"], -32700);
  const std::string shallow = "[\"\\\"" + std::string(100, '[') + "\", " + nested(63) + "]";
  EXPECT_NE(json::parse(Post(shallow, "").body).dump().find("-32600"), std::string::npos);
}

TEST_F(McpEndpointTest, InvalidRequestsNameTheProblem) {
  const std::string session = Initialize();
  struct Case {
    json message;
    std::string mentions;
  };
  for (const auto& c : {Case{{{"jsonrpc", "1.0"}, {"id", 1}, {"method", "ping"}}, "jsonrpc"},
                        Case{{{"jsonrpc", "2.0"}, {"id", 1}}, "method"},
                        Case{{{"jsonrpc", "2.0"}, {"id", 1}, {"method", 5}}, "method"},
                        Case{{{"jsonrpc", "2.0"}, {"id", nullptr}, {"method", "ping"}}, "id"},
                        Case{{{"jsonrpc", "2.0"}, {"id", 1.5}, {"method", "ping"}}, "id"}}) {
    json body = PostJson(c.message, session);
    EXPECT_EQ(body["error"]["code"], -32600) << c.message;
    EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr(c.mentions));
  }
  json scalar = PostJson(json(42), session, 400);
  EXPECT_EQ(scalar["error"]["code"], -32600);
}

TEST_F(McpEndpointTest, NonObjectParamsIsInvalidParams) {
  const std::string session = Initialize();
  json body =
      PostJson({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/list"}, {"params", {1, 2}}}, session);
  EXPECT_EQ(body["error"]["code"], -32602);
}

TEST_F(McpEndpointTest, UnknownMethodIsMethodNotFound) {
  const std::string session = Initialize();
  json body = PostJson(Request(9, "resources/list"), session);
  EXPECT_EQ(body["id"], 9);
  EXPECT_EQ(body["error"]["code"], -32601);
  EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr("resources/list"));
}

TEST_F(McpEndpointTest, StringIdsAreEchoed) {
  const std::string session = Initialize();
  json body = PostJson({{"jsonrpc", "2.0"}, {"id", "abc"}, {"method", "ping"}}, session);
  EXPECT_EQ(body["id"], "abc");
}

TEST_F(McpEndpointTest, ClientResponsesAreAcceptedWith202) {
  const std::string session = Initialize();
  McpHttpResponse r =
      Post(json({{"jsonrpc", "2.0"}, {"id", 1}, {"result", json::object()}}).dump(), session);
  EXPECT_EQ(r.status, 202);
}

TEST_F(McpEndpointTest, InvalidUtf8InToolOutputIsReplacedNotFatal) {
  memory_->SetResult("search", ToolCallResult::Text(std::string("bad \xff byte")));
  const std::string session = Initialize();
  McpHttpResponse r = Post(
      Request(3, "tools/call", {{"name", "memory.search"}, {"arguments", {{"query", "x"}}}}).dump(),
      session);
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(json::parse(r.body)["result"]["content"][0]["text"].get<std::string>(),
              HasSubstr("bad"));
}

}  // namespace
}  // namespace steward::tools
