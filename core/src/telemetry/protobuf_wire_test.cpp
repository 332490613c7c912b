#include "telemetry/protobuf_wire.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace steward::telemetry {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

// The examples are those of the protobuf encoding guide (protobuf.dev/programming-guides/encoding).
TEST(ProtoWriter, WritesVarintsAsTheEncodingGuideShows) {
  ProtoWriter w;
  w.Uint64(1, 150);
  EXPECT_EQ(w.bytes(), Bytes({0x08, 0x96, 0x01}));

  ProtoWriter small;
  small.Uint64(1, 1);
  small.Bool(2, false);  // written: a oneof member at its default still says which member is set
  small.Bool(3, true);
  EXPECT_EQ(small.bytes(), Bytes({0x08, 0x01, 0x10, 0x00, 0x18, 0x01}));
}

TEST(ProtoWriter, WritesNegativeInt64AsTenByteTwosComplement) {
  ProtoWriter w;
  w.Int64(3, -2);
  EXPECT_EQ(w.bytes(), Bytes({0x18, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
}

TEST(ProtoWriter, WritesFieldNumbersAboveFifteenWithTwoByteTags) {
  ProtoWriter w;
  w.Uint64(16, 0);
  EXPECT_EQ(w.bytes(), Bytes({0x80, 0x01, 0x00}));
}

TEST(ProtoWriter, WritesFixed64AndDoubleLittleEndian) {
  ProtoWriter w;
  w.Fixed64(7, 1700000000123456789ULL);  // 0x17979CFE3D85CD15
  EXPECT_EQ(w.bytes(), Bytes({0x39, 0x15, 0xCD, 0x85, 0x3D, 0xFE, 0x9C, 0x97, 0x17}));

  ProtoWriter d;
  d.Double(4, 1.0);  // 0x3FF0000000000000
  EXPECT_EQ(d.bytes(), Bytes({0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF0, 0x3F}));
}

TEST(ProtoWriter, WritesLengthDelimitedStringsAndNestedMessages) {
  ProtoWriter inner;
  inner.String(2, "testing");
  EXPECT_EQ(inner.bytes(), Bytes({0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'}));

  ProtoWriter outer;
  outer.Message(3, inner);
  EXPECT_EQ(outer.bytes(), Bytes({0x1A, 0x09, 0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'}));

  ProtoWriter empty;
  empty.Message(15, ProtoWriter());
  EXPECT_EQ(empty.bytes(), Bytes({0x7A, 0x00}));
}

TEST(ProtoWriter, WritesLengthsOfTwoVarintBytes) {
  ProtoWriter w;
  w.Bytes(1, std::string(300, 'x'));
  ASSERT_EQ(w.bytes().size(), 1u + 2u + 300u);
  EXPECT_EQ(w.bytes().substr(0, 3), Bytes({0x0A, 0xAC, 0x02}));
}

TEST(ProtoWriter, StringsCarryOnlyWellFormedUtf8) {
  ProtoWriter ok;
  ok.String(1, "caf\xC3\xA9");  // café: kept as is
  EXPECT_EQ(ok.bytes(), Bytes({0x0A, 0x05, 'c', 'a', 'f', 0xC3, 0xA9}));

  // Cut inside a two-byte sequence, and a lone continuation byte: each becomes U+FFFD (EF BF BD).
  ProtoWriter cut;
  cut.String(1, "caf\xC3");
  EXPECT_EQ(cut.bytes(), Bytes({0x0A, 0x06, 'c', 'a', 'f', 0xEF, 0xBF, 0xBD}));
  ProtoWriter stray;
  stray.String(1, "\x80");
  EXPECT_EQ(stray.bytes(), Bytes({0x0A, 0x03, 0xEF, 0xBF, 0xBD}));

  // Bytes fields carry anything.
  ProtoWriter raw;
  raw.Bytes(1, "\x80");
  EXPECT_EQ(raw.bytes(), Bytes({0x0A, 0x01, 0x80}));
}

TEST(ProtoWriter, WritesTheLargestVarint) {
  ProtoWriter w;
  w.Uint64(1, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(w.bytes(), Bytes({0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
}

}  // namespace
}  // namespace steward::telemetry
