#include "telemetry/worker_spans.hpp"

#include <spdlog/spdlog.h>

#include "telemetry/otlp_json.hpp"
#include "telemetry/tracer.hpp"

namespace steward::telemetry {

namespace {

std::string ResourceString(const Attributes& resource, const char* key) {
  auto it = resource.find(key);
  if (it == resource.end()) return {};
  const auto* s = std::get_if<std::string>(&it->second);
  return s ? *s : std::string();
}

// Cuts on a UTF-8 boundary.
void Cut(std::string& s, size_t max_bytes) {
  if (s.size() <= max_bytes) return;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  s += "…";
}

}  // namespace

std::vector<Span> WorkerSpansFromMessage(const nlohmann::json& message, const std::string& trace_id,
                                         const std::string& run_id, const WorkerSpanLimits& limits,
                                         size_t* rejected) {
  std::vector<Span> out;
  size_t dropped = 0;
  Attributes resource;
  if (auto r = message.find("resource"); r != message.end() && r->is_object()) {
    if (auto a = r->find("attributes"); a != r->end()) resource = DecodeOtlpAttributes(*a);
  }
  std::string service = ResourceString(resource, "service.name");
  if (service.empty()) service = "steward-worker";
  const std::string runtime = ResourceString(resource, "telemetry.sdk.language");
  auto spans = message.find("spans");
  if (spans != message.end() && spans->is_array()) {
    for (const auto& item : *spans) {
      if (out.size() >= limits.max_spans) {
        ++dropped;
        continue;
      }
      Result<Span> decoded = DecodeOtlpSpan(item);
      if (!decoded.ok() || decoded->trace_id != trace_id) {
        ++dropped;
        continue;
      }
      Span span = std::move(*decoded);
      span.run_id = run_id;
      span.service = service;
      if (auto scope = item.find("scope"); scope != item.end() && scope->is_object()) {
        if (auto name = scope->find("name"); name != scope->end() && name->is_string()) span.scope = name->get<std::string>();
      }
      if (span.scope.empty()) span.scope = service;
      while (span.attributes.size() > limits.max_attributes) span.attributes.erase(std::prev(span.attributes.end()));
      for (auto& [key, value] : span.attributes) {
        if (auto* s = std::get_if<std::string>(&value)) Cut(*s, limits.max_value_bytes);
      }
      Cut(span.name, 256);
      if (!runtime.empty()) span.attributes.insert_or_assign("steward.worker.runtime", runtime);
      out.push_back(std::move(span));
    }
  }
  if (rejected) *rejected = dropped;
  return out;
}

size_t RecordWorkerSpans(const nlohmann::json& message, const std::string& trace_id, const std::string& run_id) {
  std::shared_ptr<Tracer> tracer = ActiveTracer();
  if (!tracer) return 0;
  size_t rejected = 0;
  std::vector<Span> spans = WorkerSpansFromMessage(message, trace_id, run_id, {}, &rejected);
  if (rejected > 0) {
    spdlog::debug("run {}: dropped {} worker spans that were malformed or of another trace", run_id, rejected);
  }
  for (Span& span : spans) tracer->Record(std::move(span));
  return spans.size();
}

}  // namespace steward::telemetry
