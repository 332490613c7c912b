#include "telemetry/redaction.hpp"

#include <array>
#include <string>
#include <vector>

#include "telemetry/logging.hpp"

namespace steward::telemetry {

namespace {

constexpr std::string_view kRedacted = "[REDACTED]";

// ASCII only, and inline: these run for every character of every string attribute, where the
// <cctype> calls (locale lookups) were a fifth of a span's cost.
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsAlnum(char c) { return IsUpper(c) || IsLower(c) || (c >= '0' && c <= '9'); }
char ToLower(char c) { return IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

// True when `word` (ASCII letters and digits) lowercased is `lower`.
bool LowerEquals(std::string_view word, std::string_view lower) {
  if (word.size() != lower.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (ToLower(word[i]) != lower[i]) return false;
  }
  return true;
}

// True when anything in `value` was replaced.
bool RedactInPlace(nlohmann::json& value) {
  bool changed = false;
  if (value.is_object()) {
    for (auto& [key, item] : value.items()) {
      if (IsSecretKey(key)) {
        item = kRedacted;
        changed = true;
      } else {
        changed = RedactInPlace(item) || changed;
      }
    }
  } else if (value.is_array()) {
    for (auto& item : value) changed = RedactInPlace(item) || changed;
  } else if (value.is_string()) {
    changed = RedactText(value.get_ref<std::string&>());
  }
  return changed;
}

// A string attribute; JSON documents inside strings (tool arguments, a framework's attributes)
// are redacted by key too. Only a document that had something to redact is written out again.
void RedactString(std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  const bool json_like = first != std::string::npos && (text[first] == '{' || text[first] == '[');
  // A key names a credential only if its words are in the text, so a document whose text has no
  // such word (and no escape that could spell one) is not parsed: the common case, and parsing
  // was most of the cost of a tool call's span.
  if (json_like && (IsSecretKey(text) || text.find('\\') != std::string::npos)) {
    nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded() && (parsed.is_object() || parsed.is_array()) && RedactInPlace(parsed)) {
      text = parsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  // Also after a rewrite: a registered secret used as an object key is not a value RedactInPlace sees.
  (void)RedactText(text);
}

}  // namespace

bool IsSecretKey(std::string_view key) {
  static constexpr std::array<std::string_view, 9> kWords = {
      "token", "password", "passwd", "secret", "authorization", "credential", "credentials", "cookie", "apikey"};
  static constexpr std::array<std::string_view, 3> kSecondOfPair = {"api", "private", "access"};
  // The key's words (split at non-alphanumerics and lower→upper case changes) as views into it,
  // compared lowercased in place: this runs for every attribute of every span, and building the
  // words as strings cost more than the rest of redacting a span.
  std::string_view previous;
  size_t start = 0;
  while (start < key.size()) {
    if (!IsAlnum(key[start])) {
      ++start;
      continue;
    }
    size_t end = start + 1;
    while (end < key.size() && IsAlnum(key[end]) &&
           !(IsUpper(key[end]) && IsLower(key[end - 1]))) {
      ++end;
    }
    const std::string_view word = key.substr(start, end - start);
    for (std::string_view w : kWords) {
      if (LowerEquals(word, w)) return true;
    }
    if (!previous.empty() && LowerEquals(word, "key")) {
      for (std::string_view first : kSecondOfPair) {
        if (LowerEquals(previous, first)) return true;
      }
    }
    previous = word;
    start = end;
  }
  return false;
}

nlohmann::json RedactJson(const nlohmann::json& value) {
  nlohmann::json copy = value;
  RedactInPlace(copy);
  return copy;
}

void RedactSpan(Span& span) {
  for (auto& [key, value] : span.attributes) {
    auto* text = std::get_if<std::string>(&value);
    if (text == nullptr) continue;  // numbers and flags are counts and timings, not credentials
    if (IsSecretKey(key)) {
      *text = kRedacted;
    } else {
      RedactString(*text);
    }
  }
  (void)RedactText(span.name);
  (void)RedactText(span.status_message);
}

}  // namespace steward::telemetry
