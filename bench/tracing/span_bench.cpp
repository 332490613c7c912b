// span_bench: the core's own cost of one span on the request path (StartSpan, six attributes, End),
// with the tracer's flush thread exporting to a null exporter, single- and multi-threaded, plus the
// cost with tracing off (no tracer installed: inert spans). tracing_bench.py measures whole chat turns.

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "telemetry/tracer.hpp"

namespace {

using namespace steward::telemetry;
using Clock = std::chrono::steady_clock;

class NullExporter final : public SpanExporter {
 public:
  std::string_view name() const override { return "null"; }
  steward::Status Export(const std::vector<Span>&) override { return steward::Status::Ok(); }
};

double NsPerSpan(int threads, int per_thread) {
  std::vector<std::thread> pool;
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([per_thread] {
      for (int i = 0; i < per_thread; ++i) {
        ScopedSpan root = StartSpan("chat.run");
        ScopedSpan span = StartSpan("chat offline", root.context(), SpanKind::kClient);
        span.Set("gen_ai.operation.name", "chat").Set("gen_ai.system", "scripted").Set("gen_ai.request.model", "zero");
        span.Set("gen_ai.usage.input_tokens", 561).Set("gen_ai.usage.output_tokens", 216).Set("steward.cost_usd", 0.0003);
      }
    });
  }
  for (auto& t : pool) t.join();
  const double ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
  return ns / (2.0 * threads * per_thread);  // two spans per iteration
}

}  // namespace

int main() {
  constexpr int kSpans = 200000;
  std::printf("span_bench: one span = StartSpan + 6 attributes + End (2 spans per iteration)\n");
  InstallTracer(nullptr);
  std::printf("  tracing off (inert spans)        %8.0f ns/span\n", NsPerSpan(1, kSpans));
  std::vector<std::unique_ptr<SpanExporter>> exporters;
  exporters.push_back(std::make_unique<NullExporter>());
  TracerOptions options;
  options.max_queue = 1 << 20;
  auto tracer = Tracer::Create(options, std::move(exporters));
  InstallTracer(tracer);
  NsPerSpan(1, 10000);  // warm up
  std::printf("  tracing on, 1 thread             %8.0f ns/span\n", NsPerSpan(1, kSpans));
  std::printf("  tracing on, 4 threads            %8.0f ns/span (wall / spans)\n", NsPerSpan(4, kSpans / 4));
  tracer->Flush(std::chrono::seconds(30));
  const TracerStats stats = tracer->stats();
  std::printf("  recorded %llu, exported %llu, dropped (queue full) %llu\n",
              static_cast<unsigned long long>(stats.recorded), static_cast<unsigned long long>(stats.exported),
              static_cast<unsigned long long>(stats.dropped_queue_full));
  InstallTracer(nullptr);
  tracer->Shutdown();
  return 0;
}
