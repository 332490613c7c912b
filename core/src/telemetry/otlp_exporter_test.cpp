#include "telemetry/otlp_exporter.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "../../tests/fixtures/fixture_server.hpp"
#include "telemetry/otlp_json.hpp"

namespace steward::telemetry {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

Span MakeSpan(const std::string& name) {
  Span s;
  s.trace_id = NewTraceId();
  s.span_id = NewSpanId();
  s.name = name;
  s.start_ns = NowUnixNanos();
  s.end_ns = s.start_ns + 1000;
  s.attributes = {{"gen_ai.request.model", std::string("offline")}};
  return s;
}

class OtlpExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    receiver_ = testing::FixtureServer::Start("otlp_receiver.py", error);
    ASSERT_NE(receiver_, nullptr) << error;
  }
  OtlpExporterOptions Options() {
    OtlpExporterOptions o;
    o.endpoint = receiver_->Url();
    o.headers = {{"x-collector-key", "k-123"}};
    o.resource = {"steward", "0.1.0"};
    o.initial_backoff = 10ms;
    return o;
  }
  json Requests() { return receiver_->Get("/_control/requests")["requests"]; }
  json WaitForRequests(size_t n) {
    for (int i = 0; i < 200; ++i) {
      json r = Requests();
      if (r.size() >= n) return r;
      std::this_thread::sleep_for(25ms);
    }
    return Requests();
  }
  std::unique_ptr<testing::FixtureServer> receiver_;
};

TEST_F(OtlpExporterTest, PostsOtlpJsonToV1TracesWithConfiguredHeaders) {
  OtlpExporterOptions o = Options();
  o.protocol = OtlpProtocol::kHttpJson;
  OtlpHttpExporter exporter(o);
  EXPECT_EQ(exporter.url(), receiver_->Url("/v1/traces"));
  ASSERT_TRUE(exporter.Export({MakeSpan("a"), MakeSpan("b")}).ok());
  const json requests = WaitForRequests(1);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["headers"]["content-type"], "application/json");
  EXPECT_EQ(requests[0]["encoding"], "json");
  EXPECT_EQ(requests[0]["headers"]["x-collector-key"], "k-123");
  const json& spans = requests[0]["body"]["resourceSpans"][0]["scopeSpans"][0]["spans"];
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0]["name"], "a");
  exporter.Shutdown(1s);
  EXPECT_EQ(exporter.stats().sent_spans, 2u);
}

// The receiver parses protobuf bodies with opentelemetry-proto's generated classes (the official
// schema) and keeps them in the OTLP JSON form: the two encodings must say exactly the same.
TEST_F(OtlpExporterTest, PostsProtobufByDefaultThatTheOfficialSchemaReadsAsTheJsonEncoding) {
  Span root = MakeSpan("chat.run");
  root.status = SpanStatus::kOk;
  root.attributes = {{"agent.id", std::string("tracer")},
                     {"gen_ai.usage.input_tokens", int64_t{1261}},
                     {"steward.cost_usd", 0.0071},
                     {"steward.offset", int64_t{-42}},
                     {"tool.success", false},
                     {"memory.query", std::string("caf\xC3\xA9 \xE2\x98\x95")}};
  Span child = MakeSpan("chat priced");
  child.trace_id = root.trace_id;
  child.parent_span_id = root.span_id;
  child.kind = SpanKind::kClient;
  child.status = SpanStatus::kError;
  child.status_message = "HTTP 503: overloaded";
  Span worker = MakeSpan("invoke_agent tracer");
  worker.trace_id = root.trace_id;
  worker.parent_span_id = root.span_id;
  worker.service = "steward-worker";
  worker.scope = "steward_worker";
  worker.status = SpanStatus::kOk;
  const std::vector<Span> batch = {root, worker, child};

  OtlpHttpExporter exporter(Options());
  ASSERT_TRUE(exporter.Export(batch).ok());
  const json requests = WaitForRequests(1);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["headers"]["content-type"], "application/x-protobuf");
  EXPECT_EQ(requests[0]["headers"]["x-collector-key"], "k-123");
  EXPECT_EQ(requests[0]["encoding"], "protobuf");
  const json expected = EncodeOtlpTraces(batch, Options().resource);
  EXPECT_EQ(requests[0]["body"], expected) << requests[0]["body"].dump(2) << "\nexpected\n" << expected.dump(2);
  exporter.Shutdown(1s);
  EXPECT_EQ(exporter.stats().sent_spans, 3u);
}

// Protobuf parsers reject string fields that are not UTF-8; an attribute cut mid-character must
// not cost the whole batch.
TEST_F(OtlpExporterTest, ProtobufExportSurvivesAttributesThatAreNotUtf8) {
  Span span = MakeSpan("execute_tool web.fetch");
  span.attributes = {{"tool.output", std::string("caf\xC3")}, {"bad\xFFkey", std::string("v")}};
  OtlpHttpExporter exporter(Options());
  ASSERT_TRUE(exporter.Export({span}).ok());
  const json requests = WaitForRequests(1);
  ASSERT_EQ(requests.size(), 1u);
  const json& attributes = requests[0]["body"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"];
  ASSERT_EQ(attributes.size(), 2u);
  EXPECT_EQ(attributes[0]["key"], "bad\xEF\xBF\xBDkey");
  EXPECT_EQ(attributes[1]["value"]["stringValue"], "caf\xEF\xBF\xBD");
  exporter.Shutdown(1s);
  EXPECT_EQ(exporter.stats().dropped_spans, 0u);
}

TEST_F(OtlpExporterTest, RetriesRetryableStatusesWithBackoff) {
  receiver_->Post("/_control/fail", {{"statuses", {503, 429}}});
  OtlpHttpExporter exporter(Options());
  ASSERT_TRUE(exporter.Export({MakeSpan("retried")}).ok());
  ASSERT_EQ(WaitForRequests(1).size(), 1u);
  EXPECT_EQ(receiver_->Get("/_control/attempts")["attempts"], 3);
  exporter.Shutdown(1s);
  EXPECT_EQ(exporter.stats().failed_requests, 2u);
  EXPECT_EQ(exporter.stats().sent_spans, 1u);
}

TEST_F(OtlpExporterTest, DropsBatchesTheCollectorRejects) {
  receiver_->Post("/_control/fail", {{"statuses", {400}}});
  OtlpHttpExporter exporter(Options());
  ASSERT_TRUE(exporter.Export({MakeSpan("rejected")}).ok());
  ASSERT_TRUE(exporter.Export({MakeSpan("accepted")}).ok());
  const json requests = WaitForRequests(1);
  exporter.Shutdown(2s);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["body"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"], "accepted");
  EXPECT_EQ(receiver_->Get("/_control/attempts")["attempts"], 2);  // 400 is not retried
  EXPECT_EQ(exporter.stats().dropped_spans, 1u);
}

TEST(OtlpExporter, ADeadCollectorNeverBlocksExportAndBoundsTheQueue) {
  OtlpExporterOptions o;
  o.endpoint = "http://127.0.0.1:9";  // discard port: connection refused
  o.max_queued_batches = 2;
  o.initial_backoff = 200ms;
  OtlpHttpExporter exporter(o);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(exporter.Export({MakeSpan("s")}).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  exporter.Shutdown(100ms);
  EXPECT_EQ(exporter.stats().sent_spans, 0u);
  EXPECT_EQ(exporter.stats().dropped_spans, 50u);
}

TEST(OtlpTracesUrl, AppendsThePathOnce) {
  EXPECT_EQ(OtlpTracesUrl("http://c:4318"), "http://c:4318/v1/traces");
  EXPECT_EQ(OtlpTracesUrl("http://c:4318/"), "http://c:4318/v1/traces");
  EXPECT_EQ(OtlpTracesUrl("http://c:4318/v1/traces"), "http://c:4318/v1/traces");
  EXPECT_EQ(OtlpTracesUrl("https://h/otel"), "https://h/otel/v1/traces");
}

}  // namespace
}  // namespace steward::telemetry
