#include "telemetry/tracer.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cmath>
#include <limits>

#include <spdlog/spdlog.h>

#include "telemetry/redaction.hpp"

namespace steward::telemetry {

namespace {

constexpr int kFlushThreadNice = 10;  // see Run

using Clock = std::chrono::steady_clock;

constexpr size_t kDecisionsRemembered = 4096;
constexpr auto kExportWarnEvery = std::chrono::seconds(60);
constexpr auto kSweepEvery = std::chrono::seconds(1);

std::atomic<std::shared_ptr<Tracer>> g_tracer;
thread_local SpanContext t_current;

uint64_t RatioThreshold(double ratio) {
  if (!(ratio > 0)) return 0;
  if (ratio >= 1) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(std::ldexp(ratio, 64));
}

// Error and high-risk spans keep their whole trace.
bool KeepWorthy(const Span& span) {
  if (span.status == SpanStatus::kError) return true;
  if (auto it = span.attributes.find("risk.level"); it != span.attributes.end()) {
    if (const auto* level = std::get_if<std::string>(&it->second); level && *level == "high") return true;
  }
  if (auto it = span.attributes.find("steward.keep"); it != span.attributes.end()) {
    if (const auto* keep = std::get_if<bool>(&it->second); keep && *keep) return true;
  }
  return false;
}

}  // namespace

// ---- ActiveSpanGuard / ScopedSpan -------------------------------------------------------------

ActiveSpanGuard::ActiveSpanGuard(const SpanContext& context) : previous_(std::move(t_current)) {
  t_current = context;
}
ActiveSpanGuard::~ActiveSpanGuard() { t_current = std::move(previous_); }

SpanContext CurrentContext() { return t_current; }

ScopedSpan ScopedSpan::Untraced(const SpanContext& parent) {
  const SpanContext& effective = parent.valid() ? parent : t_current;
  ScopedSpan span;
  span.context_.trace_id = effective.valid() ? effective.trace_id : NewTraceId();
  span.context_.span_id = NewSpanId();
  span.context_.sampled = false;
  return span;
}

ScopedSpan::ScopedSpan(ScopedSpan&& other) noexcept
    : tracer_(std::move(other.tracer_)),
      data_(std::move(other.data_)),
      context_(std::move(other.context_)),
      counted_root_(std::exchange(other.counted_root_, false)) {}

ScopedSpan& ScopedSpan::operator=(ScopedSpan&& other) noexcept {
  if (this != &other) {
    End();
    tracer_ = std::move(other.tracer_);
    data_ = std::move(other.data_);
    context_ = std::move(other.context_);
    counted_root_ = std::exchange(other.counted_root_, false);
  }
  return *this;
}

ScopedSpan& ScopedSpan::Set(std::string_view key, std::string_view value) {
  if (data_) data_->attributes.insert_or_assign(std::string(key), std::string(value));
  return *this;
}
ScopedSpan& ScopedSpan::Set(std::string_view key, bool value) {
  if (data_) data_->attributes.insert_or_assign(std::string(key), value);
  return *this;
}
ScopedSpan& ScopedSpan::Set(std::string_view key, double value) {
  if (data_) data_->attributes.insert_or_assign(std::string(key), value);
  return *this;
}
ScopedSpan& ScopedSpan::SetInt(std::string_view key, int64_t value) {
  if (data_) data_->attributes.insert_or_assign(std::string(key), value);
  return *this;
}
ScopedSpan& ScopedSpan::SetRunId(std::string_view run_id) {
  if (data_) data_->run_id = run_id;
  return *this;
}
ScopedSpan& ScopedSpan::SetError(std::string_view message) {
  if (data_) {
    data_->status = SpanStatus::kError;
    data_->status_message = message;
  }
  return *this;
}
ScopedSpan& ScopedSpan::SetOk() {
  if (data_) {
    data_->status = SpanStatus::kOk;
    data_->status_message.clear();
  }
  return *this;
}

void ScopedSpan::End() {
  if (!data_) return;
  data_->end_ns = NowUnixNanos();
  tracer_->Finish(std::move(*data_), std::exchange(counted_root_, false));
  data_.reset();
  tracer_.reset();
}

// ---- Tracer -----------------------------------------------------------------------------------

std::shared_ptr<Tracer> Tracer::Create(TracerOptions options, std::vector<std::unique_ptr<SpanExporter>> exporters) {
  std::shared_ptr<Tracer> tracer(new Tracer(std::move(options), std::move(exporters)));
  tracer->thread_ = std::thread([raw = tracer.get()] { raw->Run(); });
  return tracer;
}

Tracer::Tracer(TracerOptions options, std::vector<std::unique_ptr<SpanExporter>> exporters)
    : options_(std::move(options)),
      ratio_threshold_(RatioThreshold(options_.sample_ratio)),
      sample_all_(options_.sample_ratio >= 1.0),
      exporters_(std::move(exporters)) {}

Tracer::~Tracer() { Shutdown(); }

bool Tracer::RatioSampled(std::string_view trace_id) const {
  if (sample_all_) return true;
  if (trace_id.size() < 16) return false;
  uint64_t low = 0;
  const std::string_view tail = trace_id.substr(trace_id.size() - 16);
  const auto [end, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), low, 16);
  if (ec != std::errc() || end != tail.data() + tail.size()) return false;
  return low < ratio_threshold_;
}

ScopedSpan Tracer::StartSpan(std::string_view name, const SpanContext& parent, SpanKind kind) {
  const SpanContext& effective = parent.valid() ? parent : t_current;
  ScopedSpan span;
  span.context_.trace_id = effective.valid() ? effective.trace_id : NewTraceId();
  span.context_.span_id = NewSpanId();
  span.tracer_ = shared_from_this();
  span.data_ = std::make_unique<Span>();
  Span& data = *span.data_;
  data.trace_id = span.context_.trace_id;
  data.span_id = span.context_.span_id;
  if (effective.valid()) data.parent_span_id = effective.span_id;
  data.name = name;
  data.kind = kind;
  data.start_ns = NowUnixNanos();
  if (!effective.valid()) {
    // A trace's root says who produced it, for views that show spans without their resource.
    data.attributes.emplace("service.name", options_.service_name);
    data.attributes.emplace("service.version", options_.service_version);
  }
  // Only an undecided trace needs to know when its roots end.
  if (!effective.valid() && !RatioSampled(data.trace_id)) {
    std::lock_guard lock(mu_);
    ++open_roots_[data.trace_id];
    span.counted_root_ = true;
  }
  return span;
}

void Tracer::Finish(Span span, bool counted_root) {
  std::lock_guard lock(mu_);
  if (stopping_) {
    ++stats_.dropped_shutdown;
    return;
  }
  ++stats_.recorded;
  Accept(std::move(span), counted_root);
  if (queue_.size() >= options_.batch_size) wake_.notify_one();
}

void Tracer::Record(Span span) { Finish(std::move(span), false); }

void Tracer::Accept(Span span, bool counted_root) {
  const std::string trace_id = span.trace_id;
  if (counted_root) {
    if (auto it = open_roots_.find(trace_id); it != open_roots_.end() && --it->second <= 0) open_roots_.erase(it);
  }
  if (RatioSampled(trace_id)) return Enqueue(std::move(span));
  const bool keep = KeepWorthy(span);
  if (auto decided = decided_.find(trace_id); decided != decided_.end()) {
    if (decided->second || keep) return Enqueue(std::move(span));
    ++stats_.dropped_sampling;
    return;
  }
  auto [it, inserted] = pending_.try_emplace(trace_id);
  if (inserted) {
    it->second.first_seen = Clock::now();
    pending_order_.push_back(trace_id);
  }
  it->second.keep = it->second.keep || keep;
  it->second.spans.push_back(std::move(span));
  ++pending_spans_;
  if (open_roots_.count(trace_id) == 0) Decide(trace_id);
  while (pending_spans_ > options_.max_pending && !pending_order_.empty()) {
    const std::string oldest = std::move(pending_order_.front());
    pending_order_.pop_front();
    Decide(oldest);
  }
}

void Tracer::Enqueue(Span span) {
  if (queue_.size() >= options_.max_queue) {
    queue_.pop_front();
    ++stats_.dropped_queue_full;
    ++done_seq_;
  }
  queue_.push_back(std::move(span));
  ++enqueued_seq_;
}

void Tracer::Decide(const std::string& trace_id) {
  auto it = pending_.find(trace_id);
  if (it == pending_.end()) return;
  Pending pending = std::move(it->second);
  pending_.erase(it);
  pending_spans_ -= pending.spans.size();
  if (pending.keep) {
    for (Span& span : pending.spans) Enqueue(std::move(span));
  } else {
    stats_.dropped_sampling += pending.spans.size();
  }
  Remember(trace_id, pending.keep);
}

void Tracer::Remember(const std::string& trace_id, bool keep) {
  if (decided_.insert_or_assign(trace_id, keep).second) decided_order_.push_back(trace_id);
  while (decided_order_.size() > kDecisionsRemembered) {
    decided_.erase(decided_order_.front());
    decided_order_.pop_front();
  }
}

void Tracer::ExpirePending(bool everything) {
  const auto cutoff = Clock::now() - options_.pending_timeout;
  while (!pending_order_.empty()) {
    auto it = pending_.find(pending_order_.front());
    if (it != pending_.end() && !everything && it->second.first_seen > cutoff) break;
    const std::string trace_id = std::move(pending_order_.front());
    pending_order_.pop_front();
    Decide(trace_id);
  }
}

void Tracer::Run() {
  // Redacting and exporting a batch is a millisecond or more of CPU that no request waits for: on
  // a small machine it should give way to the threads serving requests, not compete with them
  // (on 2 cores it set the tail of every tool call's latency). A lower priority, not a starved
  // thread: the scheduler still gives it its share. Failing to lower it changes nothing else.
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kFlushThreadNice);
  std::unordered_map<std::string_view, Clock::time_point> last_warned;
  auto last_sweep = Clock::now();
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait_for(lock, options_.flush_interval, [&] {
      return stopping_ || flush_requested_ || queue_.size() >= options_.batch_size;
    });
    if (stopping_) {
      ExpirePending(/*everything=*/true);
    } else if (Clock::now() - last_sweep >= kSweepEvery) {
      ExpirePending(/*everything=*/false);
      last_sweep = Clock::now();
    }
    while (!queue_.empty()) {
      // Everything queued is taken in O(1) and the lock released at once: the request threads
      // that end spans wait on this lock, and this thread runs at a lower priority, so it must
      // never move, redact or free spans while holding it.
      std::deque<Span> taken;
      taken.swap(queue_);
      lock.unlock();
      std::vector<Span> batch;
      batch.reserve(std::min(taken.size(), options_.batch_size));
      while (!taken.empty()) {
        const size_t n = std::min(taken.size(), options_.batch_size);
        for (size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(taken.front()));
          taken.pop_front();
        }
        // Redaction happens here, off the request path; nothing leaves the process unredacted.
        for (Span& span : batch) RedactSpan(span);
        uint64_t errors = 0;
        for (auto& exporter : exporters_) {
          Status status = exporter->Export(batch);
          if (status.ok()) continue;
          ++errors;
          auto& last = last_warned[exporter->name()];
          if (Clock::now() - last >= kExportWarnEvery) {
            last = Clock::now();
            spdlog::warn("exporting {} spans to {} failed (further failures quiet for {} s): {}", batch.size(),
                         exporter->name(), kExportWarnEvery.count(), status.error().ToString());
          }
        }
        batch.clear();  // the spans are freed here, outside the lock
        lock.lock();
        stats_.exported += n;
        stats_.export_errors += errors;
        done_seq_ += n;
        flushed_.notify_all();
        lock.unlock();
      }
      lock.lock();
    }
    flush_requested_ = false;
    flushed_.notify_all();
    if (stopping_) return;
  }
}

bool Tracer::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (stopped_) return true;
  const uint64_t target = enqueued_seq_;
  if (done_seq_ >= target) return true;
  flush_requested_ = true;
  wake_.notify_one();
  return flushed_.wait_for(lock, timeout, [&] { return done_seq_ >= target || stopped_; });
}

void Tracer::Shutdown(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  for (auto& exporter : exporters_) exporter->Shutdown(timeout);
  std::lock_guard lock(mu_);
  stopped_ = true;
  flushed_.notify_all();
}

TracerStats Tracer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

// ---- process-wide -----------------------------------------------------------------------------

void InstallTracer(std::shared_ptr<Tracer> tracer) { g_tracer.store(std::move(tracer)); }

std::shared_ptr<Tracer> ActiveTracer() { return g_tracer.load(); }

ScopedSpan StartSpan(std::string_view name, const SpanContext& parent, SpanKind kind) {
  if (std::shared_ptr<Tracer> tracer = g_tracer.load()) return tracer->StartSpan(name, parent, kind);
  return ScopedSpan::Untraced(parent);
}

}  // namespace steward::telemetry
