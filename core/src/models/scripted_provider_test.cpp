#include "models/scripted_provider.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

namespace steward::models {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

ProviderConfig Config(std::chrono::milliseconds timeout = std::chrono::milliseconds(120'000)) {
  ProviderConfig c;
  c.name = "script";
  c.kind = "scripted";
  c.timeout = timeout;
  return c;
}

std::unique_ptr<ScriptedProvider> Make(const std::string& yaml, ProviderConfig config = Config()) {
  auto p = ScriptedProvider::Parse(config, yaml, "test.yaml");
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().ToString());
  return p.ok() ? std::move(p).value() : nullptr;
}

ChatRequest UserSays(const std::string& text) {
  ChatRequest r;
  r.messages = Json::array({{{"role", "user"}, {"content", text}}});
  return r;
}

ChatRequest AfterTool(const std::string& question) {
  ChatRequest r = UserSays(question);
  r.messages.push_back({{"role", "assistant"},
                        {"tool_calls", {{{"id", "c1"}, {"type", "function"},
                                         {"function", {{"name", "t"}, {"arguments", "{}"}}}}}}});
  r.messages.push_back({{"role", "tool"}, {"tool_call_id", "c1"}, {"content", "result"}});
  return r;
}

std::string ContentOf(ScriptedProvider& p, const ChatRequest& r) {
  auto result = p.Complete(r, {});
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().ToString());
  return result.ok() ? result->content : "";
}

TEST(ScriptedProvider, PicksTheFirstEntryWhoseRegexMatchesTheLastUserMessage) {
  auto p = Make(R"yaml(
responses:
  - match: "weather in (Paris|Rome)"
    content: "Sunny."
  - match: "weather"
    content: "Which city?"
  - content: "default"
)yaml");
  EXPECT_EQ(ContentOf(*p, UserSays("what is the weather in Rome today")), "Sunny.");
  EXPECT_EQ(ContentOf(*p, UserSays("weather please")), "Which city?");
  EXPECT_EQ(ContentOf(*p, UserSays("hello")), "default");
}

TEST(ScriptedProvider, MatchesTextPartsOfTheUserMessage) {
  auto p = Make("responses:\n  - match: needle\n    content: found\n  - content: missed\n");
  ChatRequest r;
  r.messages = Json::array({{{"role", "user"}, {"content", {{{"type", "text"}, {"text", "a needle here"}}}}}});
  EXPECT_EQ(ContentOf(*p, r), "found");
}

TEST(ScriptedProvider, DefaultsAreUsedInTurnAndCycle) {
  auto p = Make(R"yaml(
responses:
  - content: one
  - match: never-matches-anything
    content: x
  - content: two
)yaml");
  EXPECT_EQ(ContentOf(*p, UserSays("a")), "one");
  EXPECT_EQ(ContentOf(*p, UserSays("b")), "two");
  EXPECT_EQ(ContentOf(*p, UserSays("c")), "one");
}

TEST(ScriptedProvider, DefaultCursorIsSharedSafelyAcrossThreads) {
  auto p = Make("responses:\n  - content: a\n  - content: b\n");
  std::atomic<int> as{0};
  std::atomic<int> bs{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) (ContentOf(*p, UserSays("x")) == "a" ? as : bs)++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(as.load(), 1000);
  EXPECT_EQ(bs.load(), 1000);
}

TEST(ScriptedProvider, AfterToolEntriesAnswerToolResultsAndMatchEntriesDoNot) {
  auto p = Make(R"yaml(
responses:
  - match: "search"
    tool_calls: [{name: web.search, arguments: {query: "x"}}]
  - when: after_tool
    match: "search"
    content: "Here is what I found."
  - content: "fallback"
)yaml");
  const auto first = p->Complete(UserSays("search x"), {});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->finish_reason, "tool_calls");
  EXPECT_EQ(ContentOf(*p, AfterTool("search x")), "Here is what I found.");
  EXPECT_EQ(ContentOf(*p, AfterTool("something else")), "fallback");
}

TEST(ScriptedProvider, StreamsToolCallsAsOpenAiDeltas) {
  auto p = Make(R"yaml(
responses:
  - content: "Let me look."
    tool_calls:
      - name: memory.search
        arguments: {query: "rust", limit: 3, exact: false, tag: "7"}
      - name: web.search
        arguments: '{"query": broken'
        id: my-id
)yaml");
  std::vector<ChatChunk> chunks;
  const auto r = p->Complete(UserSays("go"), [&](const ChatChunk& c) {
    chunks.push_back(c);
    return true;
  });
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(chunks.size(), 5u);  // "Let", " me", " look.", two tool calls
  EXPECT_EQ(chunks[3].tool_calls[0]["index"], 0);
  EXPECT_EQ(chunks[3].tool_calls[0]["id"], "call_0_0");
  EXPECT_EQ(chunks[4].tool_calls[0]["index"], 1);
  EXPECT_EQ(chunks[4].finish_reason, "tool_calls");
  EXPECT_EQ(r->content, "Let me look.");
  ASSERT_EQ(r->tool_calls.size(), 2u);
  EXPECT_EQ(Json::parse(r->tool_calls[0]["function"]["arguments"].get<std::string>()),
            Json({{"query", "rust"}, {"limit", 3}, {"exact", false}, {"tag", "7"}}));
  EXPECT_EQ(r->tool_calls[1]["id"], "my-id");
  EXPECT_EQ(r->tool_calls[1]["function"]["arguments"], R"({"query": broken)");
  EXPECT_EQ(r->finish_reason, "tool_calls");
}

TEST(ScriptedProvider, SplitsContentIntoWordChunksAndKeepsExplicitChunks) {
  auto p = Make("responses:\n  - match: a\n    content: \"It is  sunny.\"\n  - chunks: [\"He\", \"llo\", \"!\"]\n");
  std::vector<std::string> chunks;
  auto sink = [&](const ChatChunk& c) {
    chunks.push_back(c.content);
    return true;
  };
  ASSERT_TRUE(p->Complete(UserSays("a"), sink).ok());
  EXPECT_EQ(chunks, (std::vector<std::string>{"It", " is", "  sunny."}));
  chunks.clear();
  auto r = p->Complete(UserSays("b"), sink);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(chunks, (std::vector<std::string>{"He", "llo", "!"}));
  EXPECT_EQ(r->content, "Hello!");
  EXPECT_EQ(r->finish_reason, "stop");
}

TEST(ScriptedProvider, AppliesFirstAndChunkDelays) {
  auto p = Make("responses:\n  - chunks: [a, b, c]\n    first_delay_ms: 60\n    chunk_delay_ms: 30\n");
  const auto start = Clock::now();
  std::vector<double> at_ms;
  auto r = p->Complete(UserSays("x"), [&](const ChatChunk&) {
    at_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    return true;
  });
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(at_ms.size(), 3u);
  EXPECT_GE(at_ms[0], 60);
  EXPECT_GE(at_ms[1] - at_ms[0], 30);
  EXPECT_GE(at_ms[2] - at_ms[1], 30);
  EXPECT_GE(at_ms[2], 120);
}

TEST(ScriptedProvider, DelaysBeyondTheTimeoutFailWithDeadlineExceeded) {
  auto p = Make("responses:\n  - content: late\n    first_delay_ms: 5000\n", Config(std::chrono::milliseconds(50)));
  const auto start = Clock::now();
  auto r = p->Complete(UserSays("x"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1000));
}

TEST(ScriptedProvider, ErrorEntriesFailWithTheMappedCode) {
  auto p = Make(R"yaml(
responses:
  - match: busy
    error: {status: 503, message: "overloaded"}
  - match: bad
    error: {status: 400, message: "bad request"}
  - match: cut
    content: "partial answer"
    error: {message: "connection reset"}
  - content: ok
)yaml");
  auto busy = p->Complete(UserSays("busy"), {});
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(busy.error().ToString(), AllOf(HasSubstr("HTTP 503: overloaded"), HasSubstr("provider script")));
  auto bad = p->Complete(UserSays("bad"), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);

  std::string streamed;
  auto cut = p->Complete(UserSays("cut"), [&](const ChatChunk& c) {
    streamed += c.content;
    EXPECT_FALSE(c.finish_reason.has_value());
    return true;
  });
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(streamed, "partial answer");
  EXPECT_THAT(cut.error().message, HasSubstr("HTTP 500: connection reset"));
}

TEST(ScriptedProvider, UsesScriptedUsageOrEstimatesIt) {
  auto p = Make(R"yaml(
responses:
  - match: fixed
    content: "abc"
    usage: {prompt_tokens: 10, completion_tokens: 5}
  - content: "abcdefgh"
)yaml");
  auto fixed = p->Complete(UserSays("fixed"), {});
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->usage.prompt_tokens, 10);
  EXPECT_EQ(fixed->usage.completion_tokens, 5);
  auto estimated = p->Complete(UserSays("123456789"), {});  // 9 bytes -> 3 tokens; 8 bytes -> 2
  ASSERT_TRUE(estimated.ok());
  EXPECT_EQ(estimated->usage.prompt_tokens, 3);
  EXPECT_EQ(estimated->usage.completion_tokens, 2);
}

TEST(ScriptedProvider, StopsWhenTheSinkReturnsFalse) {
  auto p = Make("responses:\n  - content: \"one two three four\"\n    chunk_delay_ms: 1\n");
  int seen = 0;
  auto r = p->Complete(UserSays("x"), [&](const ChatChunk&) { return ++seen < 2; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(seen, 2);
}

TEST(ScriptedProvider, FailsWhenNothingMatchesAndThereIsNoDefault) {
  auto p = Make("responses:\n  - match: hello\n    content: hi\n");
  auto r = p->Complete(UserSays("goodbye"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().ToString(), AllOf(HasSubstr("no response in the script matches"), HasSubstr("goodbye"),
                                          HasSubstr("test.yaml")));
}

TEST(ScriptedProvider, ZeroDelayReplayIsFast) {
  auto p = Make("responses:\n  - content: \"The quick brown fox jumps over the lazy dog.\"\n");
  const ChatRequest request = UserSays("x");
  size_t chunks = 0;
  const ChunkSink sink = [&](const ChatChunk&) {
    ++chunks;
    return true;
  };
  const auto start = Clock::now();
  constexpr int kCalls = 20'000;
  for (int i = 0; i < kCalls; ++i) ASSERT_TRUE(p->Complete(request, sink).ok());
  const auto per_call = std::chrono::duration<double, std::micro>(Clock::now() - start).count() / kCalls;
  EXPECT_EQ(chunks, 9u * kCalls);
  // Generous on a shared machine; a real sleep or per-call parsing would blow through it.
  EXPECT_LT(per_call, 100.0);
}

// ---- Loading and validation -------------------------------------------------------------------

struct BadScript {
  std::string yaml;
  std::string context;  // expected substring of Error::context
  std::string message;  // expected substring of Error::message
};

class ScriptValidation : public ::testing::TestWithParam<BadScript> {};

TEST_P(ScriptValidation, NamesTheFileEntryFieldAndExpectation) {
  const auto& c = GetParam();
  auto p = ScriptedProvider::Parse(Config(), c.yaml, "bad.yaml");
  ASSERT_FALSE(p.ok()) << c.yaml;
  EXPECT_EQ(p.error().code, ErrorCode::kConfig);
  EXPECT_THAT(p.error().context, AllOf(HasSubstr("bad.yaml"), HasSubstr(c.context))) << c.yaml;
  EXPECT_THAT(p.error().message, HasSubstr(c.message)) << c.yaml;
}

INSTANTIATE_TEST_SUITE_P(
    ScriptedProvider, ScriptValidation,
    ::testing::Values(
        BadScript{"responses: [", "line", "not valid YAML"},
        BadScript{"- content: x", "", "expected a map with `responses:`"},
        BadScript{"responses: []", "responses", "non-empty list"},
        BadScript{"answers: []", "answers", "unknown field; expected one of: responses"},
        BadScript{"responses:\n  - content: x\n    chunk_delay_ms: abc", "responses[0].chunk_delay_ms (line 3)",
                  "expected a whole number of milliseconds from 0 to 3600000, got \"abc\""},
        BadScript{"responses:\n  - content: x\n  - content: y\n    first_delay_ms: -5",
                  "responses[1].first_delay_ms", "got \"-5\""},
        BadScript{"responses:\n  - contnet: x", "responses[0].contnet", "unknown field"},
        BadScript{"responses:\n  - match: \"(\"\n    content: x", "responses[0].match", "invalid regular expression"},
        BadScript{"responses:\n  - when: before_tool\n    content: x", "responses[0].when", "expected \"after_tool\""},
        BadScript{"responses:\n  - content: x\n    chunks: [x]", "responses[0].chunks", "either content or chunks"},
        BadScript{"responses:\n  - chunks: [a, [b]]", "responses[0].chunks[1]", "expected a string, got a list"},
        BadScript{"responses:\n  - tool_calls: [{arguments: {}}]", "responses[0].tool_calls[0].name", "missing"},
        BadScript{"responses:\n  - tool_calls: [{name: t, arguments: [1]}]", "responses[0].tool_calls[0].arguments",
                  "expected a map"},
        BadScript{"responses:\n  - error: {status: 99, message: x}", "responses[0].error.status", "HTTP status"},
        BadScript{"responses:\n  - error: {status: 500}", "responses[0].error.message", "missing"},
        BadScript{"responses:\n  - usage: {prompt: 1}\n    content: x", "responses[0].usage.prompt", "unknown field"},
        BadScript{"responses:\n  - match: x", "responses[0]", "needs content, chunks, tool_calls or error"},
        BadScript{"responses:\n  - just text", "responses[0]", "expected a map"}));

class ScriptFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("steward_scripted_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  std::filesystem::path dir_;
};

TEST_F(ScriptFile, LoadsAScriptFromItsPath) {
  ProviderConfig config = Config();
  config.script = Write("ok.yaml", "responses:\n  - content: hi\n  - content: there\n");
  auto p = ScriptedProvider::Load(config);
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ((*p)->size(), 2u);
  EXPECT_EQ((*p)->kind(), "scripted");
  EXPECT_EQ(ContentOf(**p, UserSays("x")), "hi");
}

TEST_F(ScriptFile, ErrorsNameTheFile) {
  ProviderConfig config = Config();
  config.script = Write("bad.yaml", "responses:\n  - content: x\n    chunk_delay_ms: slow\n");
  auto p = ScriptedProvider::Load(config);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.error().ToString(), AllOf(HasSubstr(config.script), HasSubstr("responses[0].chunk_delay_ms")));
}

TEST_F(ScriptFile, MissingFileOrPathIsAConfigError) {
  ProviderConfig config = Config();
  config.script = (dir_ / "nope.yaml").string();
  auto missing = ScriptedProvider::Load(config);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kConfig);
  EXPECT_EQ(missing.error().context, config.script);
  config.script.clear();
  auto empty = ScriptedProvider::Load(config);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().context, "providers.script.script");
}

}  // namespace
}  // namespace steward::models
