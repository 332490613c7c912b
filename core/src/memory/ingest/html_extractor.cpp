// HTML: text with tags stripped; title and authorship from <title>, <h1> and <meta>.

#include <algorithm>
#include <array>
#include <string>

#include "memory/ingest/detail/decoded.hpp"
#include "memory/ingest/detail/markup.hpp"
#include "memory/ingest/extractors.hpp"
#include "memory/ingest/text_decode.hpp"

namespace steward::memory::ingest {

namespace {

using detail::MarkupScanner;
using detail::MarkupToken;

// Elements whose boundaries are paragraph breaks, and those that are line breaks, so words of
// two blocks never fuse and a list stays a list.
constexpr std::array<std::string_view, 19> kParagraphTags = {
    "p",   "h1",   "h2",   "h3",    "h4",     "h5",     "h6",     "section",    "article", "blockquote",
    "pre", "table", "ul",  "ol",    "header", "footer", "main",   "figure",     "hr"};
constexpr std::array<std::string_view, 11> kLineTags = {"div", "br", "li", "tr",  "td",     "th",
                                                        "dt",  "dd", "nav", "aside", "figcaption"};

// Elements allowed in <head>.
constexpr std::array<std::string_view, 9> kHeadTags = {"head",   "title",    "meta",     "link", "base",
                                                       "script", "style",    "noscript", "template"};

// Elements whose content is never text a reader sees.
constexpr std::array<std::string_view, 5> kSkipTags = {"script", "style", "noscript", "template", "svg"};

bool In(std::string_view name, const auto& list) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// Ends `text` with at least `n` line breaks (spaces before them do not count).
void Break(std::string& text, int n) {
  int have = 0;
  for (auto it = text.rbegin(); it != text.rend() && have < n; ++it) {
    if (*it == '\n') ++have;
    else if (*it != ' ' && *it != '\t') break;
  }
  if (text.empty()) return;
  text.append(static_cast<size_t>(n - have), '\n');
}

void BlockBoundary(std::string& text, std::string_view name) {
  if (In(name, kParagraphTags)) Break(text, 2);
  else if (In(name, kLineTags)) Break(text, 1);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Text of an inline fragment (e.g. <h1>'s content), tags removed, entities decoded, one line.
std::string FlatText(std::string_view html) {
  MarkupScanner scanner(html, true);
  MarkupToken t;
  std::string out;
  while (scanner.Next(t)) {
    if (t.kind == MarkupToken::Kind::kText) out += detail::DecodeEntities(t.raw);
    else if (t.kind != MarkupToken::Kind::kOther) out += ' ';
  }
  std::string flat = NormalizeWhitespace(out);
  std::replace(flat.begin(), flat.end(), '\n', ' ');
  return flat;
}

// What <meta name|property=… content=…> contributes.
void ApplyMeta(std::string_view raw, ExtractedDocument& doc) {
  std::string key = Lower(detail::Attribute(raw, "name"));
  if (key.empty()) key = Lower(detail::Attribute(raw, "property"));
  if (key.empty()) key = Lower(detail::Attribute(raw, "itemprop"));
  const std::string content = detail::Attribute(raw, "content");
  if (key.empty() || content.empty()) return;
  if (key == "author" || key == "dc.creator" || key == "dcterms.creator" || key == "article:author") {
    if (doc.author.empty()) doc.author = content;
  } else if (key == "date" || key == "dc.date" || key == "dcterms.created" || key == "article:published_time" ||
             key == "datepublished" || key == "dc.date.created") {
    if (doc.created.empty()) doc.created = content;
  } else if (key == "last-modified" || key == "dcterms.modified" || key == "article:modified_time" ||
             key == "datemodified" || key == "dc.date.modified") {
    if (doc.modified.empty()) doc.modified = content;
  } else if (key == "og:title" || key == "dc.title") {
    if (doc.title.empty()) doc.title = content;
  } else if (key == "description" || key == "og:description") {
    if (!doc.extra.contains("description")) doc.extra["description"] = content;
  }
}

}  // namespace

Result<ExtractedDocument> ExtractHtml(std::string_view bytes, const ExtractOptions& options) {
  if (LooksBinary(bytes)) {
    return MakeError(ErrorCode::kInvalidArgument, "binary content (NUL bytes) in a file named as HTML");
  }
  ExtractedDocument doc;
  const std::string html = detail::DecodeInput(bytes, options, doc).text;
  MarkupScanner scanner(html, true);
  MarkupToken t;
  std::string text;
  std::string title_tag, first_h1;
  bool in_head = false;
  while (scanner.Next(t)) {
    switch (t.kind) {
      case MarkupToken::Kind::kText:
        if (!in_head) text += detail::DecodeEntities(t.raw);
        break;
      case MarkupToken::Kind::kOther:
        break;
      case MarkupToken::Kind::kOpen:
      case MarkupToken::Kind::kSelfClosing:
        // A page that never closes <head> (or has none) starts its body at the first element
        // that cannot be in a head.
        if (in_head && !In(t.name, kHeadTags)) in_head = false;
        if (t.name == "meta") {
          ApplyMeta(t.raw, doc);
        } else if (t.name == "title" && t.kind == MarkupToken::Kind::kOpen) {
          if (title_tag.empty()) title_tag = FlatText(scanner.TextUntilClose("title"));
        } else if (t.name == "head" && t.kind == MarkupToken::Kind::kOpen) {
          // <head> holds <title> and <meta>, which the scanner must still see: don't skip it.
          in_head = true;
        } else if (t.name == "h1" && t.kind == MarkupToken::Kind::kOpen && first_h1.empty()) {
          const std::string_view inner = scanner.TextUntilClose("h1");
          first_h1 = FlatText(inner);
          Break(text, 2);
          text += first_h1;
          Break(text, 2);
        } else if (In(t.name, kSkipTags) && t.kind == MarkupToken::Kind::kOpen) {
          scanner.SkipPast(t.name);
        } else if (In(t.name, kParagraphTags) || In(t.name, kLineTags)) {
          BlockBoundary(text, t.name);
        } else if (t.name == "body") {
          in_head = false;  // pages that never close <head>
        }
        break;
      case MarkupToken::Kind::kClose:
        if (t.name == "head") in_head = false;
        else BlockBoundary(text, t.name);
        break;
    }
  }
  doc.title = !title_tag.empty() ? title_tag : (doc.title.empty() ? first_h1 : doc.title);
  doc.text = NormalizeWhitespace(text);
  return doc;
}

}  // namespace steward::memory::ingest
