#include "store/redact_url.hpp"

#include <cctype>
#include <utility>
#include <vector>

namespace steward::store {

namespace {

constexpr std::string_view kMask = "***";

using Span = std::pair<size_t, size_t>;  // offset and length of a secret inside the url

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// postgresql://user:secret@host/db?password=secret
void FindInUri(std::string_view url, std::vector<Span>& spans) {
  const size_t authority_start = url.find("://") + 3;
  size_t authority_end = url.find_first_of("/?#", authority_start);
  if (authority_end == std::string_view::npos) authority_end = url.size();
  // The userinfo ends at the last '@' of the authority: an unencoded '@' in a password is
  // invalid but common, and masking too much is the safe failure.
  const std::string_view authority = url.substr(authority_start, authority_end - authority_start);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const size_t colon = authority.substr(0, at).find(':');
    if (colon != std::string_view::npos) spans.emplace_back(authority_start + colon + 1, at - colon - 1);
  }
  const size_t q = url.find('?', authority_end);
  if (q == std::string_view::npos) return;
  size_t query_end = url.find('#', q);
  if (query_end == std::string_view::npos) query_end = url.size();
  size_t pos = q + 1;
  while (pos < query_end) {
    size_t end = url.find('&', pos);
    if (end == std::string_view::npos || end > query_end) end = query_end;
    if (StartsWithNoCase(url.substr(pos, end - pos), "password=")) {
      spans.emplace_back(pos + 9, end - pos - 9);
    }
    pos = end + 1;
  }
}

// host=h password='se cret': values may be single-quoted with backslash escapes.
void FindInConninfo(std::string_view s, std::vector<Span>& spans) {
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    const size_t key_start = i;
    while (i < s.size() && s[i] != '=' && !IsSpace(s[i])) ++i;
    const std::string_view key = s.substr(key_start, i - key_start);
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i >= s.size() || s[i] != '=') {
      if (i == key_start) ++i;  // stray character: make progress
      continue;
    }
    ++i;
    while (i < s.size() && IsSpace(s[i])) ++i;
    const size_t value_start = i;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      while (i < s.size() && s[i] != '\'') i += (s[i] == '\\' && i + 1 < s.size()) ? 2 : 1;
      if (i < s.size()) ++i;
    } else {
      while (i < s.size() && !IsSpace(s[i])) ++i;
    }
    if (key == "password") spans.emplace_back(value_start, i - value_start);
  }
}

std::vector<Span> FindPasswords(std::string_view url) {
  std::vector<Span> spans;
  if (StartsWithNoCase(url, "postgresql://") || StartsWithNoCase(url, "postgres://")) {
    FindInUri(url, spans);
  } else if (url.find('=') != std::string_view::npos) {
    FindInConninfo(url, spans);
  }
  return spans;
}

}  // namespace

std::string RedactUrl(std::string_view url) {
  std::string out;
  size_t pos = 0;
  for (const auto& [offset, length] : FindPasswords(url)) {
    out += url.substr(pos, offset - pos);
    out += kMask;
    pos = offset + length;
  }
  out += url.substr(pos);
  return out;
}

std::string RedactPasswordIn(std::string_view text, std::string_view url) {
  std::string out(text);
  for (const auto& [offset, length] : FindPasswords(url)) {
    std::string_view secret = url.substr(offset, length);
    if (!secret.empty() && secret.front() == '\'' && secret.size() >= 2) secret = secret.substr(1, secret.size() - 2);
    // A one-character secret would mask every such letter; the url itself is never printed.
    if (secret.size() < 2) continue;
    for (size_t p = out.find(secret); p != std::string::npos; p = out.find(secret, p + kMask.size())) {
      out.replace(p, secret.size(), kMask);
    }
  }
  return out;
}

}  // namespace steward::store
