#pragma once
// Exports spans to an OpenTelemetry collector (Jaeger, Tempo, Phoenix, the OTel Collector) over
// OTLP/HTTP: POST {endpoint}/v1/traces, protobuf-encoded (application/x-protobuf, the default) or
// JSON-encoded (application/json).
//
// Export (on the tracer's thread) only encodes the batch and queues it; a sender thread of its
// own posts it, retrying with exponential backoff on connection errors and on 429/502/503/504.
// The queue is bounded: when the collector is slow or down the oldest batch is dropped and
// counted, so a dead collector never holds up the span table or the request path.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "telemetry/otlp_batch.hpp"
#include "telemetry/telemetry_config.hpp"
#include "telemetry/tracer.hpp"

namespace steward::telemetry {

struct OtlpExporterOptions {
  std::string endpoint;  // collector base URL (http://host:4318); "/v1/traces" is appended unless present
  std::map<std::string, std::string> headers;  // e.g. authorization for a hosted collector
  OtlpProtocol protocol = OtlpProtocol::kHttpProtobuf;
  OtlpResource resource;
  size_t max_queued_batches = 64;
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{250};
  std::chrono::milliseconds max_backoff{8000};
  std::chrono::milliseconds request_timeout{10000};
};

struct OtlpExporterStats {
  uint64_t sent_spans = 0;
  uint64_t dropped_spans = 0;  // queue full, retries exhausted, or rejected by the collector
  uint64_t failed_requests = 0;
};

// Thread-safe.
class OtlpHttpExporter final : public SpanExporter {
 public:
  explicit OtlpHttpExporter(OtlpExporterOptions options);
  ~OtlpHttpExporter() override;

  [[nodiscard]] std::string_view name() const override { return "otlp"; }
  // Queues the batch (already redacted by the tracer); never waits for the network.
  [[nodiscard]] Status Export(const std::vector<Span>& batch) override;
  // Sends what is queued until `timeout`, then drops the rest and stops the sender.
  void Shutdown(std::chrono::milliseconds timeout) override;

  [[nodiscard]] OtlpExporterStats stats() const;
  [[nodiscard]] const std::string& url() const { return url_; }

 private:
  struct Batch {
    std::string body;
    size_t spans = 0;
  };
  enum class Outcome { kSent, kRetry, kReject };

  void Run();
  Outcome Post(const std::string& body, std::string& detail);

  const OtlpExporterOptions options_;
  const std::string url_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;    // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point deadline_;  // GUARDED_BY(mu_); set by Shutdown
  OtlpExporterStats stats_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

// {endpoint}/v1/traces, unless `endpoint` already ends with /v1/traces.
[[nodiscard]] std::string OtlpTracesUrl(std::string endpoint);

// "application/x-protobuf" | "application/json".
[[nodiscard]] std::string_view OtlpContentType(OtlpProtocol protocol);

}  // namespace steward::telemetry
