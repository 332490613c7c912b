#pragma once
// The offline backend of web.search: a folder of documents (or a JSONL file) searched with
// BM25, so research works with no network and still cites sources. Loaded once, read-only after.

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace steward::tools::builtin {

struct CorpusDocument {
  std::string title;
  std::string url;      // where the text came from; file:// for local files without one
  std::string content;  // plain text or Markdown
};

struct CorpusHit {
  size_t index = 0;  // into documents()
  double score = 0;
  std::string snippet;  // the passage sharing most terms with the query, <= ~300 bytes
};

// The search terms of `text`: lowercase words (letters, digits, any non-ASCII byte), English
// stop words dropped, plurals folded ("agents" -> "agent", "libraries" -> "library").
[[nodiscard]] std::vector<std::string> CorpusTerms(std::string_view text);

// Immutable once built, so Search may run on many threads at once.
class LocalCorpus final {
 public:
  LocalCorpus() = default;

  // Reads a directory (recursively: .md, .markdown, .txt, .html, .htm; others skipped) or a
  // .jsonl file of {title, url, content} objects ("text" or "body" also name the content).
  // Markdown may open with front matter (---, "title: ...", "url: ...", ---); otherwise the
  // first "# " heading (or the HTML <title>, or the file name) is the title. Errors: kConfig
  // naming the path and what is wrong (missing, unreadable, a bad JSONL line).
  [[nodiscard]] static Result<LocalCorpus> Load(const std::filesystem::path& path);

  [[nodiscard]] static LocalCorpus FromDocuments(std::vector<CorpusDocument> documents);

  // At most `limit` documents matching any query term, best BM25 score (k1 1.2, b 0.75; title
  // terms count twice) first; ties in document order. Empty for a query with no terms.
  [[nodiscard]] std::vector<CorpusHit> Search(std::string_view query, size_t limit) const;

  [[nodiscard]] const std::vector<CorpusDocument>& documents() const { return documents_; }

 private:
  void Index();

  std::vector<CorpusDocument> documents_;
  std::vector<std::map<std::string, int, std::less<>>> term_counts_;  // per document
  std::vector<size_t> lengths_;                                        // terms per document
  std::map<std::string, size_t, std::less<>> document_frequency_;
  double average_length_ = 0;
};

}  // namespace steward::tools::builtin
