#include "app/tracing_setup.hpp"

#include <spdlog/spdlog.h>

#include "store/redact_url.hpp"
#include "telemetry/logging.hpp"
#include "telemetry/otlp_exporter.hpp"
#include "telemetry/span_store.hpp"

namespace steward::app {

std::shared_ptr<telemetry::Tracer> MakeTracer(const telemetry::TelemetryConfig& config, store::Database& db,
                                              const std::string& version) {
  if (!config.enabled) {
    spdlog::info("tracing is off (telemetry.enabled: false)");
    return nullptr;
  }
  std::vector<std::unique_ptr<telemetry::SpanExporter>> exporters;
  exporters.push_back(std::make_unique<telemetry::SpanStore>(db, config.service_name));
  if (!config.otlp_endpoint.empty()) {
    for (const auto& [name, value] : config.otlp_headers) {
      telemetry::RegisterSecret(value);
      // "Bearer xyz" and "Basic xyz": the credential alone may show up elsewhere too.
      if (const size_t space = value.find(' '); space != std::string::npos) telemetry::RegisterSecret(value.substr(space + 1));
    }
    telemetry::OtlpExporterOptions otlp;
    otlp.endpoint = config.otlp_endpoint;
    otlp.headers = config.otlp_headers;
    otlp.protocol = config.otlp_protocol;
    otlp.resource = {config.service_name, version};
    auto exporter = std::make_unique<telemetry::OtlpHttpExporter>(std::move(otlp));
    spdlog::info("exporting traces over OTLP/HTTP ({}) to {}", telemetry::OtlpProtocolName(config.otlp_protocol),
                 store::RedactUrl(exporter->url()));
    exporters.push_back(std::move(exporter));
  }
  telemetry::TracerOptions options;
  options.service_name = config.service_name;
  options.service_version = version;
  options.sample_ratio = config.sample_ratio;
  return telemetry::Tracer::Create(std::move(options), std::move(exporters));
}

}  // namespace steward::app
