#include "telemetry/redaction.hpp"

#include <array>
#include <cctype>
#include <string>
#include <vector>

#include "telemetry/logging.hpp"

namespace steward::telemetry {

namespace {

constexpr std::string_view kRedacted = "[REDACTED]";

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// True when `word` (ASCII letters and digits) lowercased is `lower`.
bool LowerEquals(std::string_view word, std::string_view lower) {
  if (word.size() != lower.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(word[i])) != lower[i]) return false;
  }
  return true;
}

void RedactInPlace(nlohmann::json& value) {
  if (value.is_object()) {
    for (auto& [key, item] : value.items()) {
      if (IsSecretKey(key)) {
        item = kRedacted;
      } else {
        RedactInPlace(item);
      }
    }
  } else if (value.is_array()) {
    for (auto& item : value) RedactInPlace(item);
  } else if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    std::string redacted = Redact(text);
    if (redacted != text) value = std::move(redacted);
  }
}

// A string attribute; JSON documents inside strings (tool arguments from a framework) are
// redacted by key too.
std::string RedactString(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (text[first] == '{' || text[first] == '[')) {
    nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded() && (parsed.is_object() || parsed.is_array())) {
      nlohmann::json before = parsed;
      RedactInPlace(parsed);
      if (parsed != before) return parsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  return Redact(text);
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
           !(std::isupper(static_cast<unsigned char>(key[end])) && std::islower(static_cast<unsigned char>(key[end - 1])))) {
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
    *text = IsSecretKey(key) ? std::string(kRedacted) : RedactString(*text);
  }
  span.name = Redact(span.name);
  span.status_message = Redact(span.status_message);
}

}  // namespace steward::telemetry
