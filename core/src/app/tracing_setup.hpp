#pragma once
// Builds the process's tracer from the `telemetry:` config: the span table always, an OTLP/HTTP
// exporter when otlp_endpoint is set. Kept out of server.cpp, which only wires it in.

#include <memory>
#include <string>

#include "store/database.hpp"
#include "telemetry/telemetry_config.hpp"
#include "telemetry/tracer.hpp"

namespace steward::app {

// The tracer for `config`, or null when telemetry.enabled is false. Registers the OTLP header
// values as secrets (they are credentials for the collector). `db` must outlive the tracer.
[[nodiscard]] std::shared_ptr<telemetry::Tracer> MakeTracer(const telemetry::TelemetryConfig& config,
                                                           store::Database& db, const std::string& version);

}  // namespace steward::app
