#include "models/detail/offline_extract.hpp"

#include <algorithm>
#include <map>

#include "models/detail/offline_text.hpp"

namespace steward::models::detail {

namespace {

using Json = nlohmann::json;

constexpr size_t kMaxSentenceBytes = 300;
constexpr size_t kMaxErrorBytes = 160;

// Lists of results inside a JSON object, in the order they are looked for.
constexpr std::string_view kListKeys[] = {"results", "items", "hits", "matches", "memories",
                                          "messages", "documents", "stories", "pages", "entries",
                                          "data", "records", "rows"};
// Fields holding an item's text, in reading order.
constexpr std::string_view kTextKeys[] = {"content", "text", "snippet", "summary", "body",
                                          "description", "excerpt", "abstract", "answer", "fact"};

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

// Cuts at a word boundary and marks the cut; never splits a UTF-8 sequence.
std::string Shorten(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = s.rfind(' ', max);
  if (cut == std::string::npos || cut < max / 2) {
    cut = max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  }
  s.resize(cut);
  return s + "…";
}

std::string Str(const Json& obj, std::string_view key) {
  const auto it = obj.find(key);
  if (it == obj.end()) return "";
  if (it->is_string()) return Trim(it->get<std::string>());
  if (it->is_number()) return it->dump();
  return "";
}

// "Title — https://url (web.search)": what a reader needs to find the source again.
std::string SourceLabel(const Json& item, const std::string& tool) {
  std::vector<std::string> parts;
  for (auto key : {"title", "name"}) {
    if (auto v = Str(item, key); !v.empty()) {
      parts.push_back(Shorten(v, 120));
      break;
    }
  }
  for (auto key : {"url", "link", "path", "file", "source"}) {
    if (auto v = Str(item, key); !v.empty()) {
      parts.push_back(v);
      break;
    }
  }
  if (auto v = Str(item, "session_id"); !v.empty()) parts.push_back("conversation " + v);
  if (parts.empty()) return tool;
  std::string label;
  for (const auto& p : parts) label += (label.empty() ? "" : " — ") + p;
  return label + " (" + tool + ")";
}

std::string ItemText(const Json& item) {
  if (item.is_string()) return Trim(item.get<std::string>());
  if (!item.is_object()) return item.is_null() ? "" : item.dump();
  // The body is what gets quoted; the title already names the source. A title alone (a
  // headline list) is the text.
  std::string text;
  for (auto key : kTextKeys) {
    if (auto v = Str(item, key); !v.empty()) {
      text = std::move(v);
      break;
    }
  }
  if (text.empty()) text = Str(item, "title");
  if (!text.empty()) return text;
  // No text fields (a status object): its scalar fields, in key order.
  for (const auto& [key, value] : item.items()) {
    if (value.is_object() || value.is_array() || value.is_null()) continue;
    text += (text.empty() ? "" : ", ") + key + ": " + (value.is_string() ? value.get<std::string>() : value.dump());
  }
  return text;
}

std::string ErrorText(const Json& error) {
  if (error.is_string()) return error.get<std::string>();
  if (error.is_object() && error.contains("message") && error["message"].is_string()) {
    return error["message"].get<std::string>();
  }
  return error.dump();
}

void AddItems(ToolOutcome& out, const Json& list) {
  for (const auto& item : list) {
    std::string text = ItemText(item);
    if (text.empty()) continue;
    out.items.push_back({item.is_object() ? SourceLabel(item, out.tool) : out.tool, std::move(text)});
  }
  out.state = out.items.empty() ? ToolOutcome::State::kEmpty : ToolOutcome::State::kResults;
}

bool LooksLikeErrorText(const std::string& lower) {
  // Steward's hub reports a failed call as "<error code>: message" (common/error_code.cpp), and
  // pydantic-ai hands tool errors back to the model ending in "Fix the errors and try again."
  static constexpr std::string_view kCodes[] = {
      "invalid_argument:", "config_error:", "not_found:", "unauthenticated:", "permission_denied:",
      "conflict:", "unavailable:", "deadline_exceeded:", "cancelled:", "budget_exceeded:", "internal:"};
  for (auto code : kCodes) {
    if (lower.starts_with(code)) return true;
  }
  return lower.starts_with("error") || lower.starts_with("tool error") ||
         lower.starts_with("failed") || lower.starts_with("exception") ||
         lower.find("error executing tool") != std::string::npos ||
         lower.ends_with("fix the errors and try again.");
}

bool LooksLikeNothing(const std::string& lower) {
  static constexpr std::string_view kNothing[] = {"none", "null", "[]", "{}", "no results",
                                                  "no results found", "not found", "nothing found",
                                                  "no matches", "no matches found"};
  std::string s = lower;
  while (!s.empty() && (s.back() == '.' || s.back() == '!')) s.pop_back();
  return std::find(std::begin(kNothing), std::end(kNothing), s) != std::end(kNothing);
}

}  // namespace

std::string ContentText(const Json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_string()) {
        out += part.get<std::string>();
      } else if (part.is_object() && part.contains("text") && part["text"].is_string()) {
        out += (out.empty() ? "" : "\n") + part["text"].get<std::string>();
      }
    }
  }
  return out;
}

ToolOutcome ReadToolResult(std::string tool, const Json& content) {
  ToolOutcome out;
  out.tool = std::move(tool);
  const std::string text = Trim(ContentText(content));
  const std::string lower = Lower(text);
  if (text.empty() || LooksLikeNothing(lower)) return out;

  const Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_array()) {
    AddItems(out, parsed);
    return out;
  }
  if (parsed.is_object()) {
    const bool is_error = (parsed.contains("isError") && parsed["isError"] == true) ||
                          (parsed.contains("error") && !parsed["error"].is_null() && parsed["error"] != false);
    if (is_error) {
      out.state = ToolOutcome::State::kError;
      out.error = Shorten(Trim(parsed.contains("error") ? ErrorText(parsed["error"]) : ItemText(parsed)),
                          kMaxErrorBytes);
      return out;
    }
    for (auto key : kListKeys) {
      const auto it = parsed.find(key);
      if (it != parsed.end() && it->is_array()) {
        AddItems(out, *it);
        return out;
      }
    }
    AddItems(out, Json::array({parsed}));
    return out;
  }
  if (LooksLikeErrorText(lower)) {
    out.state = ToolOutcome::State::kError;
    std::string_view message = text;
    constexpr std::string_view kRetry = "Fix the errors and try again.";
    if (message.ends_with(kRetry)) message.remove_suffix(kRetry.size());
    out.error = Shorten(Trim(message), kMaxErrorBytes);
    return out;
  }
  out.state = ToolOutcome::State::kResults;
  out.items.push_back({out.tool, text});
  return out;
}

std::vector<std::string> SplitSentences(std::string_view text) {
  std::vector<std::string> out;
  auto flush = [&](size_t b, size_t e) {
    std::string s = Trim(text.substr(b, e - b));
    // Markdown list and heading marks are layout, not words.
    while (!s.empty() && (s.front() == '-' || s.front() == '*' || s.front() == '#' || s.front() == '>')) {
      s = Trim(std::string_view(s).substr(1));
    }
    if (!s.empty()) out.push_back(Shorten(std::move(s), kMaxSentenceBytes));
  };
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      flush(start, i);
      start = i + 1;
    } else if ((c == '.' || c == '!' || c == '?') && (i + 1 == text.size() || text[i + 1] == ' ')) {
      flush(start, i + 1);
      start = i + 1;
    }
  }
  if (start < text.size()) flush(start, text.size());
  return out;
}

Extract ExtractAnswer(const std::vector<Evidence>& evidence, const std::vector<std::string>& terms,
                      const ExtractOptions& options) {
  struct Candidate {
    size_t item;
    size_t position;
    size_t score;
    std::string sentence;
  };
  std::vector<Candidate> scored;
  std::vector<Candidate> firsts;  // the first sentence of each item, for the fallback
  for (size_t i = 0; i < evidence.size(); ++i) {
    const auto sentences = SplitSentences(evidence[i].text);
    for (size_t p = 0; p < sentences.size(); ++p) {
      size_t score = 0;
      if (!terms.empty()) {
        const auto words = Terms(sentences[p]);
        for (const auto& t : terms) score += std::count(words.begin(), words.end(), t) > 0 ? 1 : 0;
      }
      if (p == 0) firsts.push_back({i, p, score, sentences[p]});
      if (score >= std::max<size_t>(options.min_score, 1)) scored.push_back({i, p, score, sentences[p]});
    }
  }
  // Most shared terms first; ties keep the order the tools returned (their own ranking).
  std::stable_sort(scored.begin(), scored.end(),
                   [](const Candidate& a, const Candidate& b) { return a.score > b.score; });

  Extract out;
  std::vector<Candidate> chosen;
  std::map<size_t, size_t> per_item;
  for (auto& c : scored) {
    if (chosen.size() >= options.max_sentences) break;
    if (per_item[c.item]++ >= options.max_per_item) continue;
    chosen.push_back(std::move(c));
  }
  out.matched = !chosen.empty();
  if (chosen.empty() && options.fall_back_to_first) {
    for (auto& c : firsts) {
      if (chosen.size() >= options.max_sentences) break;
      chosen.push_back(std::move(c));
    }
  }

  std::vector<std::string> labels;  // citation n is labels[n-1]
  for (const auto& c : chosen) {
    const std::string& label = evidence[c.item].source;
    auto it = std::find(labels.begin(), labels.end(), label);
    if (it == labels.end()) it = labels.insert(labels.end(), label);
    out.lines.push_back(c.sentence + " [" + std::to_string(it - labels.begin() + 1) + "]");
  }
  for (size_t n = 0; n < labels.size(); ++n) {
    out.sources.push_back("[" + std::to_string(n + 1) + "] " + labels[n]);
  }
  return out;
}

}  // namespace steward::models::detail
