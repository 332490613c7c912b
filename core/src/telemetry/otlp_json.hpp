#pragma once
// The OTLP/HTTP JSON encoding of traces (opentelemetry-proto ExportTraceServiceRequest, JSON
// mapping as the OTLP spec defines it: ids as hex, 64-bit integers as strings, enums as numbers).
// Used to export to collectors and to read the spans workers send over the runner protocol.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "telemetry/otlp_batch.hpp"
#include "telemetry/span.hpp"

namespace steward::telemetry {

// {"resourceSpans": [...]}, laid out by GroupOtlpBatch (otlp_batch.hpp).
[[nodiscard]] nlohmann::json EncodeOtlpTraces(const std::vector<Span>& spans, const OtlpResource& core);

// One span as an OTLP JSON Span object.
[[nodiscard]] nlohmann::json EncodeOtlpSpan(const Span& span);

// One OTLP JSON KeyValue list ([{key, value: {stringValue|intValue|doubleValue|boolValue}}]).
[[nodiscard]] nlohmann::json EncodeOtlpAttributes(const Attributes& attributes);

// Reads one OTLP JSON Span object. Accepts what collectors accept: kind and status code as
// numbers or enum names, times and intValue as strings or numbers; array and map values
// become JSON text. kInvalidArgument naming the field when ids, name or times are unusable.
[[nodiscard]] Result<Span> DecodeOtlpSpan(const nlohmann::json& span);

// The attributes of an OTLP JSON KeyValue list (malformed entries are skipped).
[[nodiscard]] Attributes DecodeOtlpAttributes(const nlohmann::json& key_values);

}  // namespace steward::telemetry
