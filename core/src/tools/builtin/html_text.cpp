#include "tools/builtin/html_text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>

namespace steward::tools::builtin {

namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Position of `needle` (lowercase ASCII) in `hay` from `from`, ASCII case-insensitively.
size_t IFind(std::string_view hay, std::string_view needle, size_t from) {
  if (needle.empty() || hay.size() < needle.size()) return std::string_view::npos;
  for (size_t i = from; i + needle.size() <= hay.size(); ++i) {
    if (IEquals(hay.substr(i, needle.size()), needle)) return i;
  }
  return std::string_view::npos;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

struct Named {
  std::string_view name;
  uint32_t cp;
};

constexpr Named kEntities[] = {
    {"amp", '&'},       {"lt", '<'},         {"gt", '>'},         {"quot", '"'},
    {"apos", '\''},     {"nbsp", ' '},       {"ensp", ' '},       {"emsp", ' '},
    {"thinsp", ' '},    {"shy", 0},          {"copy", 0xA9},      {"reg", 0xAE},
    {"trade", 0x2122},  {"hellip", 0x2026},  {"mdash", 0x2014},   {"ndash", 0x2013},
    {"lsquo", 0x2018},  {"rsquo", 0x2019},   {"sbquo", 0x201A},   {"ldquo", 0x201C},
    {"rdquo", 0x201D},  {"bdquo", 0x201E},   {"laquo", 0xAB},     {"raquo", 0xBB},
    {"lsaquo", 0x2039}, {"rsaquo", 0x203A},  {"bull", 0x2022},    {"middot", 0xB7},
    {"deg", 0xB0},      {"euro", 0x20AC},    {"pound", 0xA3},     {"yen", 0xA5},
    {"cent", 0xA2},     {"sect", 0xA7},      {"para", 0xB6},      {"times", 0xD7},
    {"divide", 0xF7},   {"plusmn", 0xB1},    {"frac12", 0xBD},    {"frac14", 0xBC},
    {"frac34", 0xBE},   {"micro", 0xB5},     {"larr", 0x2190},    {"rarr", 0x2192},
    {"uarr", 0x2191},   {"darr", 0x2193},    {"harr", 0x2194},    {"le", 0x2264},
    {"ge", 0x2265},     {"ne", 0x2260},      {"asymp", 0x2248},   {"infin", 0x221E},
    {"minus", 0x2212},  {"dagger", 0x2020},  {"prime", 0x2032},   {"iexcl", 0xA1},
    {"iquest", 0xBF},   {"aacute", 0xE1},    {"eacute", 0xE9},    {"iacute", 0xED},
    {"oacute", 0xF3},   {"uacute", 0xFA},    {"agrave", 0xE0},    {"egrave", 0xE8},
    {"auml", 0xE4},     {"ouml", 0xF6},      {"uuml", 0xFC},      {"Auml", 0xC4},
    {"Ouml", 0xD6},     {"Uuml", 0xDC},      {"szlig", 0xDF},     {"ccedil", 0xE7},
    {"ntilde", 0xF1},   {"Eacute", 0xC9},    {"ecirc", 0xEA},     {"acirc", 0xE2},
    {"zwj", 0x200D},    {"zwnj", 0x200C},
};

// HTML maps numeric references 128-159 to Windows-1252, not to C1 controls.
constexpr uint16_t kCp1252[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};

// Decodes the reference at text[i] == '&'; returns the bytes consumed (0: not a reference).
size_t DecodeOne(std::string_view text, size_t i, std::string& out) {
  const size_t semi = text.find(';', i + 1);
  if (i + 1 < text.size() && text[i + 1] == '#') {
    const bool hex = i + 2 < text.size() && (text[i + 2] == 'x' || text[i + 2] == 'X');
    size_t j = i + (hex ? 3 : 2);
    uint32_t cp = 0;
    size_t digits = 0;
    while (j < text.size() && digits < 8) {
      const char c = text[j];
      int v = -1;
      if (c >= '0' && c <= '9') v = c - '0';
      else if (hex && c >= 'a' && c <= 'f') v = c - 'a' + 10;
      else if (hex && c >= 'A' && c <= 'F') v = c - 'A' + 10;
      if (v < 0) break;
      cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
      ++j;
      ++digits;
    }
    if (digits == 0) return 0;
    if (cp >= 128 && cp < 160) cp = kCp1252[cp - 128];
    AppendUtf8(out, cp);
    return j - i + (j < text.size() && text[j] == ';' ? 1 : 0);
  }
  if (semi != std::string_view::npos && semi - i <= 10) {
    const std::string_view name = text.substr(i + 1, semi - i - 1);
    for (const auto& e : kEntities) {
      if (e.name == name) {
        if (e.cp != 0) AppendUtf8(out, e.cp);
        return semi - i + 1;
      }
    }
  }
  // Legacy references without ';' that pages still use.
  for (std::string_view legacy : {"amp", "lt", "gt", "quot", "nbsp"}) {
    if (text.substr(i + 1, legacy.size()) == legacy) {
      for (const auto& e : kEntities) {
        if (e.name == legacy) AppendUtf8(out, e.cp);
      }
      return legacy.size() + 1;
    }
  }
  return 0;
}

bool IsOneOf(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Elements whose content is never text.
bool IsSkipped(std::string_view name) {
  return IsOneOf(name, {"script", "style", "noscript", "template", "svg", "iframe", "object",
                        "canvas", "math"});
}

bool IsBlock(std::string_view name) {
  return IsOneOf(name, {"p", "div", "section", "article", "header", "footer", "nav", "aside",
                        "main", "ul", "ol", "dl", "dt", "dd", "table", "tr", "thead", "tbody",
                        "tfoot", "blockquote", "pre", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
                        "form", "fieldset", "figure", "figcaption", "address", "details",
                        "summary", "caption", "body", "html", "title"});
}

struct Tag {
  std::string name;  // lowercase
  bool closing = false;
  size_t end = 0;  // index after '>'
};

// Parses the tag starting at html[i] == '<'; name empty when it is not a tag.
Tag ParseTag(std::string_view html, size_t i) {
  Tag tag;
  size_t j = i + 1;
  if (j < html.size() && html[j] == '/') {
    tag.closing = true;
    ++j;
  }
  // A tag name starts with a letter; "1<2" and "a < b" are text.
  if (j >= html.size() || !std::isalpha(static_cast<unsigned char>(html[j]))) return Tag{};
  while (j < html.size() && (std::isalnum(static_cast<unsigned char>(html[j])) || html[j] == '-')) {
    tag.name += static_cast<char>(std::tolower(static_cast<unsigned char>(html[j])));
    ++j;
  }
  if (tag.name.empty()) return Tag{};
  // Attribute values may hold '>' inside quotes.
  char quote = 0;
  while (j < html.size()) {
    const char c = html[j];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      break;
    }
    ++j;
  }
  tag.end = j < html.size() ? j + 1 : html.size();
  return tag;
}

}  // namespace

std::string DecodeEntities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '&') {
      const size_t used = DecodeOne(text, i, out);
      if (used > 0) {
        i += used;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

std::string CollapseWhitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  int newlines = 0;
  bool space = false;
  for (char c : text) {
    if (c == '\n') {
      ++newlines;
      space = false;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      space = true;
    } else {
      if (!out.empty()) {
        if (newlines > 0) {
          out.append(std::min(newlines, 2), '\n');
        } else if (space) {
          out += ' ';
        }
      }
      newlines = 0;
      space = false;
      out += c;
    }
  }
  return out;
}

PageText HtmlToText(std::string_view html) {
  PageText page;
  std::string raw;  // text with layout marks, entities decoded
  raw.reserve(html.size() / 2);
  int pre = 0;
  std::string title;
  bool in_title = false;
  bool title_done = false;
  auto add_text = [&](std::string_view segment) {
    std::string decoded = DecodeEntities(segment);
    if (in_title) {
      title += decoded;
      return;
    }
    if (pre == 0) {
      for (char& c : decoded) {
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
      }
    }
    raw += decoded;
  };

  size_t i = 0;
  size_t text_start = 0;
  while (i < html.size()) {
    if (html[i] != '<') {
      ++i;
      continue;
    }
    add_text(html.substr(text_start, i - text_start));
    if (html.compare(i, 4, "<!--") == 0) {
      const size_t end = html.find("-->", i + 4);
      i = text_start = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    if (i + 1 < html.size() && (html[i + 1] == '!' || html[i + 1] == '?')) {
      const size_t end = html.find('>', i);
      i = text_start = end == std::string_view::npos ? html.size() : end + 1;
      continue;
    }
    Tag tag = ParseTag(html, i);
    if (tag.name.empty()) {  // a literal '<' in text
      raw += '<';
      text_start = ++i;
      continue;
    }
    i = text_start = tag.end;
    const std::string& name = tag.name;
    if (name == "title") {
      // The first <title> names the page; later ones are neither title nor text.
      if (!tag.closing && title_done) {
        const size_t close = IFind(html, "</title", i);
        i = text_start = close == std::string_view::npos ? html.size() : ParseTag(html, close).end;
        continue;
      }
      if (!tag.closing) in_title = true;
      if (tag.closing && in_title) {
        in_title = false;
        title_done = true;
      }
      continue;
    }
    if (!tag.closing && IsSkipped(name)) {
      // Raw text elements: skip to the matching close tag.
      const size_t close = IFind(html, "</" + name, i);
      if (close == std::string_view::npos) {
        i = text_start = html.size();
      } else {
        i = text_start = ParseTag(html, close).end;
      }
      continue;
    }
    if (name == "head") continue;  // <head> holds only metadata and the title, handled above
    if (name == "pre") pre = std::max(0, pre + (tag.closing ? -1 : 1));
    // Items and rows break the line when they open; closing them adds nothing, so lists and
    // tables stay one line per entry.
    const bool entry = name == "li" || name == "tr" || name == "dt" || name == "dd";
    if (tag.closing && (entry || name == "td" || name == "th")) continue;
    if (name == "br") {
      raw += '\n';
    } else if (name == "li" && !tag.closing) {
      raw += "\n- ";
    } else if ((name == "td" || name == "th") && !tag.closing) {
      raw += " | ";
    } else if (name.size() == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6') {
      raw += "\n\n";
    } else if (name == "p" || name == "blockquote" || name == "pre" || name == "table") {
      raw += "\n\n";
    } else if (IsBlock(name) || entry) {
      raw += '\n';
    } else if (name == "img" && !tag.closing) {
      // Nothing: alt text of decorative images is mostly noise.
    }
  }
  add_text(html.substr(text_start, html.size() - text_start));
  page.title = CollapseWhitespace(title);

  // Table rows start with the first cell's " | ": drop separators at line starts.
  std::string cleaned;
  cleaned.reserve(raw.size());
  for (size_t k = 0; k < raw.size(); ++k) {
    if (raw.compare(k, 3, " | ") == 0) {
      size_t back = cleaned.size();
      while (back > 0 && cleaned[back - 1] == ' ') --back;
      if (back == 0 || cleaned[back - 1] == '\n') {
        k += 2;
        continue;
      }
    }
    cleaned += raw[k];
  }
  page.text = CollapseWhitespace(SanitizeUtf8(cleaned));
  page.title = SanitizeUtf8(page.title);
  return page;
}

std::string SanitizeUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c >= 0x20 && c != 0x7F) || c == '\n' || c == '\t') out += static_cast<char>(c);
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    bool ok = len > 0 && i + len <= text.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if (ok) {
      static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (ok) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

std::string Latin1ToUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) AppendUtf8(out, c == 0 ? 0xFFFD : c);
  return out;
}

std::string CutText(std::string_view text, size_t max_bytes, bool* cut) {
  if (cut != nullptr) *cut = text.size() > max_bytes;
  if (text.size() <= max_bytes) return std::string(text);
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  const size_t floor = end - end / 5;
  for (char boundary : {'\n', ' '}) {
    const size_t at = text.rfind(boundary, end);
    if (at != std::string_view::npos && at >= floor && at > 0) {
      end = at;
      break;
    }
  }
  return std::string(text.substr(0, end));
}

}  // namespace steward::tools::builtin
