#pragma once
// The `telemetry:` section of steward.yaml (parsed by app/detail/telemetry_config.cpp).

#include <map>
#include <string>
#include <string_view>

namespace steward::telemetry {

// The body encoding of OTLP/HTTP export (OTEL_EXPORTER_OTLP_PROTOCOL's http/* values). Protobuf
// is the OTLP spec's default, which every OTLP/HTTP receiver must accept; some (Phoenix) accept
// nothing else.
enum class OtlpProtocol { kHttpProtobuf, kHttpJson };

// "http/protobuf" | "http/json": the names the config (and OTEL_EXPORTER_OTLP_PROTOCOL) use.
[[nodiscard]] constexpr std::string_view OtlpProtocolName(OtlpProtocol protocol) {
  return protocol == OtlpProtocol::kHttpJson ? "http/json" : "http/protobuf";
}

struct TelemetryConfig {
  bool enabled = true;        // false: no spans are recorded, stored or exported (benchmarks)
  std::string otlp_endpoint;  // collector base URL (http://127.0.0.1:4318); empty: no OTLP export
  std::map<std::string, std::string> otlp_headers;  // sent with every export; values are secrets
  OtlpProtocol otlp_protocol = OtlpProtocol::kHttpProtobuf;  // otlp_protocol: http/protobuf | http/json
  double sample_ratio = 1.0;  // share of traces kept; traces with an error or high-risk action always are
  std::string service_name = "steward";  // resource service.name of the core's spans
  std::string log_format = "text";       // text | json; $STEWARD_LOG_FORMAT overrides
};

}  // namespace steward::telemetry
