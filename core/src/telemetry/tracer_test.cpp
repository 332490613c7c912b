#include "telemetry/tracer.hpp"

#include <gtest/gtest.h>

#include <future>
#include <set>

#include "telemetry/logging.hpp"
#include "telemetry/worker_spans.hpp"

namespace steward::telemetry {
namespace {

using namespace std::chrono_literals;

// Collects exported spans; optionally blocks Export until released.
class CollectingExporter final : public SpanExporter {
 public:
  struct State {
    std::mutex mu;
    std::vector<Span> spans;
    int batches = 0;
    std::shared_future<void> gate;
    bool shut_down = false;
  };
  explicit CollectingExporter(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::string_view name() const override { return "collect"; }
  Status Export(const std::vector<Span>& batch) override {
    std::shared_future<void> gate;
    {
      std::lock_guard lock(state_->mu);
      gate = state_->gate;
    }
    if (gate.valid()) gate.wait();
    std::lock_guard lock(state_->mu);
    state_->spans.insert(state_->spans.end(), batch.begin(), batch.end());
    ++state_->batches;
    return Status::Ok();
  }
  void Shutdown(std::chrono::milliseconds) override {
    std::lock_guard lock(state_->mu);
    state_->shut_down = true;
  }

 private:
  std::shared_ptr<State> state_;
};

struct Harness {
  explicit Harness(TracerOptions options = {}) : state(std::make_shared<CollectingExporter::State>()) {
    options.flush_interval = 20ms;
    std::vector<std::unique_ptr<SpanExporter>> exporters;
    exporters.push_back(std::make_unique<CollectingExporter>(state));
    tracer = Tracer::Create(std::move(options), std::move(exporters));
  }
  std::vector<Span> Exported() {
    EXPECT_TRUE(tracer->Flush(5s));
    std::lock_guard lock(state->mu);
    return state->spans;
  }
  std::set<std::string> ExportedNames() {
    std::set<std::string> names;
    for (const auto& s : Exported()) names.insert(s.name);
    return names;
  }
  std::shared_ptr<CollectingExporter::State> state;
  std::shared_ptr<Tracer> tracer;
};

const Span* Find(const std::vector<Span>& spans, std::string_view name) {
  for (const auto& s : spans) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

TEST(Tracer, ChildSpansLinkToTheirParentAndKeepAttributes) {
  Harness h;
  {
    ScopedSpan root = h.tracer->StartSpan("chat.run");
    root.Set("agent.id", "researcher").Set("gen_ai.usage.input_tokens", 561).Set("steward.cost_usd", 0.25);
    root.SetRunId("6f1c2f9e-8a1b-4c3d-9e8f-0a1b2c3d4e5f");
    ScopedSpan child = h.tracer->StartSpan("chat offline", root.context(), SpanKind::kClient);
    child.Set("tool.success", true).SetError("boom");
  }
  const auto spans = h.Exported();
  ASSERT_EQ(spans.size(), 2u);
  const Span* root = Find(spans, "chat.run");
  const Span* child = Find(spans, "chat offline");
  ASSERT_TRUE(root && child);
  EXPECT_TRUE(root->parent_span_id.empty());
  EXPECT_EQ(child->parent_span_id, root->span_id);
  EXPECT_EQ(child->trace_id, root->trace_id);
  EXPECT_TRUE(IsHexId(root->trace_id, 32));
  EXPECT_TRUE(IsHexId(root->span_id, 16));
  EXPECT_EQ(child->kind, SpanKind::kClient);
  EXPECT_EQ(child->status, SpanStatus::kError);
  EXPECT_EQ(child->status_message, "boom");
  EXPECT_EQ(std::get<std::string>(root->attributes.at("agent.id")), "researcher");
  EXPECT_EQ(std::get<int64_t>(root->attributes.at("gen_ai.usage.input_tokens")), 561);
  EXPECT_DOUBLE_EQ(std::get<double>(root->attributes.at("steward.cost_usd")), 0.25);
  EXPECT_EQ(std::get<bool>(child->attributes.at("tool.success")), true);
  EXPECT_EQ(root->run_id, "6f1c2f9e-8a1b-4c3d-9e8f-0a1b2c3d4e5f");
  EXPECT_LE(root->start_ns, child->start_ns);
  EXPECT_GE(root->end_ns, child->end_ns);
}

TEST(Tracer, ActivatedSpanIsTheDefaultParentOnItsThreadOnly) {
  Harness h;
  SpanContext root_context;
  {
    ScopedSpan root = h.tracer->StartSpan("root");
    root_context = root.context();
    auto active = root.Activate();
    EXPECT_EQ(CurrentContext().span_id, root.context().span_id);
    ScopedSpan child = h.tracer->StartSpan("child");
    std::thread([&] { ScopedSpan other = h.tracer->StartSpan("other thread"); }).join();
  }
  EXPECT_FALSE(CurrentContext().valid());
  const auto spans = h.Exported();
  EXPECT_EQ(Find(spans, "child")->parent_span_id, root_context.span_id);
  EXPECT_TRUE(Find(spans, "other thread")->parent_span_id.empty());
  EXPECT_NE(Find(spans, "other thread")->trace_id, root_context.trace_id);
}

TEST(Tracer, RemoteParentFromTraceparentJoinsThatTrace) {
  Harness h;
  auto parent = ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  ASSERT_TRUE(parent);
  { ScopedSpan span = h.tracer->StartSpan("chat offline", *parent, SpanKind::kClient); }
  const auto spans = h.Exported();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(spans[0].parent_span_id, "b7ad6b7169203331");
}

TEST(Tracer, WithoutAnInstalledTracerSpansAreInertButHaveIds) {
  InstallTracer(nullptr);
  ScopedSpan span = StartSpan("nothing");
  EXPECT_FALSE(span.recording());
  EXPECT_TRUE(span.context().valid());
  EXPECT_FALSE(span.context().sampled);
  EXPECT_EQ(FormatTraceparent(span.context()).substr(53), "00");
  span.Set("k", "v").SetError("x");  // no-ops, no crash
}

TEST(Tracer, InstalledTracerServesTheFreeStartSpan) {
  Harness h;
  InstallTracer(h.tracer);
  { ScopedSpan span = StartSpan("via global"); EXPECT_TRUE(span.recording()); }
  InstallTracer(nullptr);
  EXPECT_EQ(h.ExportedNames(), std::set<std::string>{"via global"});
}

// --- sampling --------------------------------------------------------------------------------

TEST(TracerSampling, RatioOneKeepsEveryTrace) {
  Harness h;  // default sample_ratio 1.0
  for (int i = 0; i < 20; ++i) ScopedSpan s = h.tracer->StartSpan("t" + std::to_string(i));
  EXPECT_EQ(h.Exported().size(), 20u);
}

TEST(TracerSampling, RatioZeroDropsOrdinaryTraces) {
  TracerOptions options;
  options.sample_ratio = 0;
  Harness h(options);
  {
    ScopedSpan root = h.tracer->StartSpan("root");
    ScopedSpan child = h.tracer->StartSpan("child", root.context());
  }
  EXPECT_TRUE(h.Exported().empty());
  EXPECT_EQ(h.tracer->stats().dropped_sampling, 2u);
}

TEST(TracerSampling, AnErrorAnywhereKeepsTheWholeTraceEvenSpansThatEndedBefore) {
  TracerOptions options;
  options.sample_ratio = 0;
  Harness h(options);
  {
    ScopedSpan root = h.tracer->StartSpan("chat.run");
    { ScopedSpan early = h.tracer->StartSpan("early ok call", root.context()); }
    // A span from the /v1 thread, parented by the worker's traceparent (remote).
    SpanContext remote = root.context();
    remote.remote = true;
    { ScopedSpan model = h.tracer->StartSpan("chat offline", remote); }
    Span worker;
    worker.trace_id = root.context().trace_id;
    worker.span_id = NewSpanId();
    worker.parent_span_id = root.context().span_id;
    worker.name = "invoke_agent";
    worker.start_ns = NowUnixNanos();
    worker.end_ns = worker.start_ns + 1;
    h.tracer->Record(worker);
    ScopedSpan failing = h.tracer->StartSpan("tool", root.context());
    failing.SetError("tool failed");
  }
  EXPECT_EQ(h.ExportedNames(),
            (std::set<std::string>{"chat.run", "early ok call", "chat offline", "invoke_agent", "tool"}));
}

TEST(TracerSampling, HighRiskActionKeepsTheTrace) {
  TracerOptions options;
  options.sample_ratio = 0;
  Harness h(options);
  {
    ScopedSpan root = h.tracer->StartSpan("chat.run");
    ScopedSpan tool = h.tracer->StartSpan("execute_tool mail.send", root.context());
    tool.Set("risk.level", "high");
  }
  {
    ScopedSpan root = h.tracer->StartSpan("low risk run");
    ScopedSpan tool = h.tracer->StartSpan("execute_tool memory.search", root.context());
    tool.Set("risk.level", "low");
  }
  EXPECT_EQ(h.ExportedNames(), (std::set<std::string>{"chat.run", "execute_tool mail.send"}));
}

TEST(TracerSampling, ErrorSpanEndingAfterItsTraceWasDroppedIsStillExported) {
  TracerOptions options;
  options.sample_ratio = 0;
  Harness h(options);
  SpanContext root_context;
  { ScopedSpan root = h.tracer->StartSpan("root"); root_context = root.context(); }
  { ScopedSpan late_ok = h.tracer->StartSpan("late ok", root_context); }
  { ScopedSpan late = h.tracer->StartSpan("late error", root_context); late.SetError("x"); }
  EXPECT_EQ(h.ExportedNames(), std::set<std::string>{"late error"});
}

TEST(TracerSampling, RatioIsDeterministicPerTraceAndRoughlyProportional) {
  TracerOptions options;
  options.sample_ratio = 0.25;
  Harness h(options);
  int kept = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string id = NewTraceId();
    const bool sampled = h.tracer->RatioSampled(id);
    EXPECT_EQ(sampled, h.tracer->RatioSampled(id));
    kept += sampled ? 1 : 0;
  }
  EXPECT_NEAR(kept, 5000, 400);
  EXPECT_TRUE(h.tracer->RatioSampled("00000000000000000000000000000001"));
  EXPECT_FALSE(h.tracer->RatioSampled("0000000000000000ffffffffffffffff"));
}

TEST(TracerSampling, HeldTracesAreBoundedByDecidingTheOldestEarly) {
  TracerOptions options;
  options.sample_ratio = 0;
  options.max_pending = 4;
  Harness h(options);
  ScopedSpan root = h.tracer->StartSpan("root never ends");
  for (int i = 0; i < 10; ++i) ScopedSpan child = h.tracer->StartSpan("child", root.context());
  EXPECT_TRUE(h.tracer->Flush(2s));
  EXPECT_GE(h.tracer->stats().dropped_sampling, 6u);
}

// --- queue, flush, redaction ---------------------------------------------------------------------

TEST(Tracer, FullQueueDropsTheOldestAndNeverBlocksTheCaller) {
  TracerOptions options;
  options.max_queue = 8;
  options.batch_size = 4;
  Harness h(options);
  std::promise<void> release;
  {
    std::lock_guard lock(h.state->mu);
    h.state->gate = release.get_future().share();
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) ScopedSpan s = h.tracer->StartSpan("s" + std::to_string(i));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  release.set_value();
  const auto spans = h.Exported();
  const TracerStats stats = h.tracer->stats();
  EXPECT_GT(stats.dropped_queue_full, 0u);
  EXPECT_EQ(spans.size() + stats.dropped_queue_full, 100u);
  EXPECT_EQ(spans.back().name, "s99");  // the newest survive
}

TEST(Tracer, FlushWaitsUntilEndedSpansWereExported) {
  TracerOptions options;
  options.flush_interval = 10s;  // only Flush makes it export
  Harness h(options);
  { ScopedSpan s = h.tracer->StartSpan("one"); }
  EXPECT_TRUE(h.tracer->Flush(5s));
  std::lock_guard lock(h.state->mu);
  EXPECT_EQ(h.state->spans.size(), 1u);
}

TEST(Tracer, ShutdownExportsWhatIsQueuedAndShutsExportersDown) {
  TracerOptions options;
  options.flush_interval = 10s;
  Harness h(options);
  { ScopedSpan s = h.tracer->StartSpan("queued"); }
  h.tracer->Shutdown();
  { ScopedSpan after = h.tracer->StartSpan("after shutdown"); }
  std::lock_guard lock(h.state->mu);
  EXPECT_EQ(h.state->spans.size(), 1u);
  EXPECT_TRUE(h.state->shut_down);
  EXPECT_EQ(h.tracer->stats().dropped_shutdown, 1u);
}

TEST(Tracer, AttributesAreRedactedBeforeExport) {
  RegisterSecret("sk-live-0123456789abcdef");
  Harness h;
  {
    ScopedSpan s = h.tracer->StartSpan("call");
    s.Set("http.request.header.authorization", "Bearer xyz-secret-value");
    s.Set("tool.arguments", R"({"query": "weather", "api_key": "tok-abcdef-123456", "nested": {"password": "p"}})");
    s.Set("error.detail", "upstream said: invalid key sk-live-0123456789abcdef");
    s.Set("gen_ai.usage.input_tokens", 12);
    s.SetError("auth failed for sk-live-0123456789abcdef");
  }
  const auto spans = h.Exported();
  ASSERT_EQ(spans.size(), 1u);
  const Attributes& a = spans[0].attributes;
  EXPECT_EQ(std::get<std::string>(a.at("http.request.header.authorization")), "[REDACTED]");
  const std::string args = std::get<std::string>(a.at("tool.arguments"));
  EXPECT_EQ(args.find("tok-abcdef-123456"), std::string::npos) << args;
  EXPECT_NE(args.find("weather"), std::string::npos) << args;
  EXPECT_EQ(nlohmann::json::parse(args)["nested"]["password"], "[REDACTED]");
  EXPECT_EQ(std::get<std::string>(a.at("error.detail")), "upstream said: invalid key [REDACTED]");
  EXPECT_EQ(std::get<int64_t>(a.at("gen_ai.usage.input_tokens")), 12);
  EXPECT_EQ(spans[0].status_message, "auth failed for [REDACTED]");
}

// --- worker spans --------------------------------------------------------------------------------

TEST(WorkerSpans, KeepsOnlySpansOfTheRunsTraceAndTagsThem) {
  const std::string trace = "0af7651916cd43dd8448eb211c80319c";
  nlohmann::json message = {
      {"type", "spans"},
      {"run_id", "r"},
      {"resource", {{"attributes", {{{"key", "service.name"}, {"value", {{"stringValue", "steward-worker"}}}},
                                    {{"key", "telemetry.sdk.language"}, {"value", {{"stringValue", "python"}}}}}}}},
      {"spans",
       {{{"traceId", trace}, {"spanId", "b7ad6b7169203331"}, {"parentSpanId", "a7ad6b7169203331"},
         {"name", "invoke_agent researcher"}, {"kind", 1}, {"startTimeUnixNano", "1000"},
         {"endTimeUnixNano", "2000"}, {"scope", {{"name", "pydantic-ai"}}}},
        {{"traceId", "1af7651916cd43dd8448eb211c80319c"}, {"spanId", "c7ad6b7169203331"}, {"name", "foreign"},
         {"startTimeUnixNano", "1000"}, {"endTimeUnixNano", "2000"}},
        {{"traceId", trace}, {"spanId", "zz"}, {"name", "bad id"}, {"startTimeUnixNano", "1"},
         {"endTimeUnixNano", "2"}}}}};
  size_t rejected = 0;
  auto spans = WorkerSpansFromMessage(message, trace, "6f1c2f9e-8a1b-4c3d-9e8f-0a1b2c3d4e5f", {}, &rejected);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(rejected, 2u);
  EXPECT_EQ(spans[0].name, "invoke_agent researcher");
  EXPECT_EQ(spans[0].service, "steward-worker");
  EXPECT_EQ(spans[0].scope, "pydantic-ai");
  EXPECT_EQ(spans[0].run_id, "6f1c2f9e-8a1b-4c3d-9e8f-0a1b2c3d4e5f");
  EXPECT_EQ(std::get<std::string>(spans[0].attributes.at("steward.worker.runtime")), "python");
}

}  // namespace
}  // namespace steward::telemetry
