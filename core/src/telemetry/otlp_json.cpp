#include "telemetry/otlp_json.hpp"

#include <utility>

namespace steward::telemetry {

namespace {

using nlohmann::json;

json AnyValue(const AttributeValue& value) {
  return std::visit(
      [](const auto& v) -> json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return {{"stringValue", v}};
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return {{"intValue", std::to_string(v)}};  // proto3 JSON: int64 as a string
        } else if constexpr (std::is_same_v<T, double>) {
          return {{"doubleValue", v}};
        } else {
          return {{"boolValue", v}};
        }
      },
      value);
}

std::optional<int64_t> ReadInt64(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_unsigned()) return static_cast<int64_t>(v.get<uint64_t>());
  if (v.is_number_float()) return static_cast<int64_t>(v.get<double>());
  if (v.is_string()) {
    try {
      size_t used = 0;
      const std::string& s = v.get_ref<const std::string&>();
      const long long n = std::stoll(s, &used);
      if (used == s.size()) return n;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

// An AnyValue as plain JSON: scalars as themselves, arrays as arrays, kvlists as objects.
json PlainJson(const json& value) {
  if (!value.is_object()) return nullptr;
  if (auto it = value.find("stringValue"); it != value.end()) return *it;
  if (auto it = value.find("boolValue"); it != value.end()) return *it;
  if (auto it = value.find("doubleValue"); it != value.end()) return *it;
  if (auto it = value.find("intValue"); it != value.end()) {
    if (auto n = ReadInt64(*it)) return *n;
    return *it;
  }
  if (auto it = value.find("arrayValue"); it != value.end()) {
    json out = json::array();
    if (it->is_object() && it->contains("values") && (*it)["values"].is_array()) {
      for (const json& v : (*it)["values"]) out.push_back(PlainJson(v));
    }
    return out;
  }
  if (auto it = value.find("kvlistValue"); it != value.end()) {
    json out = json::object();
    if (it->is_object() && it->contains("values") && (*it)["values"].is_array()) {
      for (const json& kv : (*it)["values"]) {
        if (kv.is_object() && kv.contains("key") && kv["key"].is_string()) {
          out[kv["key"].get<std::string>()] = PlainJson(kv.value("value", json::object()));
        }
      }
    }
    return out;
  }
  return nullptr;
}

std::optional<AttributeValue> ReadAnyValue(const json& value) {
  if (!value.is_object()) return std::nullopt;
  if (auto it = value.find("stringValue"); it != value.end() && it->is_string()) return it->get<std::string>();
  if (auto it = value.find("boolValue"); it != value.end() && it->is_boolean()) return it->get<bool>();
  if (auto it = value.find("intValue"); it != value.end()) {
    if (auto n = ReadInt64(*it)) return *n;
    return std::nullopt;
  }
  if (auto it = value.find("doubleValue"); it != value.end()) {
    if (it->is_number()) return it->get<double>();
    if (it->is_string()) {
      try {
        return std::stod(it->get<std::string>());
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
    return std::nullopt;
  }
  // arrayValue / kvlistValue: kept as JSON text of their plain values (["stop"], {"k": 1}), which
  // the span table and `steward trace` can show; Steward's own spans never use them.
  if (value.contains("arrayValue") || value.contains("kvlistValue")) return PlainJson(value).dump();
  if (auto it = value.find("bytesValue"); it != value.end()) return it->dump();
  return std::nullopt;
}

const json* Find(const json& object, const char* camel, const char* snake) {
  if (auto it = object.find(camel); it != object.end()) return &*it;
  if (auto it = object.find(snake); it != object.end()) return &*it;
  return nullptr;
}

std::string ReadId(const json& object, const char* camel, const char* snake) {
  const json* v = Find(object, camel, snake);
  if (v == nullptr || !v->is_string()) return {};
  std::string id = v->get<std::string>();
  for (char& c : id) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return id;
}

Error Invalid(std::string message, std::string field) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message), std::move(field));
}

}  // namespace

json EncodeOtlpAttributes(const Attributes& attributes) {
  json out = json::array();
  for (const auto& [key, value] : attributes) out.push_back({{"key", key}, {"value", AnyValue(value)}});
  return out;
}

json EncodeOtlpSpan(const Span& span) {
  json out = {{"traceId", span.trace_id},
              {"spanId", span.span_id},
              {"name", span.name},
              {"kind", static_cast<int>(span.kind)},
              {"startTimeUnixNano", std::to_string(span.start_ns)},
              {"endTimeUnixNano", std::to_string(span.end_ns)},
              {"attributes", EncodeOtlpAttributes(span.attributes)}};
  if (!span.parent_span_id.empty()) out["parentSpanId"] = span.parent_span_id;
  json status = {{"code", static_cast<int>(span.status)}};
  if (!span.status_message.empty()) status["message"] = span.status_message;
  out["status"] = std::move(status);
  return out;
}

json EncodeOtlpTraces(const std::vector<Span>& spans, const OtlpResource& core) {
  json resource_spans = json::array();
  for (const OtlpResourceGroup& group : GroupOtlpBatch(spans, core)) {
    json scope_spans = json::array();
    for (const OtlpScopeGroup& scope : group.scopes) {
      json list = json::array();
      for (const Span* span : scope.spans) list.push_back(EncodeOtlpSpan(*span));
      json scope_json = {{"name", scope.name}};
      if (!scope.version.empty()) scope_json["version"] = scope.version;
      scope_spans.push_back({{"scope", std::move(scope_json)}, {"spans", std::move(list)}});
    }
    resource_spans.push_back({{"resource", {{"attributes", EncodeOtlpAttributes(group.resource)}}},
                              {"scopeSpans", std::move(scope_spans)}});
  }
  return {{"resourceSpans", std::move(resource_spans)}};
}

Attributes DecodeOtlpAttributes(const json& key_values) {
  Attributes out;
  if (!key_values.is_array()) return out;
  for (const json& kv : key_values) {
    if (!kv.is_object()) continue;
    auto key = kv.find("key");
    auto value = kv.find("value");
    if (key == kv.end() || !key->is_string() || key->get_ref<const std::string&>().empty() || value == kv.end()) {
      continue;
    }
    if (auto v = ReadAnyValue(*value)) out.insert_or_assign(key->get<std::string>(), std::move(*v));
  }
  return out;
}

Result<Span> DecodeOtlpSpan(const json& in) {
  if (!in.is_object()) return Invalid("expected a span object", "span");
  Span span;
  span.trace_id = ReadId(in, "traceId", "trace_id");
  span.span_id = ReadId(in, "spanId", "span_id");
  span.parent_span_id = ReadId(in, "parentSpanId", "parent_span_id");
  if (!IsHexId(span.trace_id, 32)) return Invalid("expected traceId as 32 hex characters", "traceId");
  if (!IsHexId(span.span_id, 16)) return Invalid("expected spanId as 16 hex characters", "spanId");
  if (!span.parent_span_id.empty() && !IsHexId(span.parent_span_id, 16)) {
    return Invalid("expected parentSpanId as 16 hex characters or absent", "parentSpanId");
  }
  const json* name = Find(in, "name", "name");
  if (name == nullptr || !name->is_string() || name->get_ref<const std::string&>().empty()) {
    return Invalid("expected a non-empty name", "name");
  }
  span.name = name->get<std::string>();
  const json* start = Find(in, "startTimeUnixNano", "start_time_unix_nano");
  const json* end = Find(in, "endTimeUnixNano", "end_time_unix_nano");
  const auto start_ns = start ? ReadInt64(*start) : std::nullopt;
  const auto end_ns = end ? ReadInt64(*end) : std::nullopt;
  if (!start_ns || !end_ns || *start_ns <= 0 || *end_ns < *start_ns) {
    return Invalid("expected startTimeUnixNano <= endTimeUnixNano, both positive", "startTimeUnixNano");
  }
  span.start_ns = *start_ns;
  span.end_ns = *end_ns;
  if (const json* kind = Find(in, "kind", "kind")) {
    if (kind->is_number_integer() && kind->get<int>() >= 1 && kind->get<int>() <= 5) {
      span.kind = static_cast<SpanKind>(kind->get<int>());
    } else if (kind->is_string()) {
      std::string k = kind->get<std::string>();
      if (k.rfind("SPAN_KIND_", 0) == 0) k = k.substr(10);
      for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      span.kind = KindFromName(k).value_or(SpanKind::kInternal);
    }
  }
  if (const json* status = Find(in, "status", "status"); status && status->is_object()) {
    if (auto code = status->find("code"); code != status->end()) {
      if (code->is_number_integer() && code->get<int>() >= 0 && code->get<int>() <= 2) {
        span.status = static_cast<SpanStatus>(code->get<int>());
      } else if (code->is_string()) {
        const std::string& c = code->get_ref<const std::string&>();
        span.status = c == "STATUS_CODE_ERROR" ? SpanStatus::kError
                      : c == "STATUS_CODE_OK"  ? SpanStatus::kOk
                                               : SpanStatus::kUnset;
      }
    }
    if (auto message = status->find("message"); message != status->end() && message->is_string()) {
      span.status_message = message->get<std::string>();
    }
  }
  if (const json* attributes = Find(in, "attributes", "attributes")) span.attributes = DecodeOtlpAttributes(*attributes);
  return span;
}

}  // namespace steward::telemetry
