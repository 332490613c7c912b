#include "tools/detail/mcp_frame.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace steward::tools::detail {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

ParsedFrame One(std::string_view text) {
  auto frames = ParseFrames(text);
  EXPECT_EQ(frames.size(), 1u) << text;
  return frames.empty() ? ParsedFrame{} : frames.front();
}

TEST(ParseFrames, ReadsEachKindOfMessage) {
  auto result = One(R"({"jsonrpc":"2.0","id":3,"result":{"tools":[]}})");
  ASSERT_TRUE(result.frame);
  EXPECT_EQ(result.frame->kind, FrameKind::kResult);
  EXPECT_EQ(result.frame->id, 3);
  EXPECT_EQ(result.frame->result, json({{"tools", json::array()}}));

  auto error = One(R"({"jsonrpc":"2.0","id":"a","error":{"code":-32602,"message":"bad","data":1}})");
  ASSERT_TRUE(error.frame);
  EXPECT_EQ(error.frame->kind, FrameKind::kError);
  EXPECT_EQ(error.frame->id, "a");
  EXPECT_EQ(error.frame->error_code, -32602);
  EXPECT_EQ(error.frame->error_message, "bad");
  EXPECT_EQ(error.frame->error_data, 1);

  auto request = One(R"({"jsonrpc":"2.0","id":9,"method":"roots/list"})");
  ASSERT_TRUE(request.frame);
  EXPECT_EQ(request.frame->kind, FrameKind::kRequest);
  EXPECT_EQ(request.frame->method, "roots/list");
  EXPECT_EQ(request.frame->params, json::object());

  auto note = One(R"({"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":null})");
  ASSERT_TRUE(note.frame);
  EXPECT_EQ(note.frame->kind, FrameKind::kNotification);
  EXPECT_TRUE(note.frame->id.is_null());
}

TEST(ParseFrames, SplitsBatches) {
  auto frames = ParseFrames(R"([{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"1.0","id":2,"result":{}}])");
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_TRUE(frames[0].frame);
  EXPECT_FALSE(frames[1].frame);
  EXPECT_EQ(frames[1].id, 2);
  EXPECT_THAT(One("[]").problem, HasSubstr("empty"));
}

struct BadFrame {
  const char* text;
  const char* problem;  // a substring of the expected problem
  json id;              // the request the problem is attributed to
};

TEST(ParseFrames, ReportsEveryMalformedFrameWithoutThrowing) {
  const BadFrame cases[] = {
      {"this is not json", "not valid JSON", nullptr},
      {"{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":", "not valid JSON", 4},
      {"\"just a string\"", "must be an object", nullptr},
      {R"({"jsonrpc":"1.0","id":5,"result":{}})", "\"jsonrpc\" must be \"2.0\"", 5},
      {R"({"id":6,"result":{}})", "\"jsonrpc\" must be \"2.0\", got nothing", 6},
      {R"({"jsonrpc":"2.0","id":7,"result":{},"error":{"code":1,"message":"x"}})", "both", 7},
      {R"({"jsonrpc":"2.0","id":8})", "needs \"method\"", 8},
      {R"({"jsonrpc":"2.0","id":9,"error":"boom"})", "must be an object {code, message}", 9},
      {R"({"jsonrpc":"2.0","id":10,"error":{"code":"x","message":"m"}})", "integer \"code\"", 10},
      {R"({"jsonrpc":"2.0","id":{"a":1},"result":{}})", "string or an integer", nullptr},
      {R"({"jsonrpc":"2.0","id":1.5,"result":{}})", "string or an integer", nullptr},
      {R"({"jsonrpc":"2.0","method":7})", "non-empty string", nullptr},
      {R"({"jsonrpc":"2.0","method":"x","params":[1]})", "must be an object", nullptr},
      {R"({"jsonrpc":"2.0","result":{}})", "must carry the \"id\"", nullptr},
  };
  for (const auto& c : cases) {
    const ParsedFrame parsed = One(c.text);
    EXPECT_FALSE(parsed.frame) << c.text;
    EXPECT_THAT(parsed.problem, HasSubstr(c.problem)) << c.text;
    EXPECT_EQ(parsed.id, c.id) << c.text;
  }
}

TEST(ParseFrames, RefusesAbsurdNesting) {
  const std::string deep = std::string(1000, '[') + std::string(1000, ']');
  EXPECT_THAT(One(deep).problem, HasSubstr("nested deeper"));
}

TEST(PeekResponseId, FindsTheTopLevelIdAtEitherEnd) {
  EXPECT_EQ(PeekResponseId(R"({"jsonrpc":"2.0","id":12,"result":{"content":[)", ""), 12);
  EXPECT_EQ(PeekResponseId(R"({"id":"x-1","jsonrpc":"2.0")", ""), "x-1");
  EXPECT_EQ(PeekResponseId("garbage", R"(aaa"}]},"jsonrpc":"2.0","id":13})"), 13);
  // Ids inside the payload are not the response's.
  EXPECT_TRUE(PeekResponseId(R"({"result":{"id":5,)", R"(...,"id":5}})").is_null());
  EXPECT_TRUE(PeekResponseId("", "").is_null());
}

TEST(LineSplitter, SplitsAcrossChunksAndLineEndings) {
  LineSplitter splitter;
  std::vector<LineSplitter::Line> lines;
  splitter.Feed("{\"a\":", lines);
  EXPECT_TRUE(lines.empty());
  EXPECT_EQ(splitter.pending(), 5u);
  splitter.Feed("1}\r\n\n  \n{\"b\":2}\n{\"c\"", lines);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, "{\"a\":1}");
  EXPECT_EQ(lines[1].text, "{\"b\":2}");
  EXPECT_EQ(splitter.pending(), 4u);
}

TEST(LineSplitter, ReportsAnOversizedLineAndResynchronises) {
  LineSplitter splitter(/*max_line=*/1000);
  std::vector<LineSplitter::Line> lines;
  const std::string big_head = R"({"jsonrpc":"2.0","id":77,"result":{"text":")";
  splitter.Feed(big_head, lines);
  for (int i = 0; i < 10; ++i) splitter.Feed(std::string(500, 'x'), lines);
  splitter.Feed("\"}}\n{\"jsonrpc\":\"2.0\",\"id\":78,\"result\":{}}\n", lines);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0].oversized);
  EXPECT_EQ(lines[0].size, big_head.size() + 5000 + 3);
  EXPECT_TRUE(lines[0].text.empty());
  EXPECT_EQ(lines[0].head.substr(0, big_head.size()), big_head);
  EXPECT_EQ(lines[0].tail.substr(lines[0].tail.size() - 3), "\"}}");
  EXPECT_EQ(PeekResponseId(lines[0].head, lines[0].tail), 77);
  EXPECT_FALSE(lines[1].oversized);
  EXPECT_EQ(lines[1].text, R"({"jsonrpc":"2.0","id":78,"result":{}})");
}

TEST(LineSplitter, OversizedInOneChunkKeepsBothEnds) {
  LineSplitter splitter(/*max_line=*/100);
  std::vector<LineSplitter::Line> lines;
  const std::string line = "{" + std::string(300, 'y') + R"(,"id":5})";
  splitter.Feed(line + "\n", lines);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].oversized);
  EXPECT_EQ(lines[0].size, line.size());
  EXPECT_EQ(lines[0].head.size(), LineSplitter::kKeep);
  EXPECT_EQ(lines[0].tail, line.substr(line.size() - LineSplitter::kKeep));
}

}  // namespace
}  // namespace steward::tools::detail
