#include "telemetry/otlp_protobuf.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

namespace steward::telemetry {
namespace {

// A reader of the protobuf wire format, for checking what the encoder wrote field by field. The
// encoding is also decoded with the official generated classes (opentelemetry-proto, in Python)
// by otlp_exporter_test.cpp and the functional tests.
struct WireField {
  uint32_t number = 0;
  int wire_type = 0;
  uint64_t number_value = 0;  // varint and fixed64
  std::string bytes;          // length-delimited
};

uint64_t ReadVarint(std::string_view data, size_t& i) {
  uint64_t value = 0;
  for (int shift = 0; i < data.size() && shift < 64; shift += 7) {
    const auto b = static_cast<unsigned char>(data[i++]);
    value |= uint64_t{b & 0x7Fu} << shift;
    if ((b & 0x80) == 0) return value;
  }
  ADD_FAILURE() << "truncated varint";
  return value;
}

std::vector<WireField> Parse(std::string_view data) {
  std::vector<WireField> out;
  size_t i = 0;
  while (i < data.size()) {
    const uint64_t tag = ReadVarint(data, i);
    WireField f;
    f.number = static_cast<uint32_t>(tag >> 3);
    f.wire_type = static_cast<int>(tag & 7);
    if (f.wire_type == 0) {
      f.number_value = ReadVarint(data, i);
    } else if (f.wire_type == 1) {
      if (i + 8 > data.size()) {
        ADD_FAILURE() << "truncated fixed64";
        return out;
      }
      for (int k = 0; k < 8; ++k) f.number_value |= uint64_t{static_cast<unsigned char>(data[i + k])} << (8 * k);
      i += 8;
    } else if (f.wire_type == 2) {
      const uint64_t n = ReadVarint(data, i);
      if (i + n > data.size()) {
        ADD_FAILURE() << "length past the end";
        return out;
      }
      f.bytes = std::string(data.substr(i, n));
      i += n;
    } else {
      ADD_FAILURE() << "unexpected wire type " << f.wire_type;
      return out;
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<WireField> All(const std::vector<WireField>& fields, uint32_t number) {
  std::vector<WireField> out;
  for (const WireField& f : fields) {
    if (f.number == number) out.push_back(f);
  }
  return out;
}

WireField One(const std::vector<WireField>& fields, uint32_t number) {
  const auto all = All(fields, number);
  EXPECT_EQ(all.size(), 1u) << "field " << number;
  return all.empty() ? WireField{} : all[0];
}

// KeyValue list → key → AnyValue fields.
std::map<std::string, std::vector<WireField>> KeyValues(const std::vector<WireField>& fields, uint32_t number) {
  std::map<std::string, std::vector<WireField>> out;
  for (const WireField& kv : All(fields, number)) {
    const auto parts = Parse(kv.bytes);
    out[One(parts, 1).bytes] = Parse(One(parts, 2).bytes);
  }
  return out;
}

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

Span SampleSpan() {
  Span s;
  s.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  s.span_id = "00f067aa0ba902b7";
  s.parent_span_id = "b7ad6b7169203331";
  s.name = "chat offline";
  s.kind = SpanKind::kClient;
  s.start_ns = 1700000000123456789;
  s.end_ns = 1700000000223456789;
  s.status = SpanStatus::kError;
  s.status_message = "HTTP 503";
  s.attributes = {{"gen_ai.operation.name", std::string("chat")},
                  {"gen_ai.usage.input_tokens", int64_t{561}},
                  {"steward.cost_usd", 0.0003},
                  {"tool.success", false}};
  return s;
}

TEST(OtlpProtobuf, EncodesAnExportTraceServiceRequestFieldByField) {
  const std::string out = EncodeOtlpTracesProtobuf({SampleSpan()}, {"steward", "0.1.0"});
  const auto request = Parse(out);
  ASSERT_EQ(request.size(), 1u);
  const auto resource_spans = Parse(One(request, 1).bytes);

  const auto resource = KeyValues(Parse(One(resource_spans, 1).bytes), 1);
  ASSERT_EQ(resource.size(), 4u);
  EXPECT_EQ(One(resource.at("service.name"), 1).bytes, "steward");
  EXPECT_EQ(One(resource.at("service.version"), 1).bytes, "0.1.0");
  EXPECT_EQ(One(resource.at("telemetry.sdk.language"), 1).bytes, "cpp");

  const auto scope_spans = Parse(One(resource_spans, 2).bytes);
  const auto scope = Parse(One(scope_spans, 1).bytes);
  EXPECT_EQ(One(scope, 1).bytes, "steward");
  EXPECT_EQ(One(scope, 2).bytes, "0.1.0");

  const auto span = Parse(One(scope_spans, 2).bytes);
  EXPECT_EQ(One(span, 1).bytes, Unhex("4bf92f3577b34da6a3ce929d0e0e4736"));  // raw 16 bytes, not hex
  EXPECT_EQ(One(span, 2).bytes, Unhex("00f067aa0ba902b7"));
  EXPECT_EQ(One(span, 4).bytes, Unhex("b7ad6b7169203331"));
  EXPECT_EQ(One(span, 5).bytes, "chat offline");
  EXPECT_EQ(One(span, 6).wire_type, 0);
  EXPECT_EQ(One(span, 6).number_value, 3u);  // SPAN_KIND_CLIENT
  EXPECT_EQ(One(span, 7).wire_type, 1);      // fixed64
  EXPECT_EQ(One(span, 7).number_value, 1700000000123456789u);
  EXPECT_EQ(One(span, 8).number_value, 1700000000223456789u);

  const auto attributes = KeyValues(span, 9);
  ASSERT_EQ(attributes.size(), 4u);
  EXPECT_EQ(One(attributes.at("gen_ai.operation.name"), 1).bytes, "chat");  // string_value
  EXPECT_EQ(One(attributes.at("gen_ai.usage.input_tokens"), 3).number_value, 561u);  // int_value
  const WireField cost = One(attributes.at("steward.cost_usd"), 4);  // double_value
  EXPECT_EQ(cost.wire_type, 1);
  double d = 0;
  std::memcpy(&d, &cost.number_value, sizeof d);
  EXPECT_DOUBLE_EQ(d, 0.0003);
  const WireField success = One(attributes.at("tool.success"), 2);  // bool_value, present though false
  EXPECT_EQ(success.wire_type, 0);
  EXPECT_EQ(success.number_value, 0u);

  const auto status = Parse(One(span, 15).bytes);
  EXPECT_EQ(One(status, 2).bytes, "HTTP 503");
  EXPECT_EQ(One(status, 3).number_value, 2u);  // STATUS_CODE_ERROR
}

TEST(OtlpProtobuf, OmitsWhatIsAbsentAndGroupsByServiceAndScope) {
  Span root = SampleSpan();
  root.parent_span_id.clear();
  root.status = SpanStatus::kUnset;
  root.status_message.clear();
  root.attributes = {{"steward.tool_calls", int64_t{-1}}};
  Span worker = SampleSpan();
  worker.service = "steward-worker";
  worker.scope = "steward_worker";
  Span core = SampleSpan();
  core.name = "memory.search";

  const auto request = Parse(EncodeOtlpTracesProtobuf({root, worker, core}, {"steward", ""}));
  const auto groups = All(request, 1);
  ASSERT_EQ(groups.size(), 2u);  // the core's resource, then the worker's

  const auto core_group = Parse(groups[0].bytes);
  const auto core_resource = KeyValues(Parse(One(core_group, 1).bytes), 1);
  EXPECT_EQ(core_resource.count("service.version"), 0u);  // no version configured
  const auto core_scope_spans = Parse(One(core_group, 2).bytes);
  EXPECT_TRUE(All(Parse(One(core_scope_spans, 1).bytes), 2).empty());  // scope without version
  const auto spans = All(core_scope_spans, 2);
  ASSERT_EQ(spans.size(), 2u);
  const auto first = Parse(spans[0].bytes);
  EXPECT_TRUE(All(first, 4).empty());  // a root has no parent_span_id
  EXPECT_TRUE(Parse(One(first, 15).bytes).empty());  // status unset, no message: an empty Status
  EXPECT_EQ(static_cast<int64_t>(One(KeyValues(first, 9).at("steward.tool_calls"), 3).number_value), -1);
  EXPECT_EQ(One(Parse(spans[1].bytes), 5).bytes, "memory.search");

  const auto worker_group = Parse(groups[1].bytes);
  const auto worker_resource = KeyValues(Parse(One(worker_group, 1).bytes), 1);
  ASSERT_EQ(worker_resource.size(), 1u);
  EXPECT_EQ(One(worker_resource.at("service.name"), 1).bytes, "steward-worker");
  const auto worker_scope_spans = Parse(One(worker_group, 2).bytes);
  EXPECT_EQ(One(Parse(One(worker_scope_spans, 1).bytes), 1).bytes, "steward_worker");
  EXPECT_EQ(All(worker_scope_spans, 2).size(), 1u);
}

TEST(OtlpProtobuf, AnEmptyBatchIsAnEmptyRequest) {
  EXPECT_TRUE(EncodeOtlpTracesProtobuf({}, {}).empty());
}

}  // namespace
}  // namespace steward::telemetry
