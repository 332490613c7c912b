// CSV: each row as "column: value" lines, so a row reads as a small record and a search for a
// value finds the row together with what the value means.

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "memory/ingest/detail/decoded.hpp"
#include "memory/ingest/extractors.hpp"
#include "memory/ingest/text_decode.hpp"

namespace steward::memory::ingest {

namespace {

using Row = std::vector<std::string>;

char DetectDelimiter(std::string_view text) {
  constexpr char kCandidates[] = {',', ';', '\t', '|'};
  size_t counts[4] = {0, 0, 0, 0};
  bool quoted = false;
  for (const char c : text) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '\n') break;
    for (int k = 0; k < 4; ++k) counts[k] += c == kCandidates[k] ? 1 : 0;
  }
  const size_t best = static_cast<size_t>(std::max_element(counts, counts + 4) - counts);
  return counts[best] > 0 ? kCandidates[best] : ',';
}

// RFC 4180 parsing: quoted fields may hold delimiters, newlines and doubled quotes. Stops
// early once `budget` bytes of cells have been read (the caller caps the output anyway).
class CsvReader final {
 public:
  CsvReader(std::string_view text, char delimiter) : text_(text), delimiter_(delimiter) {}

  bool Next(Row& row) {
    row.clear();
    if (pos_ >= text_.size()) return false;
    std::string cell;
    bool quoted = false;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (quoted) {
        if (c == '"') {
          if (pos_ < text_.size() && text_[pos_] == '"') {
            cell += '"';
            ++pos_;
          } else {
            quoted = false;
          }
        } else {
          cell += c;
        }
      } else if (c == '"' && cell.find_first_not_of(" \t") == std::string::npos) {
        cell.clear();
        quoted = true;
      } else if (c == delimiter_) {
        row.push_back(std::move(cell));
        cell.clear();
      } else if (c == '\n') {
        break;
      } else if (c != '\r') {
        cell += c;
      }
    }
    row.push_back(std::move(cell));
    return true;
  }

 private:
  std::string_view text_;
  char delimiter_;
  size_t pos_ = 0;
};

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

bool LooksNumeric(const std::string& raw) {
  const std::string s = Trim(raw);
  if (s.empty()) return false;
  bool digit = false;
  for (const char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c))) digit = true;
    else if (std::string_view("+-.,%$€eE:/ ").find(c) == std::string_view::npos) return false;
  }
  return digit;
}

bool IsBlank(const Row& row) {
  return std::all_of(row.begin(), row.end(), [](const std::string& c) { return Trim(c).empty(); });
}

// A header row: distinct, non-empty, non-numeric labels.
bool LooksLikeHeader(const Row& row) {
  std::set<std::string> seen;
  for (const std::string& raw : row) {
    const std::string cell = Trim(raw);
    if (cell.empty() || LooksNumeric(cell) || !seen.insert(cell).second) return false;
  }
  return !row.empty();
}

}  // namespace

Result<ExtractedDocument> ExtractCsv(std::string_view bytes, const ExtractOptions& options) {
  if (LooksBinary(bytes)) {
    return MakeError(ErrorCode::kInvalidArgument, "binary content (NUL bytes) in a file named as CSV");
  }
  ExtractedDocument doc;
  std::string text = detail::DecodeInput(bytes, options, doc).text;
  if (options.input_was_cut) {
    // The last line of a cut file is a fragment of a row.
    const size_t eol = text.rfind('\n');
    text.resize(eol == std::string::npos ? 0 : eol + 1);
  }
  CsvReader reader(text, DetectDelimiter(text));
  Row row, columns;
  size_t rows = 0, width = 0;
  bool header = false;
  std::string out;
  while (reader.Next(row)) {
    if (IsBlank(row)) continue;
    if (rows == 0 && columns.empty() && LooksLikeHeader(row)) {
      header = true;
      for (const auto& c : row) columns.push_back(Trim(c));
      width = columns.size();
      continue;
    }
    ++rows;
    width = std::max(width, row.size());
    if (out.size() > options.max_text_bytes + 4096) {
      doc.extra["truncated"] = true;
      continue;  // keep counting rows
    }
    if (!out.empty()) out += "\n\n";
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string value = Trim(row[i]);
      if (value.empty()) continue;
      const std::string name = i < columns.size() ? columns[i] : "column " + std::to_string(i + 1);
      out += name + ": " + value + "\n";
    }
  }
  doc.extra["rows"] = rows;
  doc.extra["columns"] = width;
  doc.extra["header"] = header;
  if (header) doc.extra["column_names"] = columns;
  doc.text = NormalizeWhitespace(out);
  return doc;
}

}  // namespace steward::memory::ingest
