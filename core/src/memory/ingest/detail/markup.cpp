#include "memory/ingest/detail/markup.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "memory/ingest/extractors.hpp"
#include "memory/ingest/text_decode.hpp"

namespace steward::memory::ingest::detail {

namespace {

struct NamedEntity {
  std::string_view name;
  char32_t code_point;
};

// The named references that occur in real pages often enough to matter; others stay as written.
constexpr NamedEntity kEntities[] = {
    {"amp", '&'},      {"lt", '<'},        {"gt", '>'},        {"quot", '"'},      {"apos", '\''},
    {"nbsp", 0x00A0},  {"copy", 0x00A9},   {"reg", 0x00AE},    {"trade", 0x2122},  {"mdash", 0x2014},
    {"ndash", 0x2013}, {"hellip", 0x2026}, {"lsquo", 0x2018},  {"rsquo", 0x2019},  {"ldquo", 0x201C},
    {"rdquo", 0x201D}, {"laquo", 0x00AB},  {"raquo", 0x00BB},  {"bull", 0x2022},   {"middot", 0x00B7},
    {"euro", 0x20AC},  {"pound", 0x00A3},  {"deg", 0x00B0},    {"times", 0x00D7},  {"eacute", 0x00E9},
    {"egrave", 0x00E8}, {"agrave", 0x00E0}, {"ccedil", 0x00E7}, {"uuml", 0x00FC},  {"ouml", 0x00F6},
    {"auml", 0x00E4},  {"szlig", 0x00DF},  {"shy", 0x00AD},
};

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '-' || c == '_' || c == '.';
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Position of "</name" (case-insensitive) at or after `from`, npos if absent.
size_t FindClose(std::string_view text, size_t from, std::string_view name) {
  for (size_t at = text.find("</", from); at != std::string_view::npos; at = text.find("</", at + 2)) {
    const std::string_view rest = text.substr(at + 2);
    if (rest.size() >= name.size() && IEquals(rest.substr(0, name.size()), name) &&
        (rest.size() == name.size() || !IsNameChar(rest[name.size()]))) {
      return at;
    }
  }
  return std::string_view::npos;
}

}  // namespace

bool MarkupScanner::Next(MarkupToken& token) {
  if (pos_ >= text_.size()) return false;
  token.name.clear();
  const size_t lt = text_.find('<', pos_);
  if (lt != pos_) {
    const size_t end = lt == std::string_view::npos ? text_.size() : lt;
    token.kind = MarkupToken::Kind::kText;
    token.raw = text_.substr(pos_, end - pos_);
    pos_ = end;
    return true;
  }
  const std::string_view rest = text_.substr(pos_);
  size_t end = std::string_view::npos;
  if (rest.substr(0, 4) == "<!--") {
    const size_t close = rest.find("-->", 4);
    end = close == std::string_view::npos ? rest.size() : close + 3;
    token.kind = MarkupToken::Kind::kOther;
  } else if (rest.substr(0, 9) == "<![CDATA[") {
    const size_t close = rest.find("]]>", 9);
    const size_t stop = close == std::string_view::npos ? rest.size() : close;
    token.kind = MarkupToken::Kind::kText;
    token.raw = rest.substr(9, stop - 9);
    pos_ += close == std::string_view::npos ? rest.size() : close + 3;
    return true;
  } else if (rest.size() > 1 && (rest[1] == '!' || rest[1] == '?')) {
    const size_t close = rest.find('>');
    end = close == std::string_view::npos ? rest.size() : close + 1;
    token.kind = MarkupToken::Kind::kOther;
  } else {
    const bool closing = rest.size() > 1 && rest[1] == '/';
    size_t i = closing ? 2 : 1;
    const size_t name_start = i;
    while (i < rest.size() && IsNameChar(rest[i])) ++i;
    if (i == name_start) {
      // "a < b": a lone '<' is text.
      token.kind = MarkupToken::Kind::kText;
      token.raw = rest.substr(0, 1);
      pos_ += 1;
      return true;
    }
    token.name.assign(rest.substr(name_start, i - name_start));
    if (lower_) {
      std::transform(token.name.begin(), token.name.end(), token.name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
    }
    // Find the '>' that ends the tag, skipping quoted attribute values.
    char quote = 0;
    for (; i < rest.size(); ++i) {
      const char c = rest[i];
      if (quote != 0) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        break;
      }
    }
    end = i < rest.size() ? i + 1 : rest.size();
    if (closing) {
      token.kind = MarkupToken::Kind::kClose;
    } else if (end >= 2 && rest[end - 2] == '/') {
      token.kind = MarkupToken::Kind::kSelfClosing;
    } else {
      token.kind = MarkupToken::Kind::kOpen;
    }
  }
  token.raw = rest.substr(0, end);
  pos_ += end;
  return true;
}

bool MarkupScanner::SkipPast(std::string_view close_name) {
  const size_t at = FindClose(text_, pos_, close_name);
  if (at == std::string_view::npos) {
    pos_ = text_.size();
    return false;
  }
  const size_t gt = text_.find('>', at);
  pos_ = gt == std::string_view::npos ? text_.size() : gt + 1;
  return true;
}

std::string_view MarkupScanner::TextUntilClose(std::string_view close_name) {
  const size_t at = FindClose(text_, pos_, close_name);
  const size_t stop = at == std::string_view::npos ? text_.size() : at;
  const std::string_view inner = text_.substr(pos_, stop - pos_);
  pos_ = stop;
  return inner;
}

std::string Attribute(std::string_view raw, std::string_view name) {
  // Skip "<tagname", then walk name=value pairs.
  size_t i = 1;
  while (i < raw.size() && IsNameChar(raw[i])) ++i;
  while (i < raw.size()) {
    while (i < raw.size() && !IsNameChar(raw[i])) ++i;
    const size_t key_start = i;
    while (i < raw.size() && IsNameChar(raw[i])) ++i;
    const std::string_view key = raw.substr(key_start, i - key_start);
    while (i < raw.size() && std::isspace(static_cast<unsigned char>(raw[i]))) ++i;
    if (i >= raw.size() || raw[i] != '=') continue;
    ++i;
    while (i < raw.size() && std::isspace(static_cast<unsigned char>(raw[i]))) ++i;
    std::string_view value;
    if (i < raw.size() && (raw[i] == '"' || raw[i] == '\'')) {
      const char q = raw[i];
      const size_t close = raw.find(q, i + 1);
      const size_t stop = close == std::string_view::npos ? raw.size() : close;
      value = raw.substr(i + 1, stop - i - 1);
      i = stop + 1;
    } else {
      const size_t start = i;
      while (i < raw.size() && !std::isspace(static_cast<unsigned char>(raw[i])) && raw[i] != '>') ++i;
      value = raw.substr(start, i - start);
    }
    if (!key.empty() && IEquals(key, name)) return DecodeEntities(value);
  }
  return {};
}

std::string DecodeEntities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t amp = text.find('&', i);
    if (amp == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, amp - i));
    const size_t semi = text.find(';', amp);
    if (semi == std::string_view::npos || semi - amp > 12) {
      out.push_back('&');
      i = amp + 1;
      continue;
    }
    const std::string_view ref = text.substr(amp + 1, semi - amp - 1);
    bool done = false;
    if (ref.size() >= 2 && ref[0] == '#') {
      const bool hex = ref[1] == 'x' || ref[1] == 'X';
      const std::string digits(ref.substr(hex ? 2 : 1));
      char* stop = nullptr;
      const unsigned long cp = std::strtoul(digits.c_str(), &stop, hex ? 16 : 10);
      if (!digits.empty() && stop != nullptr && *stop == '\0') {
        AppendUtf8(out, cp == 0 ? 0xFFFD : static_cast<char32_t>(std::min<unsigned long>(cp, 0x110000)));
        done = true;
      }
    } else {
      for (const NamedEntity& e : kEntities) {
        if (e.name == ref) {
          AppendUtf8(out, e.code_point);
          done = true;
          break;
        }
      }
    }
    if (done) {
      i = semi + 1;
    } else {
      out.push_back('&');
      i = amp + 1;
    }
  }
  return out;
}

}  // namespace steward::memory::ingest::detail
