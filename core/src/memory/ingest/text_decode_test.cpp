#include "memory/ingest/text_decode.hpp"

#include <gtest/gtest.h>

namespace steward::memory::ingest {
namespace {

TEST(DecodeText, KeepsValidUtf8AndDropsTheBom) {
  const DecodedText d = DecodeText("\xEF\xBB\xBF" "caf\xC3\xA9 \xE2\x82\xAC");
  EXPECT_EQ(d.encoding, TextEncoding::kUtf8);
  EXPECT_EQ(d.text, "caf\xC3\xA9 \xE2\x82\xAC");
}

TEST(DecodeText, ReadsInvalidUtf8AsWindows1252) {
  // "café – “quoted”" as Windows-1252.
  const DecodedText d = DecodeText("caf\xE9 \x96 \x93quoted\x94");
  EXPECT_EQ(d.encoding, TextEncoding::kWindows1252);
  EXPECT_EQ(d.text, "caf\xC3\xA9 \xE2\x80\x93 \xE2\x80\x9Cquoted\xE2\x80\x9D");
  EXPECT_TRUE(IsValidUtf8(d.text));
}

TEST(DecodeText, DecodesUtf16WithBom) {
  const std::string le("\xFF\xFEh\0i\0\xAC\x20", 8);  // "hi€"
  EXPECT_EQ(DecodeText(le).text, "hi\xE2\x82\xAC");
  EXPECT_EQ(DecodeText(le).encoding, TextEncoding::kUtf16Le);
  const std::string be("\xFE\xFF\0h\0i", 6);
  EXPECT_EQ(DecodeText(be).text, "hi");
}

TEST(DecodeText, ACutMultiByteSequenceAtTheEndIsNotAnEncodingError) {
  const std::string cut = "caf\xC3";  // prefix of "café"
  EXPECT_EQ(DecodeText(cut, /*maybe_cut=*/true).encoding, TextEncoding::kUtf8);
  EXPECT_EQ(DecodeText(cut, true).text, "caf");
  EXPECT_EQ(DecodeText(cut, false).encoding, TextEncoding::kWindows1252);
}

TEST(IsValidUtf8, RejectsOverlongsSurrogatesAndStrayContinuations) {
  EXPECT_TRUE(IsValidUtf8("plain \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\x80"));              // stray continuation
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // > U+10FFFF
}

TEST(Utf8Boundary, NeverCutsInsideACharacter) {
  const std::string s = "a\xE2\x82\xAC" "b";  // a€b
  EXPECT_EQ(Utf8Boundary(s, 2), 1u);
  EXPECT_EQ(Utf8Boundary(s, 4), 4u);
  EXPECT_EQ(Utf8Boundary(s, 10), s.size());
}

TEST(NormalizeWhitespace, CollapsesSpacesAndBlankLineRuns) {
  EXPECT_EQ(NormalizeWhitespace("  a \t b  \n\n\n\n c\r\n d  "), "a b\n\nc\nd");
}

TEST(LooksBinary, NulBytesAreBinaryButUtf16IsNot) {
  EXPECT_TRUE(LooksBinary(std::string("ab\0cd", 5)));
  EXPECT_FALSE(LooksBinary(std::string("\xFF\xFEh\0", 4)));
  EXPECT_FALSE(LooksBinary("text"));
}

}  // namespace
}  // namespace steward::memory::ingest
