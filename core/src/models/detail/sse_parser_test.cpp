#include "models/detail/sse_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace steward::models::detail {
namespace {

struct Case {
  std::string name;
  std::string input;
  std::vector<SseEvent> expected;  // including what Finish() returns
};

std::vector<Case> Cases() {
  return {
      {"SingleEventLf", "data: hello\n\n", {{"", "hello", ""}}},
      {"SingleEventCrlf", "data: hello\r\n\r\n", {{"", "hello", ""}}},
      {"SingleEventCrOnly", "data: hello\r\r", {{"", "hello", ""}}},
      {"EventTypeAndId", "event: message_start\nid: 7\ndata: {\"a\":1}\n\n",
       {{"message_start", "{\"a\":1}", "7"}}},
      {"MultiLineDataJoinsWithNewline", "data: {\"a\":\ndata: 1}\n\n", {{"", "{\"a\":\n1}", ""}}},
      {"CommentsAreIgnored", ": keep-alive\n\n:ping\ndata: x\n: mid\n\n", {{"", "x", ""}}},
      {"NoSpaceAfterColon", "data:x\n\n", {{"", "x", ""}}},
      {"OnlyOneLeadingSpaceRemoved", "data:  two\n\n", {{"", " two", ""}}},
      {"FieldWithoutColonIsEmptyValue", "data\n\n", {{"", "", ""}}},
      {"EmptyDataLineStillDispatches", "data:\n\n", {{"", "", ""}}},
      {"EventWithoutDataIsNotDispatched", "event: ping\n\ndata: y\n\n", {{"", "y", ""}}},
      {"EventTypeResetsBetweenEvents", "event: a\ndata: 1\n\ndata: 2\n\n",
       {{"a", "1", ""}, {"", "2", ""}}},
      {"IdPersistsAcrossEvents", "id: 5\ndata: 1\n\ndata: 2\n\n", {{"", "1", "5"}, {"", "2", "5"}}},
      {"UnknownFieldsAndRetryIgnored", "retry: 100\nfoo: bar\ndata: z\n\n", {{"", "z", ""}}},
      {"MixedLineEndings", "data: a\r\ndata: b\ndata: c\r\r\n", {{"", "a\nb\nc", ""}}},
      {"BomAtStartIsSkipped", "\xEF\xBB\xBF" "data: bom\n\n", {{"", "bom", ""}}},
      {"OpenAiStream",
       "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
       "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3}}\n\n"
       "data: [DONE]\n\n",
       {{"", "{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}", ""},
        {"", "{\"choices\":[],\"usage\":{\"prompt_tokens\":3}}", ""},
        {"", "[DONE]", ""}}},
      {"AnthropicStreamCrlf",
       "event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n"
       "event: ping\r\ndata: {\"type\":\"ping\"}\r\n\r\n",
       {{"message_start", "{\"type\":\"message_start\"}", ""}, {"ping", "{\"type\":\"ping\"}", ""}}},
      {"UnterminatedLastEventIsReturnedByFinish", "data: a\n\ndata: tail",
       {{"", "a", ""}, {"", "tail", ""}}},
      {"UnterminatedLastEventWithNewline", "data: a\n\ndata: tail\n", {{"", "a", ""}, {"", "tail", ""}}},
      {"Utf8PassesThrough", "data: caf\xC3\xA9 \xE2\x9C\x93\n\n", {{"", "caf\xC3\xA9 \xE2\x9C\x93", ""}}},
      {"EmptyStream", "", {}},
  };
}

std::vector<SseEvent> ParseInPieces(const std::string& input, const std::vector<size_t>& cuts) {
  SseParser parser;
  std::vector<SseEvent> events;
  size_t start = 0;
  for (size_t cut : cuts) {
    EXPECT_TRUE(parser.Feed(std::string_view(input).substr(start, cut - start), events));
    start = cut;
  }
  EXPECT_TRUE(parser.Feed(std::string_view(input).substr(start), events));
  if (auto last = parser.Finish()) events.push_back(*last);
  return events;
}

std::string Describe(const std::vector<SseEvent>& events) {
  std::string out;
  for (const auto& e : events) out += "{" + e.event + "|" + e.data + "|" + e.id + "} ";
  return out;
}

TEST(SseParser, ParsesWholeInput) {
  for (const auto& c : Cases()) {
    EXPECT_EQ(Describe(ParseInPieces(c.input, {})), Describe(c.expected)) << c.name;
  }
}

TEST(SseParser, ParsesInputSplitAtEveryByte) {
  for (const auto& c : Cases()) {
    for (size_t cut = 0; cut <= c.input.size(); ++cut) {
      EXPECT_EQ(Describe(ParseInPieces(c.input, {cut})), Describe(c.expected))
          << c.name << " split at " << cut;
    }
  }
}

TEST(SseParser, ParsesInputSplitAtEveryPairOfPositions) {
  for (const auto& c : Cases()) {
    for (size_t a = 0; a <= c.input.size(); ++a) {
      for (size_t b = a; b <= c.input.size(); ++b) {
        EXPECT_EQ(Describe(ParseInPieces(c.input, {a, b})), Describe(c.expected))
            << c.name << " split at " << a << "," << b;
      }
    }
  }
}

TEST(SseParser, ParsesInputFedOneByteAtATime) {
  for (const auto& c : Cases()) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < c.input.size(); ++i) cuts.push_back(i);
    EXPECT_EQ(Describe(ParseInPieces(c.input, cuts)), Describe(c.expected)) << c.name;
  }
}

TEST(SseParser, DispatchesEventsAsSoonAsTheBlankLineArrives) {
  SseParser parser;
  std::vector<SseEvent> events;
  ASSERT_TRUE(parser.Feed("data: first\n", events));
  EXPECT_TRUE(events.empty());
  ASSERT_TRUE(parser.Feed("\ndata: sec", events));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "first");
  ASSERT_TRUE(parser.Feed("ond\n\n", events));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].data, "second");
}

TEST(SseParser, CrlfSplitBetweenCrAndLfDoesNotEndTheEvent) {
  SseParser parser;
  std::vector<SseEvent> events;
  ASSERT_TRUE(parser.Feed("data: a\r", events));
  ASSERT_TRUE(parser.Feed("\ndata: b\r", events));
  EXPECT_TRUE(events.empty()) << "the LF after CR must not count as a blank line";
  ASSERT_TRUE(parser.Feed("\n\r\n", events));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "a\nb");
}

TEST(SseParser, RejectsALineLongerThanTheLimit) {
  SseParser parser;
  std::vector<SseEvent> events;
  const std::string big(SseParser::kMaxEventBytes + 1, 'x');
  EXPECT_FALSE(parser.Feed("data: " + big, events));
  EXPECT_TRUE(parser.overflowed());
  EXPECT_FALSE(parser.Feed("data: ok\n\n", events));
  EXPECT_TRUE(events.empty());
}

}  // namespace
}  // namespace steward::models::detail
