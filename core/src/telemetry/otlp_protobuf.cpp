#include "telemetry/otlp_protobuf.hpp"

#include <type_traits>
#include <variant>

#include "telemetry/protobuf_wire.hpp"

namespace steward::telemetry {

namespace {

// Field numbers of opentelemetry-proto v1 (stable since OTLP 1.0; protobuf never renumbers).
namespace request {  // collector.trace.v1.ExportTraceServiceRequest
constexpr uint32_t kResourceSpans = 1;
}
namespace resource_spans {  // trace.v1.ResourceSpans
constexpr uint32_t kResource = 1;
constexpr uint32_t kScopeSpans = 2;
}
namespace resource {  // resource.v1.Resource
constexpr uint32_t kAttributes = 1;
}
namespace scope_spans {  // trace.v1.ScopeSpans
constexpr uint32_t kScope = 1;
constexpr uint32_t kSpans = 2;
}
namespace scope {  // common.v1.InstrumentationScope
constexpr uint32_t kName = 1;
constexpr uint32_t kVersion = 2;
}
namespace span {  // trace.v1.Span
constexpr uint32_t kTraceId = 1;
constexpr uint32_t kSpanId = 2;
constexpr uint32_t kParentSpanId = 4;
constexpr uint32_t kName = 5;
constexpr uint32_t kKind = 6;
constexpr uint32_t kStartTimeUnixNano = 7;  // fixed64
constexpr uint32_t kEndTimeUnixNano = 8;    // fixed64
constexpr uint32_t kAttributes = 9;
constexpr uint32_t kStatus = 15;
}  // namespace span
namespace status {  // trace.v1.Status (field 1 is reserved)
constexpr uint32_t kMessage = 2;
constexpr uint32_t kCode = 3;
}
namespace key_value {  // common.v1.KeyValue
constexpr uint32_t kKey = 1;
constexpr uint32_t kValue = 2;
}
namespace any_value {  // common.v1.AnyValue, a oneof
constexpr uint32_t kString = 1;
constexpr uint32_t kBool = 2;
constexpr uint32_t kInt = 3;
constexpr uint32_t kDouble = 4;
}  // namespace any_value

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

// Span ids are hex strings by Span's invariant (NewTraceId, or checked by DecodeOtlpSpan); OTLP
// protobuf carries the raw bytes.
std::string HexToBytes(std::string_view hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>((HexDigit(hex[i]) << 4) | HexDigit(hex[i + 1])));
  }
  return out;
}

void WriteAttributes(ProtoWriter& out, uint32_t field, const Attributes& attributes) {
  for (const auto& [key, value] : attributes) {
    // A oneof member is written even when it holds its default (false, 0, ""): that is what
    // tells the reader which kind of value it is.
    ProtoWriter any;
    std::visit(
        [&any](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) {
            any.String(any_value::kString, v);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            any.Int64(any_value::kInt, v);
          } else if constexpr (std::is_same_v<T, double>) {
            any.Double(any_value::kDouble, v);
          } else {
            any.Bool(any_value::kBool, v);
          }
        },
        value);
    ProtoWriter kv;
    kv.String(key_value::kKey, key);
    kv.Message(key_value::kValue, any);
    out.Message(field, kv);
  }
}

ProtoWriter EncodeSpan(const Span& s) {
  ProtoWriter out;
  out.Bytes(span::kTraceId, HexToBytes(s.trace_id));
  out.Bytes(span::kSpanId, HexToBytes(s.span_id));
  if (!s.parent_span_id.empty()) out.Bytes(span::kParentSpanId, HexToBytes(s.parent_span_id));
  out.String(span::kName, s.name);
  out.Uint64(span::kKind, static_cast<uint64_t>(s.kind));
  out.Fixed64(span::kStartTimeUnixNano, static_cast<uint64_t>(s.start_ns));
  out.Fixed64(span::kEndTimeUnixNano, static_cast<uint64_t>(s.end_ns));
  WriteAttributes(out, span::kAttributes, s.attributes);
  ProtoWriter st;
  if (!s.status_message.empty()) st.String(status::kMessage, s.status_message);
  if (s.status != SpanStatus::kUnset) st.Uint64(status::kCode, static_cast<uint64_t>(s.status));
  out.Message(span::kStatus, st);
  return out;
}

}  // namespace

std::string EncodeOtlpTracesProtobuf(const std::vector<Span>& spans, const OtlpResource& core) {
  ProtoWriter out;
  for (const OtlpResourceGroup& group : GroupOtlpBatch(spans, core)) {
    ProtoWriter rs;
    ProtoWriter res;
    WriteAttributes(res, resource::kAttributes, group.resource);
    rs.Message(resource_spans::kResource, res);
    for (const OtlpScopeGroup& scope : group.scopes) {
      ProtoWriter ss;
      ProtoWriter sc;
      sc.String(scope::kName, scope.name);
      if (!scope.version.empty()) sc.String(scope::kVersion, scope.version);
      ss.Message(scope_spans::kScope, sc);
      for (const Span* s : scope.spans) ss.Message(scope_spans::kSpans, EncodeSpan(*s));
      rs.Message(resource_spans::kScopeSpans, ss);
    }
    out.Message(request::kResourceSpans, rs);
  }
  return std::move(out).Take();
}

}  // namespace steward::telemetry
