#pragma once
// The OTLP/HTTP protobuf encoding of traces (Content-Type application/x-protobuf, the default
// OTLP/HTTP encoding and the only one some receivers, e.g. Phoenix, accept): an
// ExportTraceServiceRequest of opentelemetry-proto v1 (collector/trace/v1/trace_service.proto),
// written with ProtoWriter. Carries what the JSON encoding (otlp_json.hpp) carries, laid out the
// same way (otlp_batch.hpp).

#include <string>
#include <vector>

#include "telemetry/otlp_batch.hpp"
#include "telemetry/span.hpp"

namespace steward::telemetry {

// The serialized ExportTraceServiceRequest for the batch.
[[nodiscard]] std::string EncodeOtlpTracesProtobuf(const std::vector<Span>& spans, const OtlpResource& core);

}  // namespace steward::telemetry
