#pragma once
// Turning a file's bytes into UTF-8 text: documents on a personal disk come in UTF-8, UTF-16
// (Windows "Unicode") and Windows-1252/Latin-1, and none of them says which.

#include <string>
#include <string_view>

namespace steward::memory::ingest {

// The encoding DecodeText found.
enum class TextEncoding { kUtf8, kUtf16Le, kUtf16Be, kWindows1252 };

// "utf-8", "utf-16le", "utf-16be", "windows-1252".
[[nodiscard]] std::string_view EncodingName(TextEncoding encoding);

struct DecodedText {
  std::string text;  // valid UTF-8, without a byte-order mark
  TextEncoding encoding = TextEncoding::kUtf8;
};

// Decodes `bytes`: a UTF-16 BOM selects UTF-16; else valid UTF-8 is taken as is (minus a BOM);
// else every byte is read as Windows-1252 (its undefined bytes as the Latin-1 code points),
// which never fails. When `maybe_cut` is set, an incomplete UTF-8 sequence at the very end
// (a prefix of a longer file) does not count as invalid and is dropped.
[[nodiscard]] DecodedText DecodeText(std::string_view bytes, bool maybe_cut = false);

// True iff `bytes` is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
[[nodiscard]] bool IsValidUtf8(std::string_view bytes);

// Length of the longest prefix of `bytes` that is not in the middle of a UTF-8 sequence and
// at most `max_bytes` long.
[[nodiscard]] size_t Utf8Boundary(std::string_view bytes, size_t max_bytes);

// Appends the UTF-8 encoding of `code_point` (U+FFFD for invalid ones).
void AppendUtf8(std::string& out, char32_t code_point);

// True if `bytes` looks binary: a NUL byte (UTF-16 text is recognised by its BOM first).
[[nodiscard]] bool LooksBinary(std::string_view bytes);

// Collapses runs of spaces/tabs to one space, trims each line and squeezes 3+ blank-line runs
// to one blank line; the shape every extractor hands to the chunker.
[[nodiscard]] std::string NormalizeWhitespace(std::string_view text);

}  // namespace steward::memory::ingest
