#include "app/detail/telemetry_config.hpp"

namespace steward::app::detail {

namespace {

Status GetBool(const Field& f, bool& out) {
  if (!f.present()) return Status::Ok();
  Result<Scalar> s = ReadScalar(f, "true or false");
  if (!s.ok()) return s.error();
  if (s->value == "true" || s->value == "yes" || s->value == "on") {
    out = true;
  } else if (s->value == "false" || s->value == "no" || s->value == "off") {
    out = false;
  } else {
    return f.Fail("expected true or false, got " + Quote(s->shown));
  }
  return Status::Ok();
}

Status GetEndpoint(const Field& f, std::string& out) {
  if (!f.present()) return Status::Ok();
  std::string shown;
  std::string url;
  STEWARD_RETURN_IF_ERROR(GetString(f, url, &shown));
  while (!url.empty() && url.back() == '/') url.pop_back();
  const size_t scheme = url.rfind("https://", 0) == 0 ? 8 : url.rfind("http://", 0) == 0 ? 7 : 0;
  if (url.empty()) {
    out.clear();  // `otlp_endpoint: ""` (e.g. from an unset variable) turns export off
    return Status::Ok();
  }
  if (scheme == 0 || url.size() == scheme || url.find_first_of(" \t\r\n") != std::string::npos) {
    return f.Fail("expected the http:// or https:// base URL of an OTLP/HTTP collector (e.g. "
                  "http://127.0.0.1:4318; Steward posts to /v1/traces under it), got " + Quote(shown));
  }
  out = std::move(url);
  return Status::Ok();
}

Status GetHeaders(const Field& f, std::map<std::string, std::string>& out) {
  Result<Mapping> m = Mapping::Open(f, nullptr);
  if (!m.ok()) return m.error();
  for (const Mapping::Entry& e : m->entries()) {
    if (e.key.empty() || e.key.find_first_of(": \t\r\n") != std::string::npos) {
      return e.value.Fail("invalid header name " + Quote(e.key) + " (expected e.g. Authorization)");
    }
    std::string value;
    STEWARD_RETURN_IF_ERROR(GetString(e.value, value));
    if (value.find_first_of("\r\n") != std::string::npos) return e.value.Fail("expected a header value on one line");
    out[e.key] = std::move(value);
  }
  return Status::Ok();
}

}  // namespace

Status ParseTelemetrySection(const Field& f, Config& config) {
  static const Keys kKeys = {"enabled",      "otlp_endpoint", "otlp_headers", "otlp_protocol",
                             "sample_ratio", "service_name",  "log_format"};
  static const Keys kFormats = {"text", "json"};
  static const Keys kProtocols = {"http/protobuf", "http/json"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  telemetry::TelemetryConfig& t = config.telemetry;
  STEWARD_RETURN_IF_ERROR(GetBool(m->Get("enabled"), t.enabled));
  STEWARD_RETURN_IF_ERROR(GetEndpoint(m->Get("otlp_endpoint"), t.otlp_endpoint));
  STEWARD_RETURN_IF_ERROR(GetHeaders(m->Get("otlp_headers"), t.otlp_headers));
  std::string protocol(telemetry::OtlpProtocolName(t.otlp_protocol));
  STEWARD_RETURN_IF_ERROR(GetChoice(m->Get("otlp_protocol"), kProtocols, "OTLP/HTTP protocol", protocol));
  t.otlp_protocol = protocol == "http/json" ? telemetry::OtlpProtocol::kHttpJson : telemetry::OtlpProtocol::kHttpProtobuf;
  STEWARD_RETURN_IF_ERROR(GetNumber(m->Get("sample_ratio"), 0, 1, "a number between 0 and 1 (1 keeps every trace)",
                                    t.sample_ratio));
  const Field service = m->Get("service_name");
  STEWARD_RETURN_IF_ERROR(GetString(service, t.service_name));
  if (t.service_name.empty()) return service.Fail("expected a non-empty service name, e.g. steward");
  return GetChoice(m->Get("log_format"), kFormats, "log format", t.log_format);
}

}  // namespace steward::app::detail
