#include "tools/tool_registry.hpp"

#include <atomic>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tools/testing/fake_tool_provider.hpp"

namespace steward::tools {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Event {
  std::string type;
  json data;
};

CallContext ContextAllowing(std::vector<std::string> allowed, std::vector<Event>* events) {
  CallContext ctx;
  ctx.principal = "run";
  ctx.run_id = "11111111-1111-1111-1111-111111111111";
  ctx.allowed_tools = std::move(allowed);
  if (events != nullptr) {
    ctx.emit = [events](std::string_view type, const json& data) {
      events->push_back({std::string(type), data});
    };
  }
  return ctx;
}

std::vector<std::string> Names(const std::vector<ToolInfo>& tools) {
  std::vector<std::string> names;
  for (const auto& t : tools) names.push_back(t.name);
  return names;
}

class ToolRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    memory_ = std::make_shared<testing::FakeProvider>("memory");
    memory_->AddEcho("search", "searching memory");
    memory_->AddEcho("remember");
    web_ = std::make_shared<testing::FakeProvider>("web");
    web_->AddEcho("fetch");
    ASSERT_TRUE(registry_.Register(memory_).ok());
    ASSERT_TRUE(registry_.Register(web_).ok());
  }

  ToolRegistry registry_;
  std::shared_ptr<testing::FakeProvider> memory_;
  std::shared_ptr<testing::FakeProvider> web_;
};

TEST_F(ToolRegistryTest, ListsAllToolsSortedByName) {
  EXPECT_THAT(Names(registry_.ListAll()),
              ElementsAre("memory.remember", "memory.search", "web.fetch"));
}

TEST_F(ToolRegistryTest, ListFiltersByAllowedGlobs) {
  EXPECT_THAT(Names(registry_.List(ContextAllowing({"memory.*"}, nullptr))),
              ElementsAre("memory.remember", "memory.search"));
  EXPECT_THAT(Names(registry_.List(ContextAllowing({"*.s*", "web.fetch"}, nullptr))),
              ElementsAre("memory.search", "web.fetch"));
}

TEST_F(ToolRegistryTest, EmptyAllowListMeansNoTools) {
  EXPECT_TRUE(registry_.List(ContextAllowing({}, nullptr)).empty());
  auto result = registry_.Call("memory.search", {{"query", "x"}}, ContextAllowing({}, nullptr));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kPermissionDenied);
}

TEST_F(ToolRegistryTest, RejectsDuplicateAndDottedServerNames) {
  Status dup = registry_.Register(std::make_shared<testing::FakeProvider>("memory"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
  Status dotted = registry_.Register(std::make_shared<testing::FakeProvider>("a.b"));
  ASSERT_FALSE(dotted.ok());
  EXPECT_EQ(dotted.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ToolRegistryTest, CallPassesUnqualifiedNameAndArguments) {
  auto result =
      registry_.Call("memory.search", {{"query", "paris"}}, ContextAllowing({"*"}, nullptr));
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->structured["tool"], "search");
  EXPECT_EQ(result->structured["arguments"]["query"], "paris");
}

TEST_F(ToolRegistryTest, UnknownToolIsNotFoundAndNamesIt) {
  auto result = registry_.Call("memory.forget", {}, ContextAllowing({"*"}, nullptr));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(result.error().message, HasSubstr("\"memory.forget\""));
  EXPECT_THAT(result.error().message, HasSubstr("memory.search"));

  auto no_server = registry_.Call("mail.send", {}, ContextAllowing({"*"}, nullptr));
  ASSERT_FALSE(no_server.ok());
  EXPECT_EQ(no_server.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(no_server.error().message, HasSubstr("memory, web"));

  EXPECT_EQ(registry_.Call("search", {}, ContextAllowing({"*"}, nullptr)).error().code,
            ErrorCode::kNotFound);
}

TEST_F(ToolRegistryTest, DisallowedToolIsPermissionDeniedAndProviderNotCalled) {
  auto result =
      registry_.Call("memory.search", {{"query", "x"}}, ContextAllowing({"web.*"}, nullptr));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(result.error().message, HasSubstr("memory.search"));
  EXPECT_EQ(memory_->calls(), 0);
}

TEST_F(ToolRegistryTest, ArgumentsAreValidatedAgainstSchema) {
  auto missing = registry_.Call("memory.search", json::object(), ContextAllowing({"*"}, nullptr));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(missing.error().context, "memory.search");
  EXPECT_THAT(missing.error().message, HasSubstr("arguments.query: required (string)"));

  auto wrong = registry_.Call("memory.search", {{"query", 3}}, ContextAllowing({"*"}, nullptr));
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.error().message, HasSubstr("arguments.query: expected string, got integer 3"));
  EXPECT_EQ(memory_->calls(), 0);
}

TEST_F(ToolRegistryTest, NullArgumentsMeanEmptyObject) {
  auto result = registry_.Call("web.fetch", nullptr, ContextAllowing({"*"}, nullptr));
  ASSERT_FALSE(result.ok());  // fetch requires "query" too
  EXPECT_THAT(result.error().message, HasSubstr("required"));
}

TEST_F(ToolRegistryTest, EmitsToolCallThenResultThenStatus) {
  std::vector<Event> events;
  memory_->SetResult("search", ToolCallResult::Text("found", {{"results", {1, 2, 3}}}));
  auto result = registry_.Call("memory.search", {{"query", "paris"}},
                               ContextAllowing({"memory.*"}, &events));
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, "tool_call");
  EXPECT_EQ(events[0].data["tool"], "memory.search");
  EXPECT_EQ(events[0].data["run_id"], "11111111-1111-1111-1111-111111111111");
  EXPECT_EQ(events[0].data["arguments"], json({{"query", "paris"}}));
  const std::string call_id = events[0].data["call_id"];
  EXPECT_FALSE(call_id.empty());

  EXPECT_EQ(events[1].type, "tool_result");
  EXPECT_EQ(events[1].data["call_id"], call_id);
  EXPECT_EQ(events[1].data["ok"], true);
  EXPECT_EQ(events[1].data["summary"], "3 results");
  EXPECT_EQ(events[1].data["count"], 3);  // feeds the run's sources_found
  EXPECT_TRUE(events[1].data["duration_ms"].is_number());
  EXPECT_GE(events[1].data["duration_ms"].get<double>(), 0.0);

  EXPECT_EQ(events[2].type, "status");
  EXPECT_EQ(events[2].data["text"], "searching memory… 3 results");
}

TEST_F(ToolRegistryTest, EmitsFailedResultForRejectedCalls) {
  std::vector<Event> events;
  auto result = registry_.Call("memory.search", {{"query", "x"}},
                               ContextAllowing({"web.*"}, &events));
  ASSERT_FALSE(result.ok());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].type, "tool_result");
  EXPECT_EQ(events[1].data["ok"], false);
  EXPECT_EQ(events[1].data["error"], "permission_denied");
  EXPECT_FALSE(events[1].data.contains("count"));
  EXPECT_THAT(events[1].data["summary"].get<std::string>(), HasSubstr("not allowed"));
  EXPECT_THAT(events[2].data["text"].get<std::string>(), HasSubstr("searching memory… failed"));
}

TEST_F(ToolRegistryTest, ToolReportedErrorIsNotOk) {
  std::vector<Event> events;
  memory_->SetResult("search", ToolCallResult::Text("database is gone", nullptr, true));
  auto result = registry_.Call("memory.search", {{"query", "x"}},
                               ContextAllowing({"*"}, &events));
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->is_error);
  EXPECT_EQ(events[1].data["ok"], false);
  EXPECT_EQ(events[1].data["summary"], "database is gone");
  EXPECT_EQ(events[2].data["text"], "searching memory… failed: database is gone");
}

TEST_F(ToolRegistryTest, StatusFallsBackToToolNameWithoutActivity) {
  std::vector<Event> events;
  ASSERT_TRUE(registry_.Call("web.fetch", {{"query", "x"}}, ContextAllowing({"*"}, &events)).ok());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_THAT(events[2].data["text"].get<std::string>(), HasSubstr("calling web.fetch… "));
}

TEST_F(ToolRegistryTest, ProviderExceptionBecomesInternalError) {
  memory_->ThrowOn("search");
  auto result = registry_.Call("memory.search", {{"query", "x"}}, ContextAllowing({"*"}, nullptr));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInternal);
}

TEST_F(ToolRegistryTest, UnregisterRemovesTools) {
  EXPECT_TRUE(registry_.Unregister("web"));
  EXPECT_FALSE(registry_.Unregister("web"));
  EXPECT_FALSE(registry_.Find("web.fetch").has_value());
  EXPECT_TRUE(registry_.Find("memory.search").has_value());
}

TEST_F(ToolRegistryTest, ConcurrentCallsAndRegistrationsAreSafe) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (registry_.Call("memory.search", {{"query", "x"}}, ContextAllowing({"*"}, nullptr)).ok()) {
          ++ok;
        }
        if (t == 0) {
          auto extra = std::make_shared<testing::FakeProvider>("extra");
          (void)registry_.Register(extra);
          registry_.Unregister("extra");
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 800);
}

TEST(SummarizeToolResult, CountsFirstArrayFieldWithSingular) {
  EXPECT_EQ(SummarizeToolResult(ToolCallResult::Text("x", {{"matches", json::array({1})}})),
            "1 match");
  EXPECT_EQ(SummarizeToolResult(ToolCallResult::Text("x", {{"matches", json::array()}})),
            "0 matches");
  EXPECT_EQ(SummarizeToolResult(ToolCallResult::Text("x", {{"results", {1, 2}}})), "2 results");
}

TEST(SummarizeToolResult, TruncatesTextTo200Characters) {
  const std::string long_text(500, 'a');
  const std::string summary = SummarizeToolResult(ToolCallResult::Text(long_text));
  EXPECT_EQ(summary, std::string(200, 'a') + "…");
  EXPECT_EQ(SummarizeToolResult(ToolCallResult::Text("saved note 7", {{"id", 7}})),
            "saved note 7");
}

TEST(SummarizeToolResult, NeverSplitsUtf8) {
  std::string text(199, 'a');
  text += "é and more text after the cut";  // é straddles byte 200
  const std::string summary = SummarizeToolResult(ToolCallResult::Text(text));
  EXPECT_EQ(summary, std::string(199, 'a') + "…");
}

}  // namespace
}  // namespace steward::tools
