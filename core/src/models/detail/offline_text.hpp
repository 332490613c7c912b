#pragma once
// Text handling for the offline provider: normalising the user's words, finding phrases,
// paths and URLs, and reducing a text to topic words and search terms. Pure functions, so the
// provider stays deterministic.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace steward::models::detail {

// The user's text prepared once: whitespace collapsed, curly quotes made straight, and a
// lowercase copy with the same byte offsets (ASCII lowering only).
struct NormalizedText {
  std::string original;
  std::string lower;
};
[[nodiscard]] NormalizedText Normalize(std::string_view text);

// A [begin, end) byte span of a normalized text that a rule consumed (a date phrase, a path).
struct Span {
  size_t begin = 0;
  size_t end = 0;
};

// A word of a lowercase text with its byte span; views into that text.
struct Token {
  std::string_view word;
  size_t begin;
  size_t end;
};

// Words are runs of ASCII letters and digits, non-ASCII bytes and inner apostrophes.
[[nodiscard]] std::vector<Token> Tokenize(std::string_view lower);
[[nodiscard]] bool IsWordByte(char c);
[[nodiscard]] bool IsDigit(char c);
[[nodiscard]] bool IsAlnum(char c);
[[nodiscard]] bool AllDigits(std::string_view w);
[[nodiscard]] char AsciiLower(char c);

// Lowercase words of any text.
[[nodiscard]] std::vector<std::string> Words(std::string_view text);

// "sister's" -> "sister"; Stem also drops a plural "s" ("notes" -> "note", not "class").
[[nodiscard]] std::string StripPossessive(std::string_view w);
[[nodiscard]] std::string Stem(std::string_view w);

// Search terms of a text: stemmed words without stop words and command words, deduplicated
// in order. Used on both sides when scoring overlap.
[[nodiscard]] std::vector<std::string> Terms(std::string_view text);

// Space-separated.
[[nodiscard]] std::string Join(const std::vector<std::string>& words);

// The byte offset of `phrase` in `lower` at word boundaries, or npos.
[[nodiscard]] size_t FindPhrase(std::string_view lower, std::string_view phrase, size_t from = 0);

// A value found in the text and where.
struct Found {
  std::string value;
  Span span;
};
// The first file path ("~/notes/todo.md", "./a.txt", "/etc/hosts", "report.pdf") or URL.
[[nodiscard]] std::optional<Found> FindPath(const NormalizedText& text);
[[nodiscard]] std::optional<Found> FindUrl(const NormalizedText& text);

// The topic words of a request: words outside the `consumed` spans, without stop words and
// command words ("search", "remember", "earlier"...), possessives stripped, deduplicated.
[[nodiscard]] std::vector<std::string> TopicWords(const NormalizedText& text,
                                                  const std::vector<Span>& consumed);

// The fact a "remember" request asks to store: the text after the trigger phrase, or the
// whole text when the remainder is too short to be a fact.
[[nodiscard]] std::string ExtractFact(const NormalizedText& text);

// True when the text asks what Steward is or can do ("what can you do", "help", "who are you").
[[nodiscard]] bool IsCapabilityQuestion(const NormalizedText& text);

}  // namespace steward::models::detail
