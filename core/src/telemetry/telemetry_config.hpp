#pragma once
// The `telemetry:` section of steward.yaml (parsed by app/detail/telemetry_config.cpp).

#include <map>
#include <string>

namespace steward::telemetry {

struct TelemetryConfig {
  bool enabled = true;        // false: no spans are recorded, stored or exported (benchmarks)
  std::string otlp_endpoint;  // collector base URL (http://127.0.0.1:4318); empty: no OTLP export
  std::map<std::string, std::string> otlp_headers;  // sent with every export; values are secrets
  double sample_ratio = 1.0;  // share of traces kept; traces with an error or high-risk action always are
  std::string service_name = "steward";  // resource service.name of the core's spans
  std::string log_format = "text";       // text | json; $STEWARD_LOG_FORMAT overrides
};

}  // namespace steward::telemetry
