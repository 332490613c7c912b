#include "telemetry/protobuf_wire.hpp"

#include <bit>

#include "telemetry/utf8.hpp"

namespace steward::telemetry {

namespace {

constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;

}  // namespace

void ProtoWriter::Varint(uint64_t value) {
  while (value >= 0x80) {
    out_.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out_.push_back(static_cast<char>(value));
}

void ProtoWriter::Uint64(uint32_t field, uint64_t value) {
  Tag(field, kVarint);
  Varint(value);
}

void ProtoWriter::Fixed64(uint32_t field, uint64_t value) {
  Tag(field, kFixed64);
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

void ProtoWriter::Double(uint32_t field, double value) { Fixed64(field, std::bit_cast<uint64_t>(value)); }

void ProtoWriter::Bytes(uint32_t field, std::string_view value) {
  Tag(field, kLengthDelimited);
  Varint(value.size());
  out_.append(value);
}

void ProtoWriter::String(uint32_t field, std::string_view value) {
  if (IsValidUtf8(value)) return Bytes(field, value);
  std::string valid;
  valid.reserve(value.size() + 8);
  AppendValidUtf8(value, valid);
  Bytes(field, valid);
}

}  // namespace steward::telemetry
