#include "tools/tool_tracing.hpp"

#include <gtest/gtest.h>

#include <mutex>

namespace steward::tools {
namespace {

class Collect final : public telemetry::SpanExporter {
 public:
  explicit Collect(std::vector<telemetry::Span>* out, std::mutex* mu) : out_(out), mu_(mu) {}
  std::string_view name() const override { return "collect"; }
  Status Export(const std::vector<telemetry::Span>& batch) override {
    std::lock_guard lock(*mu_);
    out_->insert(out_->end(), batch.begin(), batch.end());
    return Status::Ok();
  }

 private:
  std::vector<telemetry::Span>* out_;
  std::mutex* mu_;
};

class ToolTracingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::unique_ptr<telemetry::SpanExporter>> exporters;
    exporters.push_back(std::make_unique<Collect>(&spans_, &mu_));
    tracer_ = telemetry::Tracer::Create({}, std::move(exporters));
    telemetry::InstallTracer(tracer_);
  }
  void TearDown() override { telemetry::InstallTracer(nullptr); }
  telemetry::Span Only() {
    EXPECT_TRUE(tracer_->Flush(std::chrono::seconds(5)));
    std::lock_guard lock(mu_);
    EXPECT_EQ(spans_.size(), 1u);
    return spans_.empty() ? telemetry::Span{} : spans_.front();
  }
  static std::string Str(const telemetry::Span& s, const char* key) { return std::get<std::string>(s.attributes.at(key)); }

  std::mutex mu_;
  std::vector<telemetry::Span> spans_;
  std::shared_ptr<telemetry::Tracer> tracer_;
};

TEST_F(ToolTracingTest, RecordsTheCallWithSecretArgumentsRedacted) {
  CallContext ctx;
  ctx.run_id = "6f1c2f9e-8a1b-4c3d-9e8f-0a1b2c3d4e5f";
  ctx.principal = "run";
  auto parent = telemetry::ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  ctx.trace_parent = *parent;
  const nlohmann::json args = {{"query", "rust"}, {"api_key", "tok-123456789"}, {"auth", {{"password", "p4ss"}}}};
  telemetry::ScopedSpan span = StartToolSpan("web.search", "call_1", args, ctx);
  ToolCallResult result = ToolCallResult::Text("3 hits", {{"hits", {1, 2, 3}}});
  FinishToolSpan(span, result, 12.5);
  const telemetry::Span s = Only();
  EXPECT_EQ(s.name, "execute_tool web.search");
  EXPECT_EQ(s.trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(s.parent_span_id, "b7ad6b7169203331");
  EXPECT_EQ(s.run_id, ctx.run_id);
  EXPECT_EQ(Str(s, "tool.name"), "web.search");
  EXPECT_EQ(Str(s, "tool.server"), "web");
  EXPECT_EQ(Str(s, "gen_ai.operation.name"), "execute_tool");
  EXPECT_EQ(Str(s, "gen_ai.tool.call.id"), "call_1");
  EXPECT_EQ(nlohmann::json::parse(Str(s, "tool.arguments")),
            (nlohmann::json{{"query", "rust"}, {"api_key", "[REDACTED]"}, {"auth", {{"password", "[REDACTED]"}}}}));
  EXPECT_TRUE(std::get<bool>(s.attributes.at("tool.success")));
  EXPECT_DOUBLE_EQ(std::get<double>(s.attributes.at("tool.duration_ms")), 12.5);
  EXPECT_EQ(std::get<int64_t>(s.attributes.at("tool.result_count")), 3);
  EXPECT_EQ(s.status, telemetry::SpanStatus::kOk);
}

TEST_F(ToolTracingTest, FailedCallsCarryTheErrorTypeAndErrorStatus) {
  telemetry::ScopedSpan span = StartToolSpan("mail.send", "call_2", nlohmann::json::object(), CallContext{});
  FinishToolSpan(span, MakeError(ErrorCode::kPermissionDenied, "not allowed"), 1.0);
  const telemetry::Span s = Only();
  EXPECT_FALSE(std::get<bool>(s.attributes.at("tool.success")));
  EXPECT_EQ(Str(s, "tool.error_type"), "permission_denied");
  EXPECT_EQ(s.status, telemetry::SpanStatus::kError);
  EXPECT_EQ(s.status_message, "not allowed");
}

TEST_F(ToolTracingTest, AToolThatReportsAnErrorIsAFailedCall) {
  telemetry::ScopedSpan span = StartToolSpan("web.fetch", "call_3", nlohmann::json::object(), CallContext{});
  FinishToolSpan(span, ToolCallResult::Text("404 not found", nullptr, /*is_error=*/true), 1.0);
  const telemetry::Span s = Only();
  EXPECT_EQ(Str(s, "tool.error_type"), "tool_error");
  EXPECT_EQ(s.status, telemetry::SpanStatus::kError);
}

TEST_F(ToolTracingTest, LongArgumentsAreCutAndMarked) {
  const nlohmann::json args = {{"content", std::string(10000, 'x')}};
  telemetry::ScopedSpan span = StartToolSpan("memory.remember", "call_4", args, CallContext{});
  FinishToolSpan(span, ToolCallResult::Text("ok"), 1.0);
  const std::string shown = Str(Only(), "tool.arguments");
  EXPECT_LT(shown.size(), 4200u);
  EXPECT_NE(shown.find("(truncated)"), std::string::npos);
}

TEST_F(ToolTracingTest, LongArgumentsAreRedactedByKeyBeforeTheyAreCut) {
  // Cut JSON cannot be parsed again, so the tracer could not find the key: redacted at the start.
  const nlohmann::json args = {{"api_key", "tok-long-arguments-987654"}, {"content", std::string(10000, 'x')}};
  telemetry::ScopedSpan span = StartToolSpan("memory.remember", "call_5", args, CallContext{});
  FinishToolSpan(span, ToolCallResult::Text("ok"), 1.0);
  const std::string shown = Str(Only(), "tool.arguments");
  EXPECT_EQ(shown.find("tok-long-arguments-987654"), std::string::npos) << shown.substr(0, 80);
  EXPECT_NE(shown.find("[REDACTED]"), std::string::npos) << shown.substr(0, 80);
  EXPECT_NE(shown.find("(truncated)"), std::string::npos);
}

}  // namespace
}  // namespace steward::tools
