#include "tools/builtin/local_corpus.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tools/builtin/html_text.hpp"

namespace steward::tools::builtin {

namespace {

namespace fs = std::filesystem;

constexpr double kK1 = 1.2;
constexpr double kB = 0.75;
constexpr size_t kMaxFileBytes = 8 * 1024 * 1024;
constexpr size_t kMaxDocuments = 50'000;
constexpr size_t kSnippetBytes = 300;

const std::set<std::string, std::less<>>& StopWords() {
  static const std::set<std::string, std::less<>> kWords = {
      "a",     "about", "an",    "and",   "are",   "as",    "at",    "be",    "by",    "can",
      "do",    "does",  "for",   "from",  "has",   "have",  "how",   "i",     "in",    "is",
      "it",    "its",   "me",    "my",    "of",    "on",    "or",    "our",   "so",    "than",
      "that",  "the",   "their", "them",  "then",  "there", "these", "they",  "this",  "to",
      "us",    "was",   "we",    "were",  "what",  "when",  "where", "which", "who",   "why",
      "will",  "with",  "you",   "your",  "tell",  "give",  "please",
      "some",  "any",   "all",   "into",  "over",  "also",  "just",  "more",  "most",  "other"};
  return kWords;
}

std::string Fold(std::string word) {
  auto ends = [&](std::string_view s) {
    return word.size() > s.size() && word.compare(word.size() - s.size(), s.size(), s) == 0;
  };
  if (ends("'s")) word.resize(word.size() - 2);
  if (word.size() <= 3) return word;
  if (ends("ies") && word.size() > 4) {
    word.resize(word.size() - 3);
    word += 'y';
  } else if (ends("sses") || ends("xes") || ends("ches") || ends("shes")) {
    word.resize(word.size() - 2);
  } else if (ends("s") && !ends("ss") && !ends("us") && !ends("is")) {
    word.pop_back();
  }
  return word;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    s = s.substr(1, s.size() - 2);
  }
  return s;
}

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(ErrorCode::kConfig, "cannot read the corpus file (check its permissions)",
                     path.string());
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

CorpusDocument FromMarkdown(const fs::path& path, std::string text) {
  CorpusDocument doc;
  std::string_view body = text;
  if (body.starts_with("---\n")) {
    const size_t end = body.find("\n---", 3);
    if (end != std::string_view::npos) {
      std::istringstream lines(std::string(body.substr(4, end - 4)));
      for (std::string line; std::getline(lines, line);) {
        const size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        const std::string key = Trim(line.substr(0, colon));
        const std::string value = Unquote(Trim(line.substr(colon + 1)));
        if (key == "title") doc.title = value;
        if (key == "url" || key == "source") doc.url = value;
      }
      const size_t after = body.find('\n', end + 4);
      body = after == std::string_view::npos ? std::string_view() : body.substr(after + 1);
    }
  }
  if (doc.title.empty()) {
    std::istringstream lines{std::string(body)};
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("# ")) {
        doc.title = Trim(line.substr(2));
        break;
      }
    }
  }
  doc.content = SanitizeUtf8(Trim(body));
  if (doc.title.empty()) doc.title = path.stem().string();
  return doc;
}

Status LoadFile(const fs::path& path, std::vector<CorpusDocument>& out) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  const bool markdown = ext == ".md" || ext == ".markdown" || ext == ".txt";
  const bool html = ext == ".html" || ext == ".htm";
  if (!markdown && !html) return Status::Ok();
  std::error_code ec;
  if (fs::file_size(path, ec) > kMaxFileBytes) return Status::Ok();
  auto text = ReadFile(path);
  if (!text.ok()) return text.error();
  CorpusDocument doc;
  if (html) {
    PageText page = HtmlToText(*text);
    doc.title = page.title.empty() ? path.stem().string() : page.title;
    doc.content = std::move(page.text);
  } else {
    doc = FromMarkdown(path, std::move(*text));
  }
  if (doc.url.empty()) doc.url = "file://" + fs::absolute(path, ec).lexically_normal().string();
  doc.title = SanitizeUtf8(doc.title);
  doc.url = SanitizeUtf8(doc.url);
  out.push_back(std::move(doc));
  return Status::Ok();
}

Status LoadJsonl(const fs::path& path, std::vector<CorpusDocument>& out) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.error();
  std::istringstream lines(*text);
  size_t number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (Trim(line).empty()) continue;
    const auto where = path.string() + ":" + std::to_string(number);
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      return MakeError(ErrorCode::kConfig,
                       "expected one JSON object per line ({\"title\", \"url\", \"content\"})", where);
    }
    CorpusDocument doc;
    doc.title = j.value("title", "");
    doc.url = j.value("url", "");
    for (const char* key : {"content", "text", "body"}) {
      if (j.contains(key) && j[key].is_string()) {
        doc.content = j[key].get<std::string>();
        break;
      }
    }
    if (doc.content.empty()) {
      return MakeError(ErrorCode::kConfig, "the object has no \"content\" string", where);
    }
    doc.url = SanitizeUtf8(doc.url);
    doc.title = SanitizeUtf8(doc.title.empty() ? doc.url : doc.title);
    doc.content = SanitizeUtf8(doc.content);
    out.push_back(std::move(doc));
    if (out.size() >= kMaxDocuments) break;
  }
  return Status::Ok();
}

// The passage of `content` sharing most distinct terms with the query: the best sentence and
// those after it, or a window of a long sentence around its first matching term, cut to
// kSnippetBytes. Hard-wrapped lines are joined; blank lines and headings end a sentence.
std::string Snippet(const std::string& content, const std::set<std::string>& terms) {
  std::vector<std::string> pieces;
  std::string current;
  auto flush = [&] {
    if (auto t = Trim(current); !t.empty() && !t.starts_with("#")) pieces.push_back(std::move(t));
    current.clear();
  };
  for (size_t i = 0; i < content.size(); ++i) {
    const char c = content[i];
    if (c == '\n') {
      const bool paragraph_end = i + 1 >= content.size() || content[i + 1] == '\n' ||
                                 content[i + 1] == '#' || current.starts_with("#");
      if (paragraph_end) {
        flush();
      } else {
        current += ' ';
      }
      continue;
    }
    current += c;
    if ((c == '.' || c == '!' || c == '?') &&
        (i + 1 == content.size() || content[i + 1] == ' ' || content[i + 1] == '\n')) {
      flush();
    }
  }
  flush();
  if (pieces.empty()) return "";
  size_t best = 0, best_score = 0;
  for (size_t p = 0; p < pieces.size(); ++p) {
    std::set<std::string> seen;
    for (auto& t : CorpusTerms(pieces[p])) {
      if (terms.contains(t)) seen.insert(std::move(t));
    }
    if (seen.size() > best_score) {
      best_score = seen.size();
      best = p;
    }
  }
  std::string out;
  std::string_view piece = pieces[best];
  bool lead = false;
  if (piece.size() > kSnippetBytes) {
    std::string lower(piece);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    size_t hit = std::string::npos;
    for (const auto& t : terms) hit = std::min(hit, lower.find(t));
    if (hit != std::string::npos && hit > kSnippetBytes / 3) {
      size_t start = piece.rfind(' ', hit - kSnippetBytes / 5);
      start = start == std::string_view::npos ? 0 : start + 1;
      piece = piece.substr(start);
      lead = start > 0;
    }
  }
  out = piece;
  for (size_t p = best + 1; p < pieces.size() && out.size() < kSnippetBytes; ++p) out += " " + pieces[p];
  bool cut = false;
  out = CutText(out, kSnippetBytes, &cut);
  return (lead ? "…" : "") + out + (cut ? "…" : "");
}

}  // namespace

std::vector<std::string> CorpusTerms(std::string_view text) {
  std::vector<std::string> terms;
  std::string word;
  auto flush = [&] {
    if (!word.empty() && !StopWords().contains(word)) {
      std::string folded = Fold(std::move(word));
      if (!folded.empty()) terms.push_back(std::move(folded));
    }
    word.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool apostrophe = c == '\'' && !word.empty() && i + 1 < text.size() &&
                            std::isalpha(static_cast<unsigned char>(text[i + 1]));
    if (std::isalnum(c) || c >= 0x80 || apostrophe) {
      word += static_cast<char>(std::tolower(c));
    } else {
      flush();
    }
  }
  flush();
  return terms;
}

Result<LocalCorpus> LocalCorpus::Load(const fs::path& path) {
  std::error_code ec;
  std::vector<CorpusDocument> docs;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec)) files.push_back(it->path());
    }
    if (ec) {
      return MakeError(ErrorCode::kConfig, "cannot list the corpus directory: " + ec.message(),
                       path.string());
    }
    // Sorted, so ranking ties and results do not depend on directory order.
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      STEWARD_RETURN_IF_ERROR(LoadFile(file, docs));
      if (docs.size() >= kMaxDocuments) break;
    }
  } else if (fs::is_regular_file(path, ec)) {
    if (path.extension() == ".jsonl") {
      STEWARD_RETURN_IF_ERROR(LoadJsonl(path, docs));
    } else {
      STEWARD_RETURN_IF_ERROR(LoadFile(path, docs));
    }
  } else {
    return MakeError(ErrorCode::kConfig,
                     "the corpus does not exist (expected a directory of .md/.txt/.html files or "
                     "a .jsonl file of {title, url, content})",
                     path.string());
  }
  return FromDocuments(std::move(docs));
}

LocalCorpus LocalCorpus::FromDocuments(std::vector<CorpusDocument> documents) {
  LocalCorpus corpus;
  corpus.documents_ = std::move(documents);
  corpus.Index();
  return corpus;
}

void LocalCorpus::Index() {
  size_t total = 0;
  for (const auto& doc : documents_) {
    std::map<std::string, int, std::less<>> counts;
    size_t length = 0;
    for (auto& t : CorpusTerms(doc.title)) {
      counts[t] += 2;
      length += 2;
    }
    for (auto& t : CorpusTerms(doc.content)) {
      counts[t] += 1;
      length += 1;
    }
    for (const auto& [term, n] : counts) document_frequency_[term] += 1;
    term_counts_.push_back(std::move(counts));
    lengths_.push_back(length);
    total += length;
  }
  average_length_ = documents_.empty() ? 0 : static_cast<double>(total) / documents_.size();
}

std::vector<CorpusHit> LocalCorpus::Search(std::string_view query, size_t limit) const {
  std::set<std::string> terms;
  for (auto& t : CorpusTerms(query)) terms.insert(std::move(t));
  std::vector<CorpusHit> hits;
  if (terms.empty() || documents_.empty() || limit == 0) return hits;
  const double n = static_cast<double>(documents_.size());
  for (size_t d = 0; d < documents_.size(); ++d) {
    double score = 0;
    const double norm = 1 - kB + kB * static_cast<double>(lengths_[d]) / std::max(average_length_, 1.0);
    for (const auto& term : terms) {
      const auto it = term_counts_[d].find(term);
      if (it == term_counts_[d].end()) continue;
      const double df = static_cast<double>(document_frequency_.at(term));
      const double idf = std::log(1 + (n - df + 0.5) / (df + 0.5));
      const double tf = it->second;
      score += idf * tf * (kK1 + 1) / (tf + kK1 * norm);
    }
    if (score > 0) hits.push_back({d, score, {}});
  }
  std::stable_sort(hits.begin(), hits.end(),
                   [](const CorpusHit& a, const CorpusHit& b) { return a.score > b.score; });
  if (hits.size() > limit) hits.resize(limit);
  for (auto& hit : hits) hit.snippet = Snippet(documents_[hit.index].content, terms);
  return hits;
}

}  // namespace steward::tools::builtin
