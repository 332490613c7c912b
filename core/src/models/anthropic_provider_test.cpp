// Integration tests of AnthropicProvider against tests/fixtures/anthropic_fixture.py, a local
// server speaking the Messages API streaming wire format.

#include "models/anthropic_provider.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "../../tests/fixtures/fixture_server.hpp"

namespace steward::models {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kApiKey = "sk-ant-test-SECRET-9876543210";

struct Received {
  Clock::time_point at;
  ChatChunk chunk;
};

class AnthropicProviderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv("no_proxy", "127.0.0.1", 1);
    server_ = testing::FixtureServer::Start("anthropic_fixture.py", start_error_).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << start_error_;
    server_->Post("/_reset", Json::object());
  }

  static ProviderConfig Config() {
    ProviderConfig config;
    config.name = "claude";
    config.kind = "anthropic";
    config.base_url = server_->Url();
    config.api_key = kApiKey;
    config.headers = {{"anthropic-beta", "fixture-beta"}};
    config.timeout = milliseconds(10'000);
    return config;
  }

  static ChatRequest Request() {
    ChatRequest request;
    request.model = "claude-fixture";
    request.messages = Json::parse(R"([{"role":"system","content":"Be brief."},
                                       {"role":"user","content":"Say hello"}])");
    return request;
  }

  static void Script(const Json& script) { server_->Post("/_script", script); }

  static Result<ChatResult> Run(AnthropicProvider& provider, std::vector<Received>& received,
                                const ChatRequest& request = Request()) {
    return provider.Complete(request, [&](const ChatChunk& chunk) {
      received.push_back({Clock::now(), chunk});
      return true;
    });
  }

  static inline testing::FixtureServer* server_ = nullptr;
  static inline std::string start_error_;
};

TEST_F(AnthropicProviderTest, StreamsTextChunksAsTheyArrive) {
  Script({{"text", {"Hel", "lo", " wor", "ld"}}, {"delay_ms", 300}, {"thinking", "let me think"},
          {"usage", {{"input_tokens", 30}, {"output_tokens", 6}}}});
  AnthropicProvider provider(Config());
  std::vector<Received> received;
  const auto start = Clock::now();
  auto result = Run(provider, received);
  const auto end = Clock::now();
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->content, "Hello world");
  EXPECT_EQ(result->finish_reason, "stop");
  EXPECT_EQ(result->usage.prompt_tokens, 30);
  EXPECT_EQ(result->usage.completion_tokens, 6);
  ASSERT_EQ(received.size(), 5u);  // four text deltas and the finish chunk
  EXPECT_EQ(received[0].chunk.content, "Hel");
  EXPECT_EQ(received[4].chunk.finish_reason, "stop");
  EXPECT_LT(received[0].at - start, end - start - milliseconds(700));
  EXPECT_GT(received[3].at - received[0].at, milliseconds(700));
}

TEST_F(AnthropicProviderTest, SendsTheTranslatedRequestWithAnthropicHeaders) {
  AnthropicProvider provider(Config());
  auto result = provider.Complete(Request(), {});
  ASSERT_TRUE(result.ok()) << result.error().ToString();

  const Json requests = server_->Get("/_requests");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["path"], "/v1/messages");
  const Json& headers = requests[0]["headers"];
  EXPECT_EQ(headers["x-api-key"], kApiKey);
  EXPECT_EQ(headers["anthropic-version"], "2023-06-01");
  EXPECT_EQ(headers["anthropic-beta"], "fixture-beta");
  EXPECT_FALSE(headers.contains("authorization"));
  const Json& body = requests[0]["body"];
  EXPECT_EQ(body["model"], "claude-fixture");
  EXPECT_EQ(body["system"], "Be brief.");
  EXPECT_EQ(body["max_tokens"], 4096);
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["messages"],
            Json::parse(R"([{"role":"user","content":[{"type":"text","text":"Say hello"}]}])"));
}

TEST_F(AnthropicProviderTest, TurnsToolUseIntoOpenAiToolCallsAndSendsResultsBack) {
  Script(Json::parse(R"({"text": ["Checking."], "tool_calls": [
      {"id": "toolu_1", "name": "get_weather", "arguments": ["{\"city\":", " \"Oslo\"}"]},
      {"id": "toolu_2", "name": "now", "arguments": []}]})"));
  AnthropicProvider provider(Config());
  ChatRequest request = Request();
  request.tools = Json::parse(R"([
    {"type":"function","function":{"name":"get_weather","description":"Weather",
      "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},
    {"type":"function","function":{"name":"now","parameters":{"type":"object"}}}])");
  std::vector<Received> received;
  auto first = Run(provider, received, request);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(first->content, "Checking.");
  EXPECT_EQ(first->finish_reason, "tool_calls");
  EXPECT_EQ(first->tool_calls, Json::parse(R"([
    {"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Oslo\"}"}},
    {"id":"toolu_2","type":"function","function":{"name":"now","arguments":"{}"}}])"));

  // Second turn: the assistant's calls and the tool results go back in OpenAI form.
  request.messages.push_back(
      {{"role", "assistant"}, {"content", first->content}, {"tool_calls", first->tool_calls}});
  request.messages.push_back({{"role", "tool"}, {"tool_call_id", "toolu_1"}, {"content", "-2C"}});
  request.messages.push_back({{"role", "tool"}, {"tool_call_id", "toolu_2"}, {"content", "09:00"}});
  auto second = provider.Complete(request, {});
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  const Json sent = server_->Get("/_requests")[1]["body"];
  EXPECT_EQ(sent["tools"][0]["input_schema"]["properties"]["city"]["type"], "string");
  EXPECT_EQ(sent["messages"], Json::parse(R"([
    {"role":"user","content":[{"type":"text","text":"Say hello"}]},
    {"role":"assistant","content":[
      {"type":"text","text":"Checking."},
      {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Oslo"}},
      {"type":"tool_use","id":"toolu_2","name":"now","input":{}}]},
    {"role":"user","content":[
      {"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"-2C"}]},
      {"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"09:00"}]}]}
  ])")) << sent["messages"].dump(2);
}

TEST_F(AnthropicProviderTest, ParsesCrlfAndEventsSplitAcrossReads) {
  Script({{"text", {"a", "b", "c"}}, {"crlf", true}, {"split", true}});
  AnthropicProvider provider(Config());
  auto result = provider.Complete(Request(), {});
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->content, "abc");
  EXPECT_EQ(result->usage.prompt_tokens, 21);
}

TEST_F(AnthropicProviderTest, AcceptsAWholeMessageBody) {
  Script({{"mode", "json"}, {"text", {"whole"}}});
  AnthropicProvider provider(Config());
  auto result = provider.Complete(Request(), {});
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->content, "whole");
  EXPECT_EQ(result->usage.completion_tokens, 9);
}

TEST_F(AnthropicProviderTest, MapsHttpErrorsToCodesWithTheUpstreamMessageAndNoKey) {
  struct Case {
    int status;
    const char* type;
    ErrorCode code;
  };
  const std::vector<Case> cases = {
      {400, "invalid_request_error", ErrorCode::kInvalidArgument},
      {401, "authentication_error", ErrorCode::kUnavailable},
      {429, "rate_limit_error", ErrorCode::kUnavailable},
      {500, "api_error", ErrorCode::kUnavailable},
      {529, "overloaded_error", ErrorCode::kUnavailable},
  };
  AnthropicProvider provider(Config());
  for (const auto& c : cases) {
    const std::string upstream = std::string("rejected: key ") + kApiKey + " status " +
                                 std::to_string(c.status);
    Script({{"status", c.status}, {"error_type", c.type}, {"error_message", upstream}});
    auto result = provider.Complete(Request(), {});
    ASSERT_FALSE(result.ok()) << c.status;
    const std::string text = result.error().ToString();
    EXPECT_EQ(result.error().code, c.code) << text;
    EXPECT_NE(text.find(c.type), std::string::npos) << text;
    EXPECT_NE(text.find("status " + std::to_string(c.status)), std::string::npos) << text;
    EXPECT_NE(text.find("'claude'"), std::string::npos) << text;
    EXPECT_NE(text.find(server_->Url("/v1/messages")), std::string::npos) << text;
    EXPECT_EQ(text.find(kApiKey), std::string::npos) << text;
  }
}

TEST_F(AnthropicProviderTest, ReportsAnErrorEventMidStream) {
  Script({{"stream_error", true}, {"error_type", "overloaded_error"}, {"error_message", "Overloaded"}});
  AnthropicProvider provider(Config());
  std::vector<Received> received;
  auto result = Run(provider, received);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(result.error().message.find("overloaded_error: Overloaded"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(received.size(), 2u) << "the text before the error was still streamed";
}

TEST_F(AnthropicProviderTest, RejectsAnUntranslatableRequestWithoutCallingUpstream) {
  ChatRequest request = Request();
  request.messages.push_back(
      Json::parse(R"({"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{bad"}}]})"));
  AnthropicProvider provider(Config());
  auto result = provider.Complete(request, {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(result.error().message.find("messages[2].tool_calls[0].function.arguments"),
            std::string::npos)
      << result.error().message;
  EXPECT_TRUE(server_->Get("/_requests").empty());
}

TEST_F(AnthropicProviderTest, SinkReturningFalseCancelsPromptly) {
  Json text = Json::array();
  for (int i = 0; i < 20; ++i) text.push_back("piece " + std::to_string(i) + " ");
  Script({{"text", text}, {"delay_ms", 300}});
  AnthropicProvider provider(Config());
  int calls = 0;
  const auto start = Clock::now();
  auto result = provider.Complete(Request(), [&](const ChatChunk&) {
    ++calls;
    return false;
  });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kCancelled) << result.error().ToString();
  EXPECT_EQ(calls, 1);
  EXPECT_LT(Clock::now() - start, milliseconds(1500));
}

TEST_F(AnthropicProviderTest, TimesOutWithDeadlineExceeded) {
  Script({{"first_byte_delay_ms", 5000}});
  ProviderConfig config = Config();
  config.timeout = milliseconds(600);
  AnthropicProvider provider(config);
  const auto start = Clock::now();
  auto result = provider.Complete(Request(), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kDeadlineExceeded) << result.error().ToString();
  EXPECT_LT(Clock::now() - start, milliseconds(3000));
  EXPECT_EQ(result.error().ToString().find(kApiKey), std::string::npos);
}

}  // namespace
}  // namespace steward::models
