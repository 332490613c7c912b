#include "memory/ingest/extractors.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include "memory/ingest/detail/decoded.hpp"
#include "memory/ingest/text_decode.hpp"

namespace steward::memory::ingest {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

// YAML front matter ("---\nkey: value\n---\n") as flat key/value pairs; the body after it.
struct FrontMatter {
  std::vector<std::pair<std::string, std::string>> fields;
  std::string_view body;
};

FrontMatter SplitFrontMatter(std::string_view text) {
  FrontMatter out{{}, text};
  if (text.substr(0, 4) != "---\n" && text.substr(0, 5) != "---\r\n") return out;
  const size_t start = text.find('\n') + 1;
  size_t pos = start;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string line = Trim(text.substr(pos, eol - pos));
    if (line == "---" || line == "...") {
      out.body = text.substr(std::min(eol + 1, text.size()));
      return out;
    }
    const size_t colon = line.find(':');
    if (colon != std::string::npos && colon > 0) {
      out.fields.emplace_back(Lower(Trim(line.substr(0, colon))), Unquote(Trim(line.substr(colon + 1))));
    }
    pos = eol + 1;
  }
  return {{}, text};  // no closing fence: not front matter
}

}  // namespace

std::string_view FormatName(Format format) {
  switch (format) {
    case Format::kText: return "text";
    case Format::kMarkdown: return "markdown";
    case Format::kHtml: return "html";
    case Format::kPdf: return "pdf";
    case Format::kDocx: return "docx";
    case Format::kCsv: return "csv";
    case Format::kJson: return "json";
    case Format::kUnknown: break;
  }
  return "unknown";
}

std::string_view FormatMime(Format format) {
  switch (format) {
    case Format::kText: return "text/plain";
    case Format::kMarkdown: return "text/markdown";
    case Format::kHtml: return "text/html";
    case Format::kPdf: return "application/pdf";
    case Format::kDocx: return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    case Format::kCsv: return "text/csv";
    case Format::kJson: return "application/json";
    case Format::kUnknown: break;
  }
  return "application/octet-stream";
}

Format FormatFromPath(std::string_view path) {
  const size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return Format::kUnknown;
  const std::string ext = Lower(name.substr(dot + 1));
  if (ext == "txt" || ext == "text" || ext == "log" || ext == "rst" || ext == "org") return Format::kText;
  if (ext == "md" || ext == "markdown" || ext == "mdown" || ext == "mkd") return Format::kMarkdown;
  if (ext == "html" || ext == "htm" || ext == "xhtml") return Format::kHtml;
  if (ext == "pdf") return Format::kPdf;
  if (ext == "docx") return Format::kDocx;
  if (ext == "csv" || ext == "tsv") return Format::kCsv;
  if (ext == "json") return Format::kJson;
  return Format::kUnknown;
}

Format SniffFormat(Format by_name, std::string_view head) {
  if (head.substr(0, 5) == "%PDF-") return Format::kPdf;
  if (head.substr(0, 4) == std::string_view("PK\x03\x04", 4)) return Format::kDocx;
  return by_name;
}

bool NeedsWholeFile(Format format) {
  return format == Format::kPdf || format == Format::kDocx || format == Format::kJson;
}

namespace detail {

bool CapText(std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return false;
  text.resize(Utf8Boundary(text, max_bytes));
  return true;
}

DecodedInput DecodeInput(std::string_view bytes, const ExtractOptions& options, ExtractedDocument& doc) {
  DecodedText decoded = DecodeText(bytes, options.input_was_cut);
  if (decoded.encoding != TextEncoding::kUtf8) {
    doc.extra["encoding"] = std::string(EncodingName(decoded.encoding));
    if (decoded.encoding == TextEncoding::kWindows1252) {
      doc.notes.push_back("not valid UTF-8: decoded as Windows-1252 (Latin-1)");
    }
  }
  return {std::move(decoded.text)};
}

}  // namespace detail

Result<ExtractedDocument> ExtractPlainText(std::string_view bytes, const ExtractOptions& options) {
  if (LooksBinary(bytes)) {
    return MakeError(ErrorCode::kInvalidArgument, "binary content (NUL bytes) in a file named as text");
  }
  ExtractedDocument doc;
  doc.text = NormalizeWhitespace(detail::DecodeInput(bytes, options, doc).text);
  return doc;
}

Result<ExtractedDocument> ExtractMarkdown(std::string_view bytes, const ExtractOptions& options) {
  if (LooksBinary(bytes)) {
    return MakeError(ErrorCode::kInvalidArgument, "binary content (NUL bytes) in a file named as Markdown");
  }
  ExtractedDocument doc;
  const std::string text = detail::DecodeInput(bytes, options, doc).text;
  const FrontMatter fm = SplitFrontMatter(text);
  for (const auto& [key, value] : fm.fields) {
    if (key == "title") doc.title = value;
    if (key == "author" || key == "authors") doc.author = value;
    if (key == "date" || key == "created") doc.created = value;
    if (key == "updated" || key == "modified" || key == "lastmod") doc.modified = value;
  }
  if (doc.title.empty()) {
    size_t pos = 0;
    while (pos < fm.body.size()) {
      size_t eol = fm.body.find('\n', pos);
      if (eol == std::string_view::npos) eol = fm.body.size();
      const std::string_view line = fm.body.substr(pos, eol - pos);
      if (line.substr(0, 2) == "# ") {
        doc.title = Trim(line.substr(2));
        break;
      }
      pos = eol + 1;
    }
  }
  doc.text = NormalizeWhitespace(fm.body);
  return doc;
}

Result<ExtractedDocument> Extract(Format format, std::string_view bytes, const ExtractOptions& options) {
  Result<ExtractedDocument> doc = [&]() -> Result<ExtractedDocument> {
    switch (format) {
      case Format::kText: return ExtractPlainText(bytes, options);
      case Format::kMarkdown: return ExtractMarkdown(bytes, options);
      case Format::kHtml: return ExtractHtml(bytes, options);
      case Format::kPdf: return ExtractPdf(bytes, options);
      case Format::kDocx: return ExtractDocx(bytes, options);
      case Format::kCsv: return ExtractCsv(bytes, options);
      case Format::kJson: return ExtractJson(bytes, options);
      case Format::kUnknown: break;
    }
    return MakeError(ErrorCode::kInvalidArgument,
                     "unsupported file type (expected .md, .txt, .html, .pdf, .docx, .csv or .json)");
  }();
  if (!doc.ok()) return doc;
  const size_t full = doc->text.size();
  if (detail::CapText(doc->text, options.max_text_bytes) || options.input_was_cut ||
      doc->extra.value("truncated", false)) {
    doc->extra["truncated"] = true;
    doc->notes.push_back("truncated: only the first " + std::to_string(doc->text.size()) + " bytes of text" +
                         (full > doc->text.size() ? " (of " + std::to_string(full) + ")" : std::string()) +
                         " are indexed (memory.ingest.max_text_bytes)");
  }
  doc->title = Trim(doc->title);
  doc->author = Trim(doc->author);
  return doc;
}

}  // namespace steward::memory::ingest
