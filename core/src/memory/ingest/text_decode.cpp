#include "memory/ingest/text_decode.hpp"

#include <array>

namespace steward::memory::ingest {

namespace {

// Windows-1252 bytes 0x80..0x9F; the five undefined ones keep their Latin-1 (C1) code point.
constexpr std::array<char32_t, 32> kCp1252High = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,  // 80-87
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,  // 88-8F
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,  // 90-97
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,  // 98-9F
};

// Length of the well-formed UTF-8 sequence at bytes[i], 0 if malformed, -1 if it runs past the
// end (possibly cut).
int SequenceLength(std::string_view bytes, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  int n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // > U+10FFFF
  } else {
    return 0;
  }
  for (int k = 1; k < n; ++k) {
    if (i + k >= bytes.size()) return -1;
    const unsigned char cont = b(i + k);
    if (k == 1 ? (cont < lo || cont > hi) : (cont < 0x80 || cont > 0xBF)) return 0;
  }
  return n;
}

// Checks UTF-8; with allow_cut, an incomplete sequence in the last 3 bytes is accepted and
// *valid_end says where the complete text ends.
bool CheckUtf8(std::string_view bytes, bool allow_cut, size_t* valid_end) {
  size_t i = 0;
  while (i < bytes.size()) {
    const int n = SequenceLength(bytes, i);
    if (n == -1 && allow_cut) break;
    if (n <= 0) return false;
    i += static_cast<size_t>(n);
  }
  if (valid_end != nullptr) *valid_end = i;
  return true;
}

std::string DecodeUtf16(std::string_view bytes, bool little_endian) {
  std::string out;
  out.reserve(bytes.size());
  auto unit = [&](size_t k) -> char32_t {
    const auto a = static_cast<unsigned char>(bytes[k]);
    const auto b = static_cast<unsigned char>(bytes[k + 1]);
    return little_endian ? (a | (b << 8)) : ((a << 8) | b);
  };
  size_t i = 2;  // after the BOM
  while (i + 1 < bytes.size()) {
    char32_t u = unit(i);
    i += 2;
    if (u >= 0xD800 && u <= 0xDBFF && i + 1 < bytes.size()) {
      const char32_t low = unit(i);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        i += 2;
        u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
      } else {
        u = 0xFFFD;
      }
    } else if (u >= 0xD800 && u <= 0xDFFF) {
      u = 0xFFFD;
    }
    AppendUtf8(out, u);
  }
  return out;
}

}  // namespace

std::string_view EncodingName(TextEncoding encoding) {
  switch (encoding) {
    case TextEncoding::kUtf8: return "utf-8";
    case TextEncoding::kUtf16Le: return "utf-16le";
    case TextEncoding::kUtf16Be: return "utf-16be";
    case TextEncoding::kWindows1252: return "windows-1252";
  }
  return "utf-8";
}

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsValidUtf8(std::string_view bytes) { return CheckUtf8(bytes, false, nullptr); }

size_t Utf8Boundary(std::string_view bytes, size_t max_bytes) {
  if (bytes.size() <= max_bytes) return bytes.size();
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(bytes[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}

DecodedText DecodeText(std::string_view bytes, bool maybe_cut) {
  DecodedText out;
  if (bytes.size() >= 2) {
    const auto b0 = static_cast<unsigned char>(bytes[0]);
    const auto b1 = static_cast<unsigned char>(bytes[1]);
    if ((b0 == 0xFF && b1 == 0xFE) || (b0 == 0xFE && b1 == 0xFF)) {
      const bool le = b0 == 0xFF;
      out.encoding = le ? TextEncoding::kUtf16Le : TextEncoding::kUtf16Be;
      out.text = DecodeUtf16(bytes, le);
      return out;
    }
  }
  if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  size_t end = bytes.size();
  if (CheckUtf8(bytes, maybe_cut, &end)) {
    out.text.assign(bytes.substr(0, end));
    return out;
  }
  out.encoding = TextEncoding::kWindows1252;
  out.text.reserve(bytes.size() + bytes.size() / 8);
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.text.push_back(ch);
    } else {
      AppendUtf8(out.text, c < 0xA0 ? kCp1252High[c - 0x80] : static_cast<char32_t>(c));
    }
  }
  return out;
}

bool LooksBinary(std::string_view bytes) {
  if (bytes.size() >= 2) {
    const auto b0 = static_cast<unsigned char>(bytes[0]);
    const auto b1 = static_cast<unsigned char>(bytes[1]);
    if ((b0 == 0xFF && b1 == 0xFE) || (b0 == 0xFE && b1 == 0xFF)) return false;
  }
  return bytes.substr(0, 8192).find('\0') != std::string_view::npos;
}

std::string NormalizeWhitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  int pending_newlines = 0;
  bool pending_space = false;
  bool line_has_text = false;
  for (const char c : text) {
    if (c == '\n') {
      ++pending_newlines;
      pending_space = false;
      line_has_text = false;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      if (line_has_text) pending_space = true;
    } else {
      if (!out.empty()) {
        if (pending_newlines > 0) {
          out.append(pending_newlines >= 2 ? "\n\n" : "\n");
        } else if (pending_space) {
          out.push_back(' ');
        }
      }
      pending_newlines = 0;
      pending_space = false;
      line_has_text = true;
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace steward::memory::ingest
