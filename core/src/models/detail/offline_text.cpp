#include "models/detail/offline_text.hpp"

#include <algorithm>
#include <set>

namespace steward::models::detail {

namespace {

// ---- Word tables ------------------------------------------------------------------------------

// Grammar words: never topic words, never scored.
const std::set<std::string, std::less<>>& StopWords() {
  static const std::set<std::string, std::less<>> kWords = {
      "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "anything", "are",
      "as", "at", "be", "been", "before", "being", "between", "but", "by", "can", "could", "did",
      "do", "does", "doing", "done", "during", "for", "from", "get", "give", "got", "had", "has",
      "have", "he", "her", "here", "him", "his", "how", "i", "i'm", "i've", "if", "in", "into",
      "is", "it", "it's", "its", "just", "know", "let", "let's", "like", "may", "me", "might",
      "mine", "more", "most", "much", "must", "my", "need", "no", "not", "now", "of", "on", "or",
      "our", "ours", "out", "over", "please", "shall", "she", "should", "so", "some", "something",
      "than", "thank", "thanks", "that", "that's", "the", "their", "them", "then", "there",
      "these", "they", "this", "those", "through", "till", "to", "too", "until", "up", "us",
      "very", "want", "was", "we", "were", "what", "what's", "when", "where", "which", "while",
      "who", "who's", "whom", "whose", "why", "will", "with", "would", "yes", "you", "your",
      "yours", "since", "s", "t", "hi", "hello", "hey", "ok", "okay", "there's", "don't", "do",
      "does", "tell", "show", "find", "anyone", "someone", "go", "going", "one", "ones"};
  return kWords;
}

// Words that say what to do rather than what about: dropped from tool queries and scoring.
const std::set<std::string, std::less<>>& CommandWords() {
  static const std::set<std::string, std::less<>> kWords = {
      "search", "searching", "look", "lookup", "research", "remember", "recall", "note",
      "earlier", "previous", "previously", "last", "time", "discuss", "discussed", "discussing",
      "talk", "talked", "talking", "conversation", "conversations", "chat", "chatted", "said",
      "say", "mentioned", "mention", "told", "spoke", "speak", "yesterday", "today", "week",
      "month", "year", "ago", "latest", "recent", "recently", "current", "currently", "trending",
      "read", "open", "file", "contents", "information", "info", "details", "explain",
      "web", "online", "internet", "learn", "forget", "keep", "mind", "save", "memorize",
      "memorise", "fetch", "summarize", "summarise", "past", "days", "weeks", "months", "years"};
  return kWords;
}

std::optional<Found> FindToken(const NormalizedText& text, bool (*accept)(std::string_view)) {
  const std::string& s = text.original;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t b = i;
    while (i < s.size() && s[i] != ' ') ++i;
    size_t e = i;
    // Quotes, brackets and sentence punctuation around a path are not part of it.
    while (b < e && std::string_view("\"'`(<[").find(s[b]) != std::string_view::npos) ++b;
    while (e > b && std::string_view("\"'`)>],.;:!?").find(s[e - 1]) != std::string_view::npos) --e;
    if (e > b && accept(std::string_view(s).substr(b, e - b))) {
      return Found{s.substr(b, e - b), {b, e}};
    }
  }
  return std::nullopt;
}

bool LooksLikePath(std::string_view t) {
  if (t.find("://") != std::string_view::npos || t.find('@') != std::string_view::npos) return false;
  if (t.starts_with("~/") || t.starts_with("./") || t.starts_with("../")) return t.size() > 2;
  if (t.starts_with('/')) return t.size() > 1 && IsAlnum(t[1]);
  const size_t dot = t.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= t.size()) return false;
  const std::string_view ext = t.substr(dot + 1);
  if (t.find('/') != std::string_view::npos) {
    return ext.size() <= 5 && std::all_of(ext.begin(), ext.end(), IsAlnum);
  }
  static constexpr std::string_view kExtensions[] = {
      "md", "txt", "pdf", "json", "yaml", "yml", "csv", "tsv", "py", "cpp", "hpp", "h", "c",
      "rs", "go", "js", "ts", "log", "html", "htm", "rst", "toml", "ini", "cfg", "sh", "xml",
      "org", "docx", "sql"};
  std::string lower;
  for (char c : ext) lower += AsciiLower(c);
  return std::find(std::begin(kExtensions), std::end(kExtensions), lower) != std::end(kExtensions);
}

bool LooksLikeUrl(std::string_view t) {
  return (t.starts_with("http://") || t.starts_with("https://")) && t.size() > 8;
}

}  // namespace

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool AllDigits(std::string_view w) { return !w.empty() && std::all_of(w.begin(), w.end(), IsDigit); }

bool IsWordByte(char c) {
  return IsAlnum(c) || static_cast<unsigned char>(c) >= 0x80 || c == '\'';
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::vector<Token> Tokenize(std::string_view lower) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < lower.size()) {
    while (i < lower.size() && !IsWordByte(lower[i])) ++i;
    size_t b = i;
    while (i < lower.size() && IsWordByte(lower[i])) ++i;
    // Quotes around a word are not part of it: 'hello' -> hello.
    size_t e = i;
    while (b < e && lower[b] == '\'') ++b;
    while (e > b && lower[e - 1] == '\'') --e;
    if (e > b) tokens.push_back({lower.substr(b, e - b), b, e});
  }
  return tokens;
}

std::string StripPossessive(std::string_view w) {
  if (w.size() > 2 && w.substr(w.size() - 2) == "'s") w.remove_suffix(2);
  return std::string(w);
}

std::string Stem(std::string_view w) {
  std::string s = StripPossessive(w);
  if (s.size() > 3 && s.back() == 's' && !s.ends_with("ss") && !s.ends_with("us") &&
      !s.ends_with("is")) {
    s.pop_back();
  }
  return s;
}

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

NormalizedText Normalize(std::string_view text) {
  NormalizedText out;
  out.original.reserve(text.size());
  bool space = false;
  for (size_t i = 0; i < text.size(); ++i) {
    // Curly quotes (U+2018/2019, U+201C/201D) -> ' and ", so they do not stick to words.
    if (i + 2 < text.size() && text[i] == '\xE2' && text[i + 1] == '\x80' &&
        (text[i + 2] == '\x98' || text[i + 2] == '\x99' || text[i + 2] == '\x9C' || text[i + 2] == '\x9D')) {
      if (space && !out.original.empty()) out.original += ' ';
      space = false;
      out.original += (text[i + 2] == '\x98' || text[i + 2] == '\x99') ? '\'' : '"';
      i += 2;
      continue;
    }
    if (text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r' || text[i] == '\f' ||
        text[i] == '\v') {
      space = true;
      continue;
    }
    if (space && !out.original.empty()) out.original += ' ';
    space = false;
    out.original += text[i];
  }
  out.lower = out.original;
  for (char& c : out.lower) c = AsciiLower(c);
  return out;
}

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> out;
  std::string lower(text);
  for (char& c : lower) c = AsciiLower(c);
  for (const auto& t : Tokenize(lower)) out.emplace_back(t.word);
  return out;
}

std::vector<std::string> Terms(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& w : Words(text)) {
    if (StopWords().contains(w) || CommandWords().contains(w)) continue;
    std::string s = Stem(w);
    if (s.empty() || StopWords().contains(s)) continue;
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
  }
  return out;
}

size_t FindPhrase(std::string_view lower, std::string_view phrase, size_t from) {
  while (true) {
    const size_t at = lower.find(phrase, from);
    if (at == std::string_view::npos) return at;
    const bool start_ok = at == 0 || !IsWordByte(lower[at - 1]);
    const size_t end = at + phrase.size();
    const bool end_ok = end >= lower.size() || !IsWordByte(lower[end]);
    if (start_ok && end_ok) return at;
    from = at + 1;
  }
}

std::optional<Found> FindPath(const NormalizedText& text) { return FindToken(text, LooksLikePath); }
std::optional<Found> FindUrl(const NormalizedText& text) { return FindToken(text, LooksLikeUrl); }

std::vector<std::string> TopicWords(const NormalizedText& text, const std::vector<Span>& consumed) {
  std::string lower = text.lower;
  for (const auto& s : consumed) {
    for (size_t i = s.begin; i < s.end && i < lower.size(); ++i) lower[i] = ' ';
  }
  std::vector<std::string> out;
  for (const auto& t : Tokenize(lower)) {
    if (StopWords().contains(t.word) || CommandWords().contains(t.word)) continue;
    std::string w = StripPossessive(t.word);
    if (w.empty() || StopWords().contains(w) || CommandWords().contains(w)) continue;
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(std::move(w));
  }
  return out;
}

std::string ExtractFact(const NormalizedText& text) {
  static constexpr std::string_view kLeads[] = {
      "remember that", "remember this:", "remember:", "remember", "make a note that",
      "make a note of", "make a note:", "take a note:", "note that", "don't forget that",
      "don't forget", "do not forget that", "do not forget", "keep in mind that", "keep in mind",
      "for future reference,", "memorize that", "memorize", "memorise that", "memorise"};
  size_t best_at = std::string::npos;
  size_t best_end = 0;
  for (auto lead : kLeads) {
    const size_t at = text.lower.find(lead);
    if (at == std::string::npos) continue;
    if (at > 0 && IsWordByte(text.lower[at - 1])) continue;
    if (at < best_at || (at == best_at && at + lead.size() > best_end)) {
      best_at = at;
      best_end = at + lead.size();
    }
  }
  auto trim = [](std::string s) {
    const std::string_view lead_junk = " :,-";
    const std::string_view tail_junk = " .!";
    while (!s.empty() && lead_junk.find(s.front()) != std::string_view::npos) s.erase(s.begin());
    while (!s.empty() && tail_junk.find(s.back()) != std::string_view::npos) s.pop_back();
    return s;
  };
  if (best_at != std::string::npos) {
    std::string rest = trim(text.original.substr(best_end));
    if (Words(rest).size() >= 2) return rest;
  }
  return trim(text.original);
}

bool IsCapabilityQuestion(const NormalizedText& text) {
  static constexpr std::string_view kPhrases[] = {
      "what can you do", "what can you help", "how can you help", "who are you", "what are you",
      "what do you do", "your capabilities", "what tools", "which tools", "list your tools",
      "list tools", "what are your tools", "what kind of things can you"};
  for (auto p : kPhrases) {
    if (FindPhrase(text.lower, p) != std::string_view::npos) return true;
  }
  static constexpr std::string_view kWhole[] = {"help", "help me", "hi", "hello", "hey",
                                                "hello there", "hi there", "start"};
  std::string joined;
  for (const auto& w : Words(text.lower)) joined += (joined.empty() ? "" : " ") + w;
  return std::find(std::begin(kWhole), std::end(kWhole), joined) != std::end(kWhole);
}

}  // namespace steward::models::detail
