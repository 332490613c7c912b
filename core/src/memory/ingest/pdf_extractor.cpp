// PDF: the text layer through poppler-cpp, page by page, and the document information dictionary.

#include <climits>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>

#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>
#include <spdlog/spdlog.h>

#include "memory/ingest/extractors.hpp"
#include "memory/ingest/text_decode.hpp"

namespace steward::memory::ingest {

namespace {

// Poppler prints syntax errors of damaged files to stderr; they belong in the debug log.
void PopplerToLog(const std::string& message, void*) { spdlog::debug("poppler: {}", message); }

void RoutePopplerMessages() {
  static std::once_flag once;
  std::call_once(once, [] { poppler::set_debug_error_function(PopplerToLog, nullptr); });
}

std::string Utf8(const poppler::ustring& s) {
  const poppler::byte_array bytes = s.to_utf8();
  return std::string(bytes.begin(), bytes.end());
}

std::string IsoUtc(time_t t) {
  if (t == static_cast<time_t>(-1) || t <= 0) return {};
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Result<ExtractedDocument> ExtractPdf(std::string_view bytes, const ExtractOptions& options) {
  RoutePopplerMessages();
  if (bytes.substr(0, 1024).find("%PDF-") == std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "not a PDF (no %PDF- header)");
  }
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return MakeError(ErrorCode::kInvalidArgument, "PDF larger than 2 GiB");
  }
  std::unique_ptr<poppler::document> pdf(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (!pdf) return MakeError(ErrorCode::kInvalidArgument, "damaged PDF: poppler cannot open it");
  if (pdf->is_locked()) return MakeError(ErrorCode::kInvalidArgument, "password-protected PDF");

  ExtractedDocument doc;
  doc.title = Utf8(pdf->get_title());
  doc.author = Utf8(pdf->get_author());
  doc.created = IsoUtc(pdf->get_creation_date_t());
  doc.modified = IsoUtc(pdf->get_modification_date_t());
  const std::string subject = Utf8(pdf->get_subject());
  if (!subject.empty()) doc.extra["subject"] = subject;
  const int pages = pdf->pages();
  doc.extra["pages"] = pages;

  std::string text;
  int read = 0, empty_pages = 0;
  for (int i = 0; i < pages; ++i) {
    std::unique_ptr<poppler::page> page(pdf->create_page(i));
    if (!page) {
      doc.notes.push_back("page " + std::to_string(i + 1) + " could not be read");
      continue;
    }
    // Reading order (not the physical layout, which pads columns with spaces).
    std::string page_text = Utf8(page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout));
    ++read;
    if (page_text.find_first_not_of(" \t\r\n\f") == std::string::npos) ++empty_pages;
    if (!text.empty()) text += "\n\n";
    text += page_text;
    if (text.size() > options.max_text_bytes + 4096) {
      doc.extra["truncated"] = true;
      break;
    }
  }
  doc.extra["pages_read"] = read;
  if (read > 0 && empty_pages == read) {
    doc.notes.push_back("no text layer (a scanned PDF needs OCR, which Steward does not do)");
  }
  if (!IsValidUtf8(text)) text = DecodeText(text).text;
  doc.text = NormalizeWhitespace(text);
  return doc;
}

}  // namespace steward::memory::ingest
