#pragma once
// A writer of the protobuf wire format (protobuf.dev/programming-guides/encoding), enough for the
// OTLP messages Steward sends: varints, fixed64, doubles, bytes, strings and nested messages.
// Encoding only; which field numbers and types make up a message is the caller's business
// (otlp_protobuf.cpp). Not thread-safe; one writer per message being built.

#include <cstdint>
#include <string>
#include <string_view>

namespace steward::telemetry {

class ProtoWriter final {
 public:
  // Varint fields: uint64, int64 (negative values as ten bytes, as protobuf's int64 does), enums.
  void Uint64(uint32_t field, uint64_t value);
  void Int64(uint32_t field, int64_t value) { Uint64(field, static_cast<uint64_t>(value)); }
  void Bool(uint32_t field, bool value) { Uint64(field, value ? 1 : 0); }
  // Little-endian 8-byte fields: fixed64, double.
  void Fixed64(uint32_t field, uint64_t value);
  void Double(uint32_t field, double value);
  // Length-delimited fields. String fields must hold UTF-8 (parsers reject anything else), so
  // String writes each byte that starts no well-formed sequence as U+FFFD.
  void Bytes(uint32_t field, std::string_view value);
  void String(uint32_t field, std::string_view value);
  void Message(uint32_t field, const ProtoWriter& message) { Bytes(field, message.bytes()); }

  [[nodiscard]] const std::string& bytes() const { return out_; }
  [[nodiscard]] std::string Take() && { return std::move(out_); }

 private:
  void Tag(uint32_t field, uint32_t wire_type) { Varint((uint64_t{field} << 3) | wire_type); }
  void Varint(uint64_t value);

  std::string out_;
};

}  // namespace steward::telemetry
