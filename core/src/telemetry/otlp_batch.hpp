#pragma once
// How a batch of spans is laid out in an OTLP ExportTraceServiceRequest, whatever the encoding
// (otlp_json.hpp, otlp_protobuf.hpp): one ResourceSpans per service, one ScopeSpans per
// instrumentation scope within it, spans in batch order; groups in order of first appearance.

#include <string>
#include <vector>

#include "telemetry/span.hpp"

namespace steward::telemetry {

// Who produced the spans whose `service` is empty: the core.
struct OtlpResource {
  std::string service_name = "steward";
  std::string service_version;
};

struct OtlpScopeGroup {
  std::string name;
  std::string version;             // the core's version for the core's own scope; else empty
  std::vector<const Span*> spans;  // point into the batch given to GroupOtlpBatch
};

struct OtlpResourceGroup {
  Attributes resource;  // service.name; for the core also service.version and telemetry.sdk.*
  std::vector<OtlpScopeGroup> scopes;
};

// The batch grouped by service (the core's resource for spans with an empty `service`) and scope.
// The result points into `spans`, which must outlive it.
[[nodiscard]] std::vector<OtlpResourceGroup> GroupOtlpBatch(const std::vector<Span>& spans, const OtlpResource& core);

}  // namespace steward::telemetry
