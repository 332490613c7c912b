// span_bench: the core's own cost of one span on the request path, with the tracer's flush thread
// exporting to a null exporter, single- and multi-threaded, plus the cost with tracing off (no
// tracer installed: inert spans). Two kinds of span:
//
//   model call   StartSpan + six attributes + End (as the model gateway records a chat call)
//   tool call    StartToolSpan + risk + FinishToolSpan, as ToolRegistry::Call records every tool
//                call: ten attributes, the arguments as redacted JSON
//
// Two numbers per run: wall time per span on the calling threads (what a request waits for), and
// the process's CPU time per span after the flush thread has exported everything (what a span
// costs the machine: redaction and export happen on the flush thread). CPU time is also the
// number to compare across runs on a busy machine. tracing_bench.py measures whole chat turns.

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <functional>
#include <thread>
#include <vector>

#include "telemetry/tracer.hpp"
#include "tools/tool_tracing.hpp"

namespace {

using namespace steward::telemetry;
using Clock = std::chrono::steady_clock;

class NullExporter final : public SpanExporter {
 public:
  std::string_view name() const override { return "null"; }
  steward::Status Export(const std::vector<Span>&) override { return steward::Status::Ok(); }
};

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct PerSpan {
  double wall_ns = 0;
  double cpu_ns = 0;
};

// Runs `iteration` (which records `spans_per_iteration` spans) per_thread times on each thread.
PerSpan Measure(int threads, int per_thread, int spans_per_iteration, const std::function<void()>& iteration) {
  std::shared_ptr<Tracer> tracer = ActiveTracer();
  if (tracer) tracer->Flush(std::chrono::seconds(30));
  const double cpu0 = CpuSeconds();
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) iteration();
    });
  }
  for (auto& t : pool) t.join();
  const double wall = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
  if (tracer) tracer->Flush(std::chrono::seconds(30));
  const double cpu = (CpuSeconds() - cpu0) * 1e9;
  const double spans = static_cast<double>(threads) * per_thread * spans_per_iteration;
  return PerSpan{wall / spans, cpu / spans};
}

void ModelCallSpans() {
  ScopedSpan root = StartSpan("chat.run");
  ScopedSpan span = StartSpan("chat offline", root.context(), SpanKind::kClient);
  span.Set("gen_ai.operation.name", "chat").Set("gen_ai.system", "scripted").Set("gen_ai.request.model", "zero");
  span.Set("gen_ai.usage.input_tokens", 561).Set("gen_ai.usage.output_tokens", 216).Set("steward.cost_usd", 0.0003);
}

void ToolCallSpan() {
  namespace tools = steward::tools;
  static const nlohmann::json kArguments = {{"path", "/home/user/notes/2026-11-26.md"}, {"head", 20}};
  static const tools::CallContext kContext = [] {
    tools::CallContext ctx;
    ctx.principal = "run";
    ctx.run_id = "00000000-0000-4000-8000-000000000001";
    ctx.trace_parent.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    ctx.trace_parent.span_id = "00f067aa0ba902b7";
    return ctx;
  }();
  static const steward::Result<tools::ToolCallResult> kResult = tools::ToolCallResult::Text("# Notes\n- call Ana");
  ScopedSpan span = tools::StartToolSpan("fs.read_text_file", "call_8f3a2c", kArguments, kContext);
  span.Set("risk.level", "low").Set("risk.needs_approval", false);
  tools::FinishToolSpan(span, kResult, 0.42);
}

void Row(const char* what, const PerSpan& p) {
  std::printf("  %-34s %8.0f ns/span wall   %8.0f ns/span CPU\n", what, p.wall_ns, p.cpu_ns);
}

}  // namespace

// Usage: span_bench [model|tool [ITERATIONS]]; with a kind, only its tracing-on 1-thread run, for
// `perf stat -e instructions:u` (counts that do not depend on the machine's load).
int main(int argc, char** argv) {
  const std::string only = argc > 1 ? argv[1] : "";
  const int iterations = argc > 2 ? std::max(1, std::atoi(argv[2])) : 200000;
  if (!only.empty() && only != "model" && only != "tool") {
    std::fprintf(stderr, "usage: span_bench [model|tool [ITERATIONS]]\n");
    return 2;
  }
  const int kIterations = iterations;
  std::printf("span_bench: wall = calling threads' time; CPU = whole process incl. the flush thread\n");
  InstallTracer(nullptr);
  std::printf("model call span (StartSpan + 6 attributes + End; 2 spans per iteration)\n");
  Row("tracing off (inert spans)", Measure(1, kIterations, 2, ModelCallSpans));
  std::vector<std::unique_ptr<SpanExporter>> exporters;
  exporters.push_back(std::make_unique<NullExporter>());
  TracerOptions options;
  options.max_queue = 1 << 20;
  auto tracer = Tracer::Create(options, std::move(exporters));
  InstallTracer(tracer);
  if (!only.empty()) {
    const bool tool = only == "tool";
    Row(tool ? "tool call span, tracing on" : "model call span, tracing on",
        Measure(1, kIterations, tool ? 1 : 2, tool ? ToolCallSpan : ModelCallSpans));
    InstallTracer(nullptr);
    tracer->Shutdown();
    return 0;
  }
  Measure(1, 10000, 2, ModelCallSpans);  // warm up
  Row("tracing on, 1 thread", Measure(1, kIterations, 2, ModelCallSpans));
  Row("tracing on, 4 threads", Measure(4, kIterations / 4, 2, ModelCallSpans));

  std::printf("tool call span (StartToolSpan + risk + FinishToolSpan)\n");
  InstallTracer(nullptr);
  Row("tracing off (inert spans)", Measure(1, kIterations, 1, ToolCallSpan));
  InstallTracer(tracer);
  Measure(1, 10000, 1, ToolCallSpan);  // warm up
  Row("tracing on, 1 thread", Measure(1, kIterations, 1, ToolCallSpan));
  Row("tracing on, 4 threads", Measure(4, kIterations / 4, 1, ToolCallSpan));

  const TracerStats stats = tracer->stats();
  std::printf("recorded %llu, exported %llu, dropped (queue full) %llu\n",
              static_cast<unsigned long long>(stats.recorded), static_cast<unsigned long long>(stats.exported),
              static_cast<unsigned long long>(stats.dropped_queue_full));
  InstallTracer(nullptr);
  tracer->Shutdown();
  return 0;
}
