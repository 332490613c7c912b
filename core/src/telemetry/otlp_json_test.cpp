#include "telemetry/otlp_json.hpp"

#include <gtest/gtest.h>

namespace steward::telemetry {
namespace {

using nlohmann::json;

Span SampleSpan() {
  Span s;
  s.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  s.span_id = "00f067aa0ba902b7";
  s.parent_span_id = "b7ad6b7169203331";
  s.name = "chat offline";
  s.kind = SpanKind::kClient;
  s.start_ns = 1700000000123456789;
  s.end_ns = 1700000000223456789;
  s.status = SpanStatus::kError;
  s.status_message = "HTTP 503";
  s.attributes = {{"gen_ai.operation.name", std::string("chat")},
                  {"gen_ai.usage.input_tokens", int64_t{561}},
                  {"steward.cost_usd", 0.0003},
                  {"tool.success", false}};
  return s;
}

TEST(OtlpJson, EncodesTheExportTraceServiceRequestShape) {
  const json out = EncodeOtlpTraces({SampleSpan()}, {"steward", "0.1.0"});
  // The golden structure of the OTLP/HTTP JSON encoding.
  const json expected = json::parse(R"({
    "resourceSpans": [{
      "resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "steward"}},
        {"key": "service.version", "value": {"stringValue": "0.1.0"}},
        {"key": "telemetry.sdk.language", "value": {"stringValue": "cpp"}},
        {"key": "telemetry.sdk.name", "value": {"stringValue": "steward"}}
      ]},
      "scopeSpans": [{
        "scope": {"name": "steward", "version": "0.1.0"},
        "spans": [{
          "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
          "spanId": "00f067aa0ba902b7",
          "parentSpanId": "b7ad6b7169203331",
          "name": "chat offline",
          "kind": 3,
          "startTimeUnixNano": "1700000000123456789",
          "endTimeUnixNano": "1700000000223456789",
          "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "561"}},
            {"key": "steward.cost_usd", "value": {"doubleValue": 0.0003}},
            {"key": "tool.success", "value": {"boolValue": false}}
          ],
          "status": {"code": 2, "message": "HTTP 503"}
        }]
      }]
    }]
  })");
  EXPECT_EQ(out, expected) << out.dump(2);
}

TEST(OtlpJson, RootSpansHaveNoParentAndUnsetStatusHasNoMessage) {
  Span s = SampleSpan();
  s.parent_span_id.clear();
  s.status = SpanStatus::kUnset;
  s.status_message.clear();
  const json out = EncodeOtlpSpan(s);
  EXPECT_FALSE(out.contains("parentSpanId"));
  EXPECT_EQ(out["status"], json({{"code", 0}}));
}

TEST(OtlpJson, GroupsSpansByServiceAndScope) {
  Span core = SampleSpan();
  Span worker = SampleSpan();
  worker.span_id = "10f067aa0ba902b7";
  worker.service = "steward-worker";
  worker.scope = "pydantic-ai";
  Span core2 = SampleSpan();
  core2.span_id = "20f067aa0ba902b7";
  const json out = EncodeOtlpTraces({core, worker, core2}, {"steward", ""});
  ASSERT_EQ(out["resourceSpans"].size(), 2u);
  EXPECT_EQ(out["resourceSpans"][0]["scopeSpans"][0]["spans"].size(), 2u);
  const json& w = out["resourceSpans"][1];
  EXPECT_EQ(w["resource"]["attributes"][0], json::parse(R"({"key":"service.name","value":{"stringValue":"steward-worker"}})"));
  EXPECT_EQ(w["scopeSpans"][0]["scope"]["name"], "pydantic-ai");
}

TEST(OtlpJson, DecodeReadsWhatEncodeWrites) {
  const Span s = SampleSpan();
  auto decoded = DecodeOtlpSpan(EncodeOtlpSpan(s));
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(decoded->trace_id, s.trace_id);
  EXPECT_EQ(decoded->span_id, s.span_id);
  EXPECT_EQ(decoded->parent_span_id, s.parent_span_id);
  EXPECT_EQ(decoded->name, s.name);
  EXPECT_EQ(decoded->kind, s.kind);
  EXPECT_EQ(decoded->start_ns, s.start_ns);
  EXPECT_EQ(decoded->end_ns, s.end_ns);
  EXPECT_EQ(decoded->status, s.status);
  EXPECT_EQ(decoded->status_message, s.status_message);
  EXPECT_EQ(decoded->attributes, s.attributes);
}

TEST(OtlpJson, DecodeAcceptsEnumNamesNumbersAndNestedValues) {
  const json in = json::parse(R"({
    "traceId": "4BF92F3577B34DA6A3CE929D0E0E4736", "spanId": "00f067aa0ba902b7", "name": "x",
    "kind": "SPAN_KIND_SERVER", "startTimeUnixNano": 5, "endTimeUnixNano": "7",
    "status": {"code": "STATUS_CODE_ERROR"},
    "attributes": [{"key": "n", "value": {"intValue": 3}},
                   {"key": "list", "value": {"arrayValue": {"values": [{"stringValue": "stop"}]}}},
                   {"key": "", "value": {"stringValue": "nameless"}}]
  })");
  auto s = DecodeOtlpSpan(in);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(s->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(s->kind, SpanKind::kServer);
  EXPECT_EQ(s->status, SpanStatus::kError);
  EXPECT_EQ(std::get<int64_t>(s->attributes.at("n")), 3);
  EXPECT_EQ(std::get<std::string>(s->attributes.at("list")), R"(["stop"])");
  EXPECT_EQ(s->attributes.size(), 2u);
}

TEST(OtlpJson, DecodeRejectsUnusableSpansNamingTheField) {
  const json good = EncodeOtlpSpan(SampleSpan());
  const std::vector<std::pair<std::string, json>> cases = {
      {"traceId", "abc"}, {"spanId", 42}, {"parentSpanId", "xyz"}, {"name", ""}, {"endTimeUnixNano", "1"}};
  for (const auto& [field, value] : cases) {
    json bad = good;
    bad[field] = value;
    auto s = DecodeOtlpSpan(bad);
    ASSERT_FALSE(s.ok()) << field;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace steward::telemetry
