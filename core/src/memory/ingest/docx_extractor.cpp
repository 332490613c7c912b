// DOCX: the paragraphs of word/document.xml and the metadata of docProps/core.xml.

#include <string>

#include "memory/ingest/detail/markup.hpp"
#include "memory/ingest/extractors.hpp"
#include "memory/ingest/text_decode.hpp"
#include "memory/ingest/zip_reader.hpp"

namespace steward::memory::ingest {

namespace {

using detail::MarkupScanner;
using detail::MarkupToken;

// Office XML parts of a large report are a few MB; 64 MiB leaves room and still stops a zip bomb.
constexpr size_t kMaxXmlBytes = 64u << 20;

std::string InnerText(MarkupScanner& scanner, const std::string& name) {
  return detail::DecodeEntities(scanner.TextUntilClose(name));
}

void ReadCoreProperties(std::string_view xml, ExtractedDocument& doc) {
  MarkupScanner scanner(xml, false);
  MarkupToken t;
  while (scanner.Next(t)) {
    if (t.kind != MarkupToken::Kind::kOpen) continue;
    if (t.name == "dc:title") doc.title = InnerText(scanner, t.name);
    else if (t.name == "dc:creator") doc.author = InnerText(scanner, t.name);
    else if (t.name == "dcterms:created") doc.created = InnerText(scanner, t.name);
    else if (t.name == "dcterms:modified") doc.modified = InnerText(scanner, t.name);
    else if (t.name == "cp:lastModifiedBy") doc.extra["last_modified_by"] = InnerText(scanner, t.name);
    else if (t.name == "dc:subject") doc.extra["subject"] = InnerText(scanner, t.name);
    else if (t.name == "cp:keywords") doc.extra["keywords"] = InnerText(scanner, t.name);
  }
}

// Paragraph text in document order; the first paragraph styled Title (else Heading1) is
// remembered as a fallback title.
void ReadBody(std::string_view xml, ExtractedDocument& doc, size_t max_text_bytes) {
  MarkupScanner scanner(xml, false);
  MarkupToken t;
  std::string text;
  std::string paragraph, style, title_candidate;
  int title_rank = 0;  // 2: Title style, 1: Heading1
  while (scanner.Next(t)) {
    if (t.kind == MarkupToken::Kind::kOpen && t.name == "w:t") {
      paragraph += InnerText(scanner, t.name);
    } else if ((t.kind == MarkupToken::Kind::kSelfClosing || t.kind == MarkupToken::Kind::kOpen) &&
               (t.name == "w:tab")) {
      paragraph += '\t';
    } else if ((t.kind == MarkupToken::Kind::kSelfClosing || t.kind == MarkupToken::Kind::kOpen) &&
               (t.name == "w:br" || t.name == "w:cr")) {
      paragraph += '\n';
    } else if (t.name == "w:pStyle" && t.kind != MarkupToken::Kind::kClose) {
      style = detail::Attribute(t.raw, "w:val");
    } else if (t.kind == MarkupToken::Kind::kClose && t.name == "w:tc") {
      paragraph += '\t';
    } else if (t.kind == MarkupToken::Kind::kClose && t.name == "w:p") {
      const int rank = style == "Title" ? 2 : (style == "Heading1" ? 1 : 0);
      if (rank > title_rank && !paragraph.empty()) {
        title_rank = rank;
        title_candidate = paragraph;
      }
      text += paragraph;
      text += '\n';
      paragraph.clear();
      style.clear();
      if (text.size() > max_text_bytes + 4096) {
        doc.extra["truncated"] = true;
        break;
      }
    }
  }
  text += paragraph;
  doc.text = NormalizeWhitespace(text);
  if (doc.title.empty()) doc.title = title_candidate;
}

}  // namespace

Result<ExtractedDocument> ExtractDocx(std::string_view bytes, const ExtractOptions& options) {
  auto zip = ZipArchive::Open(bytes);
  if (!zip.ok()) return MakeError(ErrorCode::kInvalidArgument, "not a readable DOCX: " + zip.error().message);
  auto body = zip->Read("word/document.xml", kMaxXmlBytes);
  if (!body.ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     body.error().code == ErrorCode::kNotFound
                         ? "not a DOCX: the archive has no word/document.xml (a different Office format?)"
                         : "not a readable DOCX: " + body.error().message);
  }
  ExtractedDocument doc;
  if (zip->Find("docProps/core.xml") != nullptr) {
    auto core = zip->Read("docProps/core.xml", kMaxXmlBytes);
    if (core.ok()) {
      ReadCoreProperties(*core, doc);
    } else {
      doc.notes.push_back("metadata unreadable: " + core.error().message);
    }
  }
  ReadBody(*body, doc, options.max_text_bytes);
  if (!IsValidUtf8(doc.text)) doc.text = DecodeText(doc.text).text;
  return doc;
}

}  // namespace steward::memory::ingest
