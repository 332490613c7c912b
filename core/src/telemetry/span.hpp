#pragma once
// What a trace is made of: span records, their attributes, and the W3C trace context that links
// spans across the core, its workers and its clients.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace steward::telemetry {

// An attribute value: OTLP's AnyValue restricted to the scalar kinds Steward records.
using AttributeValue = std::variant<std::string, int64_t, double, bool>;
// Keys are OpenTelemetry names ("gen_ai.usage.input_tokens"); a map keeps exports stable.
using Attributes = std::map<std::string, AttributeValue, std::less<>>;

// OTLP SpanKind numbering (so the enum casts straight to the wire value).
enum class SpanKind { kInternal = 1, kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5 };
// OTLP Status.code numbering.
enum class SpanStatus { kUnset = 0, kOk = 1, kError = 2 };

// Identifies a span for its children: the W3C trace context. Invalid when trace_id is empty.
struct SpanContext {
  std::string trace_id;  // 32 lowercase hex chars
  std::string span_id;   // 16 lowercase hex chars
  bool sampled = true;   // W3C trace-flags bit 0: whether the trace is being recorded
  bool remote = false;   // came from another process (a traceparent header), not a local span

  [[nodiscard]] bool valid() const { return !trace_id.empty() && !span_id.empty(); }
};

// One finished (or in-progress) span, as stored in PostgreSQL and exported over OTLP.
struct Span {
  std::string trace_id;
  std::string span_id;
  std::string parent_span_id;  // empty for a trace's root
  std::string run_id;          // uuid of the Steward run it belongs to; empty when none
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  int64_t start_ns = 0;  // unix nanoseconds
  int64_t end_ns = 0;
  SpanStatus status = SpanStatus::kUnset;
  std::string status_message;
  Attributes attributes;
  std::string service;  // resource service.name; empty means the core's own
  std::string scope;    // instrumentation scope name; empty means the core's own

  [[nodiscard]] double duration_ms() const { return static_cast<double>(end_ns - start_ns) / 1e6; }
};

// Fresh random ids (16 and 8 bytes as lowercase hex), never all zero. Thread-safe.
[[nodiscard]] std::string NewTraceId();
[[nodiscard]] std::string NewSpanId();

// Unix time in nanoseconds from the system clock.
[[nodiscard]] int64_t NowUnixNanos();

// Parses a W3C `traceparent` header ("00-<32 hex>-<16 hex>-<2 hex>"). nullopt when malformed,
// when an id is all zeros, or for version ff; later versions are read by their first four fields
// as the spec asks. The result is marked remote.
[[nodiscard]] std::optional<SpanContext> ParseTraceparent(std::string_view header);

// "00-<trace_id>-<span_id>-01" (or -00 when not sampled). Empty for an invalid context.
[[nodiscard]] std::string FormatTraceparent(const SpanContext& context);

// True for lowercase (or uppercase) hex strings of exactly `length` characters, not all '0'.
[[nodiscard]] bool IsHexId(std::string_view id, size_t length);

// "internal", "server", "client", ...: the lowercase names stored in the span table's `kind` column.
[[nodiscard]] std::string_view KindName(SpanKind kind);
[[nodiscard]] std::optional<SpanKind> KindFromName(std::string_view name);
[[nodiscard]] std::string_view StatusName(SpanStatus status);  // "unset" | "ok" | "error"
[[nodiscard]] std::optional<SpanStatus> StatusFromName(std::string_view name);

}  // namespace steward::telemetry
