#pragma once
// The `telemetry:` section of steward.yaml (telemetry/telemetry_config.hpp). Split from
// config.cpp to keep that file about the core.

#include "app/config.hpp"
#include "app/detail/config_reader.hpp"
#include "common/result.hpp"

namespace steward::app::detail {

// Parses `telemetry: {enabled, otlp_endpoint, otlp_headers, otlp_protocol, sample_ratio,
// service_name, log_format}` into config.telemetry. otlp_endpoint must be an http(s) URL;
// otlp_protocol http/protobuf (default) or http/json; header values may use ${ENV} and are never
// quoted back in messages.
[[nodiscard]] Status ParseTelemetrySection(const Field& f, Config& config);

}  // namespace steward::app::detail
