// Integration tests of OpenAiProvider against tests/fixtures/openai_wire_fixture.py, a local
// server speaking the chat-completions streaming wire format.

#include "models/openai_provider.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../../tests/fixtures/fixture_server.hpp"

namespace steward::models {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kApiKey = "sk-test-SECRET-0123456789abcdef";

struct Received {
  Clock::time_point at;
  ChatChunk chunk;
};

// A port nothing listens on: bound, then released.
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class OpenAiProviderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv("no_proxy", "127.0.0.1", 1);
    server_ = testing::FixtureServer::Start("openai_wire_fixture.py", start_error_).release();
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
    config.name = "local-openai";
    config.kind = "openai";
    config.base_url = server_->Url("/v1/");
    config.api_key = kApiKey;
    config.headers = {{"X-Steward-Test", "yes"}};
    config.timeout = milliseconds(10'000);
    return config;
  }

  static ChatRequest Request() {
    ChatRequest request;
    request.model = "gpt-fixture";
    request.messages = Json::parse(R"([{"role":"system","content":"Be brief."},
                                       {"role":"user","content":"Say hello"}])");
    return request;
  }

  static void Script(const Json& script) { server_->Post("/_script", script); }

  // Runs one call, recording each chunk with its arrival time.
  static Result<ChatResult> Run(OpenAiProvider& provider, std::vector<Received>& received,
                                const ChatRequest& request = Request()) {
    return provider.Complete(request, [&](const ChatChunk& chunk) {
      received.push_back({Clock::now(), chunk});
      return true;
    });
  }

  static inline testing::FixtureServer* server_ = nullptr;
  static inline std::string start_error_;
};

TEST_F(OpenAiProviderTest, StreamsTextChunksAsTheyArrive) {
  Script({{"text", {"Hel", "lo", ", wor", "ld"}}, {"delay_ms", 300},
          {"usage", {{"prompt_tokens", 12}, {"completion_tokens", 4}}}});
  OpenAiProvider provider(Config());
  std::vector<Received> received;
  const auto start = Clock::now();
  auto result = Run(provider, received);
  const auto end = Clock::now();
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->content, "Hello, world");
  EXPECT_EQ(result->finish_reason, "stop");
  EXPECT_EQ(result->usage.prompt_tokens, 12);
  EXPECT_EQ(result->usage.completion_tokens, 4);
  ASSERT_EQ(received.size(), 5u);  // four pieces and the finish chunk
  EXPECT_EQ(received[0].chunk.content, "Hel");
  EXPECT_EQ(received[3].chunk.content, "ld");
  EXPECT_EQ(received[4].chunk.finish_reason, "stop");
  // The fixture waits 300 ms between pieces: the first must reach the sink long before the end.
  EXPECT_LT(received[0].at - start, end - start - milliseconds(700));
  EXPECT_GT(received[3].at - received[0].at, milliseconds(700));
}

TEST_F(OpenAiProviderTest, SendsTheRequestWithStreamOptionsAuthAndExtraHeaders) {
  OpenAiProvider provider(Config());
  ChatRequest request = Request();
  request.temperature = 0.5;
  request.max_tokens = 64;
  request.tools = Json::parse(
      R"([{"type":"function","function":{"name":"now","parameters":{"type":"object"}}}])");
  request.tool_choice = "auto";
  request.extra = {{"seed", 7}, {"stream", false}};
  auto result = provider.Complete(request, {});
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->content, "Hello, world");

  const Json requests = server_->Get("/_requests");
  ASSERT_EQ(requests.size(), 1u);
  const Json& headers = requests[0]["headers"];
  EXPECT_EQ(requests[0]["path"], "/v1/chat/completions");
  EXPECT_EQ(headers["authorization"], std::string("Bearer ") + kApiKey);
  EXPECT_EQ(headers["x-steward-test"], "yes");
  EXPECT_EQ(headers["content-type"], "application/json");
  const Json& body = requests[0]["body"];
  EXPECT_EQ(body["model"], "gpt-fixture");
  EXPECT_EQ(body["messages"], request.messages);
  EXPECT_EQ(body["stream"], true) << "extra must not override stream";
  EXPECT_EQ(body["stream_options"], Json::parse(R"({"include_usage":true})"));
  EXPECT_EQ(body["temperature"], 0.5);
  EXPECT_EQ(body["max_tokens"], 64);
  EXPECT_EQ(body["tools"], request.tools);
  EXPECT_EQ(body["tool_choice"], "auto");
  EXPECT_EQ(body["seed"], 7);
}

TEST_F(OpenAiProviderTest, OmitsAuthorizationWithoutAnApiKey) {
  ProviderConfig config = Config();
  config.api_key.clear();
  OpenAiProvider provider(config);
  ASSERT_TRUE(provider.Complete(Request(), {}).ok());
  EXPECT_FALSE(server_->Get("/_requests")[0]["headers"].contains("authorization"));
}

TEST_F(OpenAiProviderTest, AssemblesStreamedToolCalls) {
  Script(Json::parse(R"({"text": [], "tool_calls": [
      {"id": "call_a", "name": "get_weather", "arguments": ["{\"ci", "ty\": \"Pa", "ris\"}"]},
      {"id": "call_b", "name": "now", "arguments": ["{}"]}]})"));
  OpenAiProvider provider(Config());
  std::vector<Received> received;
  auto result = Run(provider, received);
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->content, "");
  EXPECT_EQ(result->finish_reason, "tool_calls");
  EXPECT_EQ(result->tool_calls, Json::parse(R"([
    {"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},
    {"id":"call_b","type":"function","function":{"name":"now","arguments":"{}"}}])"));
  ASSERT_GE(received.size(), 2u);
  EXPECT_EQ(received[0].chunk.tool_calls[0]["index"], 0);
  EXPECT_EQ(received[0].chunk.tool_calls[0]["id"], "call_a");
}

TEST_F(OpenAiProviderTest, ParsesCrlfCommentsSplitEventsAndMultiLineData) {
  Script({{"text", {"one ", "two ", "three"}}, {"crlf", true}, {"comments", true},
          {"split", true}, {"multiline", true}});
  OpenAiProvider provider(Config());
  std::vector<Received> received;
  auto result = Run(provider, received);
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->content, "one two three");
  EXPECT_EQ(result->usage.prompt_tokens, 11);
  EXPECT_EQ(received.size(), 4u);
}

TEST_F(OpenAiProviderTest, AcceptsAWholeJsonAnswerFromServersThatDoNotStream) {
  Script(Json::parse(R"({"mode": "json", "text": ["All at once"],
      "tool_calls": [{"id": "call_1", "name": "now", "arguments": ["{\"tz\":\"UTC\"}"]}],
      "usage": {"prompt_tokens": 5, "completion_tokens": 3}})"));
  OpenAiProvider provider(Config());
  std::vector<Received> received;
  auto result = Run(provider, received);
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->content, "All at once");
  EXPECT_EQ(result->finish_reason, "tool_calls");
  EXPECT_EQ(result->tool_calls[0]["function"]["arguments"], "{\"tz\":\"UTC\"}");
  EXPECT_EQ(result->usage.prompt_tokens, 5);
  EXPECT_EQ(result->usage.completion_tokens, 3);
  EXPECT_EQ(received.size(), 1u);
}

TEST_F(OpenAiProviderTest, CompletesWithoutUsageWhenTheServerIgnoresStreamOptions) {
  Script({{"ignore_stream_options", true}});
  OpenAiProvider provider(Config());
  auto result = provider.Complete(Request(), {});
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->content, "Hello, world");
  EXPECT_EQ(result->usage.total(), 0);
}

TEST_F(OpenAiProviderTest, MapsHttpErrorsToCodesWithTheUpstreamMessageAndNoKey) {
  struct Case {
    int status;
    ErrorCode code;
  };
  const std::vector<Case> cases = {
      {400, ErrorCode::kInvalidArgument}, {401, ErrorCode::kUnavailable},
      {404, ErrorCode::kInvalidArgument}, {408, ErrorCode::kDeadlineExceeded},
      {429, ErrorCode::kUnavailable},     {500, ErrorCode::kUnavailable},
      {503, ErrorCode::kUnavailable},     {504, ErrorCode::kDeadlineExceeded},
  };
  OpenAiProvider provider(Config());
  for (const auto& c : cases) {
    // Upstreams do echo keys back (e.g. "Incorrect API key provided: sk-...").
    const std::string upstream = "Upstream says no (" + std::to_string(c.status) + ") to " + kApiKey;
    Script({{"status", c.status}, {"error_message", upstream}});
    auto result = provider.Complete(Request(), {});
    ASSERT_FALSE(result.ok()) << c.status;
    const std::string text = result.error().ToString();
    EXPECT_EQ(result.error().code, c.code) << text;
    EXPECT_NE(text.find("Upstream says no (" + std::to_string(c.status) + ")"), std::string::npos)
        << text;
    EXPECT_NE(text.find("HTTP " + std::to_string(c.status)), std::string::npos) << text;
    EXPECT_NE(text.find("local-openai"), std::string::npos) << text;
    EXPECT_NE(text.find(server_->Url("/v1/chat/completions")), std::string::npos) << text;
    EXPECT_EQ(text.find(kApiKey), std::string::npos) << text;
  }
}

TEST_F(OpenAiProviderTest, ReportsAnErrorSentMidStream) {
  Script({{"stream_error", "the model crashed"}});
  OpenAiProvider provider(Config());
  auto result = provider.Complete(Request(), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(result.error().message.find("the model crashed"), std::string::npos)
      << result.error().message;
}

TEST_F(OpenAiProviderTest, TreatsAStreamEndingBeforeTheAnswerAsUnavailable) {
  Script({{"no_finish", true}});
  OpenAiProvider provider(Config());
  auto result = provider.Complete(Request(), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(result.error().message.find("ended before"), std::string::npos);
}

TEST_F(OpenAiProviderTest, ReportsConnectionRefusedAsUnavailableNamingProviderAndUrl) {
  ProviderConfig config = Config();
  config.base_url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/v1";
  OpenAiProvider provider(config);
  auto result = provider.Complete(Request(), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(result.error().message.find("local-openai"), std::string::npos);
  EXPECT_NE(result.error().message.find(config.base_url + "/chat/completions"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(result.error().ToString().find(kApiKey), std::string::npos);
}

TEST_F(OpenAiProviderTest, RejectsANonHttpBaseUrlAsAConfigError) {
  ProviderConfig config = Config();
  config.base_url = "file:///etc";
  OpenAiProvider provider(config);
  auto result = provider.Complete(Request(), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kConfig) << result.error().ToString();
}

TEST_F(OpenAiProviderTest, TimesOutWithDeadlineExceededWhenNoAnswerComes) {
  Script({{"first_byte_delay_ms", 5000}});
  ProviderConfig config = Config();
  config.timeout = milliseconds(600);
  OpenAiProvider provider(config);
  const auto start = Clock::now();
  auto result = provider.Complete(Request(), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kDeadlineExceeded) << result.error().ToString();
  EXPECT_LT(Clock::now() - start, milliseconds(3000));
}

TEST_F(OpenAiProviderTest, TimesOutMidStream) {
  Script({{"text", {"a", "b", "c", "d"}}, {"delay_ms", 1000}});
  ProviderConfig config = Config();
  config.timeout = milliseconds(800);
  OpenAiProvider provider(config);
  std::vector<Received> received;
  auto result = Run(provider, received);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kDeadlineExceeded) << result.error().ToString();
  EXPECT_EQ(received.size(), 1u) << "the first piece arrived before the deadline";
}

TEST_F(OpenAiProviderTest, SinkReturningFalseCancelsPromptly) {
  Json text = Json::array();
  for (int i = 0; i < 20; ++i) text.push_back("piece " + std::to_string(i) + " ");
  Script({{"text", text}, {"delay_ms", 300}});  // six seconds if read to the end
  OpenAiProvider provider(Config());
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

TEST_F(OpenAiProviderTest, ServesConcurrentCallsFromManyThreads) {
  OpenAiProvider provider(Config());
  for (int i = 0; i < 4; ++i) Script({{"text", {"t" + std::to_string(i)}}, {"delay_ms", 200}});
  std::vector<std::string> contents(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto result = provider.Complete(Request(), {});
      contents[i] = result.ok() ? result->content : "error: " + result.error().ToString();
    });
  }
  for (auto& thread : threads) thread.join();
  std::sort(contents.begin(), contents.end());
  EXPECT_EQ(contents, (std::vector<std::string>{"t0", "t1", "t2", "t3"}));
  // A second round reuses pooled handles.
  auto again = provider.Complete(Request(), {});
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(again->content, "Hello, world");
}

}  // namespace
}  // namespace steward::models
