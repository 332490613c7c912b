#include "telemetry/redaction.hpp"

#include <array>
#include <cctype>
#include <string>
#include <vector>

#include "telemetry/logging.hpp"

namespace steward::telemetry {

namespace {

constexpr std::string_view kRedacted = "[REDACTED]";

// Words of a key: split at non-alphanumerics and lower→upper case changes, lowercased.
std::vector<std::string> KeyWords(std::string_view key) {
  std::vector<std::string> words;
  std::string current;
  char previous = 0;
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u)) {
      if (!current.empty()) words.push_back(std::move(current));
      current.clear();
    } else {
      if (std::isupper(u) && std::islower(static_cast<unsigned char>(previous)) && !current.empty()) {
        words.push_back(std::move(current));
        current.clear();
      }
      current.push_back(static_cast<char>(std::tolower(u)));
    }
    previous = c;
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
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
  const std::vector<std::string> words = KeyWords(key);
  for (size_t i = 0; i < words.size(); ++i) {
    for (std::string_view w : kWords) {
      if (words[i] == w) return true;
    }
    if (words[i] == "key" && i > 0) {
      for (std::string_view first : kSecondOfPair) {
        if (words[i - 1] == first) return true;
      }
    }
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
