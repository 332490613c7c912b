#pragma once
// Text and metadata out of the document formats Steward ingests. Each extractor takes the
// file's bytes (already read and capped by the caller) and returns plain UTF-8 text plus what
// the format says about itself; none of them touches the file system or the database.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace steward::memory::ingest {

enum class Format { kUnknown, kText, kMarkdown, kHtml, kPdf, kDocx, kCsv, kJson };

// "text", "markdown", "html", "pdf", "docx", "csv", "json" ("unknown").
[[nodiscard]] std::string_view FormatName(Format format);
// The MIME type recorded for a format.
[[nodiscard]] std::string_view FormatMime(Format format);
// The format of a file from its extension (case-insensitive); kUnknown for anything else.
[[nodiscard]] Format FormatFromPath(std::string_view path);
// Refines a guess by the first bytes: "%PDF-" is a PDF and "PK\3\4" a zip, whatever the name
// says; kUnknown stays kUnknown. Used to report a mislabelled file truthfully.
[[nodiscard]] Format SniffFormat(Format by_name, std::string_view head);
// True for formats that must be read whole (a cut PDF, zip or JSON cannot be parsed); the
// others are read as a prefix when the file is larger than the text cap.
[[nodiscard]] bool NeedsWholeFile(Format format);

// What an extractor found. Dates are ISO 8601 as the document states them ("" when unknown).
struct ExtractedDocument {
  std::string text;    // UTF-8, normalised whitespace; may be empty (nothing to index)
  std::string title;
  std::string author;
  std::string created;
  std::string modified;
  nlohmann::json extra = nlohmann::json::object();  // format-specific: pages, rows, encoding…
  std::vector<std::string> notes;  // things a reader should know ("decoded as Windows-1252")
};

struct ExtractOptions {
  size_t max_text_bytes = 1u << 20;  // text beyond this is cut (the caller records "truncated")
  bool input_was_cut = false;        // the bytes are a prefix of a longer file
};

// Errors are kInvalidArgument with a message naming what is wrong with the file ("not a PDF
// or damaged: …"); the caller reports it and moves on.
[[nodiscard]] Result<ExtractedDocument> Extract(Format format, std::string_view bytes,
                                                const ExtractOptions& options);

[[nodiscard]] Result<ExtractedDocument> ExtractPlainText(std::string_view bytes, const ExtractOptions& options);
// Markdown stays Markdown (it reads well as is); the title comes from front matter or the
// first "# " heading, author/date from front matter.
[[nodiscard]] Result<ExtractedDocument> ExtractMarkdown(std::string_view bytes, const ExtractOptions& options);
// Tags stripped, script/style dropped, block elements become line breaks, entities decoded;
// title from <title> (else the first <h1>), author/dates from <meta>.
[[nodiscard]] Result<ExtractedDocument> ExtractHtml(std::string_view bytes, const ExtractOptions& options);
// The text layer page by page ("\f" between pages is replaced by a blank line); title, author
// and dates from the document information dictionary. Thread-compatible: one document per call.
[[nodiscard]] Result<ExtractedDocument> ExtractPdf(std::string_view bytes, const ExtractOptions& options);
// word/document.xml paragraphs and docProps/core.xml (title, creator, created, modified).
[[nodiscard]] Result<ExtractedDocument> ExtractDocx(std::string_view bytes, const ExtractOptions& options);
// Rows as "column: value" lines, rows separated by a blank line. The first row is taken as a
// header when its cells are distinct non-numeric labels; otherwise columns are "column N".
// The delimiter (comma, semicolon, tab or pipe) is detected from the first line.
[[nodiscard]] Result<ExtractedDocument> ExtractCsv(std::string_view bytes, const ExtractOptions& options);
// One "key.path[0].leaf: value" line per scalar; title/author from top-level fields of those names.
[[nodiscard]] Result<ExtractedDocument> ExtractJson(std::string_view bytes, const ExtractOptions& options);

namespace detail {
// Decodes XML/HTML character references (&amp; &#233; &#xE9; and the common named ones).
[[nodiscard]] std::string DecodeEntities(std::string_view text);
// Cuts `text` to `max_bytes` on a UTF-8 boundary; true if it cut.
bool CapText(std::string& text, size_t max_bytes);
}  // namespace detail

}  // namespace steward::memory::ingest
