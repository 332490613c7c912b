#include "models/detail/anthropic_translate.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace steward::models::detail {
namespace {

ChatRequest Request(Json messages) {
  ChatRequest request;
  request.model = "claude-test";
  request.messages = std::move(messages);
  return request;
}

Json Translate(const ChatRequest& request) {
  auto body = ToAnthropicRequest(request);
  EXPECT_TRUE(body.ok()) << (body.ok() ? "" : body.error().ToString());
  return body.ok() ? *body : Json();
}

TEST(AnthropicRequest, MovesSystemMessagesToTopLevelAndDefaultsMaxTokens) {
  const Json body = Translate(Request(Json::parse(R"([
    {"role":"system","content":"Be brief."},
    {"role":"developer","content":[{"type":"text","text":"Use metric units."}]},
    {"role":"user","content":"Hi"}
  ])")));
  EXPECT_EQ(body["model"], "claude-test");
  EXPECT_EQ(body["system"], "Be brief.\n\nUse metric units.");
  EXPECT_EQ(body["max_tokens"], kAnthropicDefaultMaxTokens);
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["messages"], Json::parse(R"([
    {"role":"user","content":[{"type":"text","text":"Hi"}]}
  ])"));
  EXPECT_FALSE(body.contains("tools"));
  EXPECT_FALSE(body.contains("temperature"));
}

TEST(AnthropicRequest, PassesMaxTokensTemperatureAndMappedExtras) {
  ChatRequest request = Request(Json::parse(R"([{"role":"user","content":"Hi"}])"));
  request.max_tokens = 77;
  request.temperature = 0.25;
  request.extra = Json::parse(R"({"top_p":0.9,"stop":"END","user":"u-1","logprobs":true})");
  const Json body = Translate(request);
  EXPECT_EQ(body["max_tokens"], 77);
  EXPECT_EQ(body["temperature"], 0.25);
  EXPECT_EQ(body["top_p"], 0.9);
  EXPECT_EQ(body["stop_sequences"], Json::array({"END"}));
  EXPECT_EQ(body["metadata"]["user_id"], "u-1");
  EXPECT_FALSE(body.contains("logprobs")) << "Anthropic rejects unknown fields";
}

TEST(AnthropicRequest, TranslatesAToolRoundTrip) {
  ChatRequest request = Request(Json::parse(R"([
    {"role":"user","content":"Weather in Paris and Oslo?"},
    {"role":"assistant","content":"Checking.","tool_calls":[
      {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
      {"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}},
      {"id":"call_3","type":"function","function":{"name":"now","arguments":""}}
    ]},
    {"role":"tool","tool_call_id":"call_1","content":"18C"},
    {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"4C"}]},
    {"role":"tool","tool_call_id":"call_3","content":""},
    {"role":"user","content":"Thanks"}
  ])"));
  request.tools = Json::parse(R"([
    {"type":"function","function":{"name":"get_weather","description":"Weather by city",
      "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
    {"type":"function","function":{"name":"now"}}
  ])");
  request.tool_choice = "required";
  const Json body = Translate(request);
  EXPECT_EQ(body["messages"], Json::parse(R"([
    {"role":"user","content":[{"type":"text","text":"Weather in Paris and Oslo?"}]},
    {"role":"assistant","content":[
      {"type":"text","text":"Checking."},
      {"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}},
      {"type":"tool_use","id":"call_2","name":"get_weather","input":{"city":"Oslo"}},
      {"type":"tool_use","id":"call_3","name":"now","input":{}}
    ]},
    {"role":"user","content":[
      {"type":"tool_result","tool_use_id":"call_1","content":[{"type":"text","text":"18C"}]},
      {"type":"tool_result","tool_use_id":"call_2","content":[{"type":"text","text":"4C"}]},
      {"type":"tool_result","tool_use_id":"call_3"},
      {"type":"text","text":"Thanks"}
    ]}
  ])")) << body["messages"].dump(2);
  EXPECT_EQ(body["tools"], Json::parse(R"([
    {"name":"get_weather","description":"Weather by city",
     "input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
    {"name":"now","input_schema":{"type":"object","properties":{}}}
  ])"));
  EXPECT_EQ(body["tool_choice"], Json::parse(R"({"type":"any"})"));
}

TEST(AnthropicRequest, MapsEveryToolChoiceForm) {
  struct Case {
    Json openai;
    Json anthropic;
  };
  const std::vector<Case> cases = {
      {"auto", {{"type", "auto"}}},
      {"none", {{"type", "none"}}},
      {"required", {{"type", "any"}}},
      {Json::parse(R"({"type":"function","function":{"name":"now"}})"),
       {{"type", "tool"}, {"name", "now"}}},
  };
  for (const auto& c : cases) {
    ChatRequest request = Request(Json::parse(R"([{"role":"user","content":"x"}])"));
    request.tools = Json::parse(R"([{"type":"function","function":{"name":"now"}}])");
    request.tool_choice = c.openai;
    EXPECT_EQ(Translate(request)["tool_choice"], c.anthropic) << c.openai.dump();
  }
}

TEST(AnthropicRequest, ParallelToolCallsFalseDisablesParallelToolUse) {
  ChatRequest request = Request(Json::parse(R"([{"role":"user","content":"x"}])"));
  request.tools = Json::parse(R"([{"type":"function","function":{"name":"now"}}])");
  request.extra = {{"parallel_tool_calls", false}};
  EXPECT_EQ(Translate(request)["tool_choice"],
            Json::parse(R"({"type":"auto","disable_parallel_tool_use":true})"));
}

TEST(AnthropicRequest, TranslatesImagePartsToImageBlocks) {
  const Json body = Translate(Request(Json::parse(R"([
    {"role":"user","content":[
      {"type":"text","text":"What is this?"},
      {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0K"}},
      {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}
    ]}
  ])")));
  EXPECT_EQ(body["messages"][0]["content"], Json::parse(R"([
    {"type":"text","text":"What is this?"},
    {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0K"}},
    {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}
  ])"));
}

TEST(AnthropicRequest, RejectsRequestsItCannotExpressNamingTheField) {
  struct Case {
    const char* messages;
    const char* field;
  };
  const std::vector<Case> cases = {
      {R"([{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{oops"}}]}])",
       "messages[0].tool_calls[0].function.arguments"},
      {R"([{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"[1]"}}]}])",
       "messages[0].tool_calls[0].function.arguments"},
      {R"([{"role":"user","content":"a"},{"role":"tool","content":"x"}])", "messages[1].tool_call_id"},
      {R"([{"role":"wizard","content":"x"}])", "messages[0].role"},
      {R"([{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}])",
       "messages[0].content[0].type"},
  };
  for (const auto& c : cases) {
    auto body = ToAnthropicRequest(Request(Json::parse(c.messages)));
    ASSERT_FALSE(body.ok()) << c.messages;
    EXPECT_EQ(body.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(body.error().context, c.field);
  }
}

TEST(AnthropicRequest, RejectsUnknownToolChoice) {
  ChatRequest request = Request(Json::parse(R"([{"role":"user","content":"x"}])"));
  request.tools = Json::parse(R"([{"type":"function","function":{"name":"now"}}])");
  request.tool_choice = "sometimes";
  auto body = ToAnthropicRequest(request);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().context, "tool_choice");
}

// Feeds a recorded-shape event sequence and returns every chunk emitted.
std::vector<ChatChunk> Feed(AnthropicStreamTranslator& translator, const char* events_json) {
  std::vector<ChatChunk> chunks;
  for (const auto& event : Json::parse(events_json)) {
    auto chunk = translator.OnEvent(event);
    EXPECT_TRUE(chunk.ok()) << event.dump();
    if (chunk.ok() && *chunk) chunks.push_back(**chunk);
  }
  return chunks;
}

TEST(AnthropicEvents, TranslatesATextStream) {
  AnthropicStreamTranslator translator;
  const auto chunks = Feed(translator, R"([
    {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",
      "content":[],"model":"claude-test","stop_reason":null,
      "usage":{"input_tokens":25,"cache_read_input_tokens":5,"output_tokens":1}}},
    {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}},
    {"type":"ping"},
    {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}},
    {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" world"}},
    {"type":"content_block_stop","index":0},
    {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},
      "usage":{"output_tokens":12}},
    {"type":"message_stop"}
  ])");
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].content, "Hello");
  EXPECT_EQ(chunks[1].content, " world");
  EXPECT_EQ(chunks[2].finish_reason, "stop");
  EXPECT_TRUE(translator.finished());
  EXPECT_EQ(translator.usage().prompt_tokens, 30);
  EXPECT_EQ(translator.usage().completion_tokens, 12);
}

TEST(AnthropicEvents, TranslatesToolUseBlocksToIndexedToolCallDeltas) {
  AnthropicStreamTranslator translator;
  const auto chunks = Feed(translator, R"([
    {"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1}}},
    {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}},
    {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me check."}},
    {"type":"content_block_stop","index":0},
    {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_A","name":"get_weather","input":{}}},
    {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}},
    {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}},
    {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ris\"}"}},
    {"type":"content_block_stop","index":1},
    {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_B","name":"now","input":{}}},
    {"type":"content_block_stop","index":2},
    {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":40}},
    {"type":"message_stop"}
  ])");
  ChunkAccumulator accumulator;
  for (const auto& chunk : chunks) accumulator.Add(chunk);
  const ChatResult result = std::move(accumulator).Finish();
  EXPECT_EQ(result.content, "Let me check.");
  EXPECT_EQ(result.finish_reason, "tool_calls");
  EXPECT_EQ(result.tool_calls, Json::parse(R"([
    {"id":"toolu_A","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},
    {"id":"toolu_B","type":"function","function":{"name":"now","arguments":"{}"}}
  ])")) << result.tool_calls.dump(2);
  // The first tool block is content block 1 but tool call 0.
  EXPECT_EQ(chunks[1].tool_calls[0]["index"], 0);
  EXPECT_EQ(chunks[1].tool_calls[0]["id"], "toolu_A");
  EXPECT_EQ(chunks[2].tool_calls[0], Json::parse(R"({"index":0,"function":{"arguments":"{\"city\": \"Pa"}})"));
}

TEST(AnthropicEvents, MapsStopReasons) {
  EXPECT_EQ(MapStopReason("end_turn"), "stop");
  EXPECT_EQ(MapStopReason("stop_sequence"), "stop");
  EXPECT_EQ(MapStopReason("tool_use"), "tool_calls");
  EXPECT_EQ(MapStopReason("max_tokens"), "length");
  EXPECT_EQ(MapStopReason("refusal"), "content_filter");
}

TEST(AnthropicEvents, ErrorEventBecomesAnErrorWithItsTypeAndMessage) {
  AnthropicStreamTranslator translator;
  auto chunk = translator.OnEvent(Json::parse(
      R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"));
  ASSERT_FALSE(chunk.ok());
  EXPECT_EQ(chunk.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(chunk.error().message, "overloaded_error: Overloaded");

  auto invalid = translator.OnEvent(Json::parse(
      R"({"type":"error","error":{"type":"invalid_request_error","message":"bad"}})"));
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().code, ErrorCode::kInvalidArgument);
}

TEST(AnthropicEvents, IgnoresThinkingBlocksAndUnknownEvents) {
  AnthropicStreamTranslator translator;
  const auto chunks = Feed(translator, R"([
    {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}},
    {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}},
    {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}},
    {"type":"content_block_stop","index":0},
    {"type":"some_future_event","x":1},
    {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}},
    {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Answer"}}
  ])");
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].content, "Answer");
  EXPECT_FALSE(translator.finished());
}

TEST(AnthropicMessage, TranslatesAWholeMessage) {
  Usage usage;
  auto chunk = FromAnthropicMessage(Json::parse(R"({
    "type":"message","role":"assistant","stop_reason":"tool_use",
    "content":[{"type":"text","text":"Sure."},
               {"type":"tool_use","id":"toolu_1","name":"now","input":{"tz":"UTC"}}],
    "usage":{"input_tokens":9,"output_tokens":4}})"),
                                    usage);
  ASSERT_TRUE(chunk.ok());
  EXPECT_EQ(chunk->content, "Sure.");
  EXPECT_EQ(chunk->finish_reason, "tool_calls");
  EXPECT_EQ(chunk->tool_calls, Json::parse(R"([
    {"index":0,"id":"toolu_1","type":"function","function":{"name":"now","arguments":"{\"tz\":\"UTC\"}"}}
  ])"));
  EXPECT_EQ(usage.prompt_tokens, 9);
  EXPECT_EQ(usage.completion_tokens, 4);
}

}  // namespace
}  // namespace steward::models::detail
