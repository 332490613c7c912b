#pragma once
// A small tracer (opentelemetry-cpp is not packaged for Debian 12): spans are started with
// StartSpan, ended by their RAII handle, buffered in memory and exported in batches by one
// background thread to every SpanExporter (the span table, an OTLP/HTTP collector).
//
// Call sites use the process-wide tracer: app/server.cpp installs it with InstallTracer and
// components call the free StartSpan. That keeps instrumentation to a line or two per call site
// and out of every constructor; with no tracer installed, spans are inert (ids, no recording).
//
// Sampling is decided per trace, never per span. A trace whose id falls under sample_ratio
// (lower 64 bits of the trace id, as OpenTelemetry's TraceIdRatioBased) is exported span by span
// as they end. Any other trace is held in memory until it has no open local root span (for a
// chat run: until `chat.run` ends), then kept whole if any of its spans had status error or
// risk.level "high" (or steward.keep = true), else dropped. Spans that end after their trace was
// decided follow the decision, except that an error or high-risk span is always exported.
// A trace still held after `pending_timeout`, or the oldest one when more than `max_pending`
// spans are held, is decided early by the same rule.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "telemetry/span.hpp"

namespace steward::telemetry {

// A destination for finished spans. Export is called on the tracer's flush thread only, one
// batch at a time; it may block (a database insert) but should not retry for long.
class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  [[nodiscard]] virtual Status Export(const std::vector<Span>& batch) = 0;
  // Sends what the exporter still holds, within `timeout`. Called once, on shutdown.
  virtual void Shutdown(std::chrono::milliseconds timeout) {}
};

struct TracerOptions {
  std::string service_name = "steward";
  std::string service_version = "0.1.0";
  double sample_ratio = 1.0;  // share of traces kept; error and high-risk traces always are
  size_t max_queue = 16384;    // ended spans waiting for export; beyond it the oldest are dropped
  size_t max_pending = 16384;  // spans held while their trace's sampling is undecided
  size_t batch_size = 512;
  std::chrono::milliseconds flush_interval{500};
  std::chrono::milliseconds pending_timeout{std::chrono::minutes(10)};
};

// Counters since start; for /metrics and tests.
struct TracerStats {
  uint64_t recorded = 0;           // spans handed to the tracer (ended, or from workers)
  uint64_t exported = 0;           // spans passed to the exporters
  uint64_t dropped_queue_full = 0;  // oldest spans dropped because the queue was full
  uint64_t dropped_sampling = 0;   // spans of traces sampling did not keep
  uint64_t dropped_shutdown = 0;   // spans ended after Shutdown
  uint64_t export_errors = 0;      // failed Export calls (any exporter)
};

class Tracer;

// Restores the previous current span of this thread when destroyed.
class [[nodiscard]] ActiveSpanGuard final {
 public:
  explicit ActiveSpanGuard(const SpanContext& context);
  ~ActiveSpanGuard();
  ActiveSpanGuard(const ActiveSpanGuard&) = delete;
  ActiveSpanGuard& operator=(const ActiveSpanGuard&) = delete;

 private:
  SpanContext previous_;
};

// A span being recorded; ends (and hands itself to the tracer) when destroyed or on End().
// Movable, not copyable; one thread at a time. A default-constructed or untraced span is inert:
// every setter is a no-op, but context() is still valid so links can be made.
class ScopedSpan final {
 public:
  ScopedSpan() = default;
  // A span that records nothing but has fresh ids: a child of `parent` (or of the thread's
  // current span), else the root of a new trace; its context is marked not sampled.
  [[nodiscard]] static ScopedSpan Untraced(const SpanContext& parent);
  ScopedSpan(ScopedSpan&& other) noexcept;
  ScopedSpan& operator=(ScopedSpan&& other) noexcept;
  ScopedSpan(const ScopedSpan&) = delete;
  ScopedSpan& operator=(const ScopedSpan&) = delete;
  ~ScopedSpan() { End(); }

  // This span's context, for children and for traceparent headers.
  [[nodiscard]] const SpanContext& context() const { return context_; }
  [[nodiscard]] bool recording() const { return data_ != nullptr; }

  ScopedSpan& Set(std::string_view key, std::string_view value);
  ScopedSpan& Set(std::string_view key, const char* value) { return Set(key, std::string_view(value)); }
  ScopedSpan& Set(std::string_view key, const std::string& value) { return Set(key, std::string_view(value)); }
  ScopedSpan& Set(std::string_view key, bool value);
  ScopedSpan& Set(std::string_view key, double value);
  template <class T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
  ScopedSpan& Set(std::string_view key, T value) {
    return SetInt(key, static_cast<int64_t>(value));
  }
  ScopedSpan& SetRunId(std::string_view run_id);
  // Status error with a message (redacted before export); marks the trace to be kept.
  ScopedSpan& SetError(std::string_view message);
  ScopedSpan& SetOk();

  // Ends the span now; later calls and setters are no-ops.
  void End();

  // Makes this span the parent of spans started on this thread without an explicit parent,
  // until the guard is destroyed.
  [[nodiscard]] ActiveSpanGuard Activate() const { return ActiveSpanGuard(context_); }

 private:
  friend class Tracer;
  ScopedSpan& SetInt(std::string_view key, int64_t value);

  std::shared_ptr<Tracer> tracer_;
  std::unique_ptr<Span> data_;
  SpanContext context_;
  bool counted_root_ = false;  // holds an open-root count in the tracer (undecided trace)
};

// Thread-safe; see the file comment for sampling. Starts its flush thread in the constructor.
class Tracer final : public std::enable_shared_from_this<Tracer> {
 public:
  [[nodiscard]] static std::shared_ptr<Tracer> Create(TracerOptions options,
                                                      std::vector<std::unique_ptr<SpanExporter>> exporters);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Starts a span. An invalid `parent` means the calling thread's current span (Activate), or a
  // new trace when there is none.
  [[nodiscard]] ScopedSpan StartSpan(std::string_view name, const SpanContext& parent = {},
                                     SpanKind kind = SpanKind::kInternal);

  // Hands over a span recorded elsewhere (a worker's), already ended. Never blocks on export.
  void Record(Span span);

  // Waits until every span decided for export before the call has been passed to the exporters,
  // or `timeout` passes. Returns false on timeout.
  bool Flush(std::chrono::milliseconds timeout);

  // Decides every held trace, exports what is queued, shuts the exporters down and stops the
  // thread. Spans ended afterwards are dropped (counted). Idempotent.
  void Shutdown(std::chrono::milliseconds timeout = std::chrono::seconds(3));

  [[nodiscard]] TracerStats stats() const;
  [[nodiscard]] const TracerOptions& options() const { return options_; }

  // Whether the ratio alone keeps this trace (deterministic in the trace id).
  [[nodiscard]] bool RatioSampled(std::string_view trace_id) const;

 private:
  friend class ScopedSpan;
  struct Pending {
    std::vector<Span> spans;
    bool keep = false;
    std::chrono::steady_clock::time_point first_seen;
  };

  Tracer(TracerOptions options, std::vector<std::unique_ptr<SpanExporter>> exporters);
  // A local span ended; `counted_root` releases its open-root count.
  void Finish(Span span, bool counted_root);
  void Accept(Span span, bool counted_root);  // requires mu_
  void Enqueue(Span span);                    // requires mu_
  void Decide(const std::string& trace_id);   // requires mu_
  void Remember(const std::string& trace_id, bool keep);  // requires mu_
  void ExpirePending(bool everything);        // requires mu_
  void Run();

  const TracerOptions options_;
  const uint64_t ratio_threshold_;  // traces with lower-64-bit id below it are sampled
  const bool sample_all_;
  std::vector<std::unique_ptr<SpanExporter>> exporters_;  // touched by the flush thread only

  mutable std::mutex mu_;
  std::condition_variable wake_;     // the flush thread
  std::condition_variable flushed_;  // Flush callers
  std::deque<Span> queue_;                                   // GUARDED_BY(mu_)
  std::unordered_map<std::string, int> open_roots_;          // GUARDED_BY(mu_); undecided traces only
  std::unordered_map<std::string, Pending> pending_;         // GUARDED_BY(mu_)
  std::deque<std::string> pending_order_;                    // GUARDED_BY(mu_); may hold decided ids
  size_t pending_spans_ = 0;                                 // GUARDED_BY(mu_)
  std::unordered_map<std::string, bool> decided_;            // GUARDED_BY(mu_); recent decisions
  std::deque<std::string> decided_order_;                    // GUARDED_BY(mu_)
  uint64_t enqueued_seq_ = 0;  // GUARDED_BY(mu_); spans ever queued
  uint64_t done_seq_ = 0;      // GUARDED_BY(mu_); queued spans exported or dropped
  bool flush_requested_ = false;  // GUARDED_BY(mu_)
  bool stopping_ = false;         // GUARDED_BY(mu_)
  bool stopped_ = false;          // GUARDED_BY(mu_)
  TracerStats stats_;             // GUARDED_BY(mu_)
  std::thread thread_;
};

// The process-wide tracer (null: tracing off). InstallTracer(nullptr) uninstalls; spans already
// started keep their tracer alive until they end.
void InstallTracer(std::shared_ptr<Tracer> tracer);
[[nodiscard]] std::shared_ptr<Tracer> ActiveTracer();

// StartSpan on the installed tracer; an inert span (with fresh ids) when there is none.
[[nodiscard]] ScopedSpan StartSpan(std::string_view name, const SpanContext& parent = {},
                                   SpanKind kind = SpanKind::kInternal);

// The context of the span active on this thread (see ScopedSpan::Activate); invalid if none.
[[nodiscard]] SpanContext CurrentContext();

}  // namespace steward::telemetry
