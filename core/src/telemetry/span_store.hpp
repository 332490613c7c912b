#pragma once
// The span table (migrations/0006_spans.sql): where every exported span is kept for Steward's own
// views (`steward trace RUN`). Writes one batch per statement; reads a run's whole trace.
//
// The run row is read here too (LoadRun) because the trace view is its first reader; it moves to
// the engine when runs get their own store.

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "store/database.hpp"
#include "telemetry/span.hpp"
#include "telemetry/tracer.hpp"

namespace steward::telemetry {

// Thread-safe (the Database is). As a SpanExporter it is called from the tracer's thread.
class SpanStore final : public SpanExporter {
 public:
  // `db` must outlive the store and have migration 0006 applied. `core_service` is stored in
  // the `service` column of spans whose service is empty.
  SpanStore(store::Database& db, std::string core_service) : db_(db), core_service_(std::move(core_service)) {}

  [[nodiscard]] std::string_view name() const override { return "postgresql"; }

  // Inserts the batch in one statement (a multi-row INSERT from one JSON parameter); spans
  // already stored (same trace_id and span_id) are skipped, so a retried batch is harmless.
  [[nodiscard]] Status Export(const std::vector<Span>& batch) override;

  // Every span of `trace_id`, ordered by start time (at most `limit`).
  [[nodiscard]] Result<std::vector<Span>> LoadTrace(const std::string& trace_id, int limit = 10000);

  // The run row as JSON (id, kind, agent, runner, session_id, status, trace_id, confidence,
  // stats, error, started_at, finished_at). kNotFound for an unknown id, kInvalidArgument for
  // one that is not a uuid.
  [[nodiscard]] Result<nlohmann::json> LoadRun(const std::string& run_id);

 private:
  store::Database& db_;
  const std::string core_service_;
};

// A span as the JSON the API returns (ids, name, kind, start_ns, end_ns, duration_ms, status,
// status_message, attributes as an object, service, run_id).
[[nodiscard]] nlohmann::json SpanToJson(const Span& span);

// JSON object attributes ({"k": "v", "n": 3}) → Attributes; other value kinds become JSON text.
[[nodiscard]] Attributes AttributesFromJson(const nlohmann::json& object);
[[nodiscard]] nlohmann::json AttributesToJson(const Attributes& attributes);

// 8-4-4-4-12 hex digits.
[[nodiscard]] bool LooksLikeUuid(std::string_view text);

}  // namespace steward::telemetry
