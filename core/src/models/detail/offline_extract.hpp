#pragma once
// Extractive answering for the offline provider: reads tool results (JSON or text) into
// evidence, scores sentences by term overlap with the question and numbers their sources.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace steward::models::detail {

// A piece of text to quote and where it came from.
struct Evidence {
  std::string source;  // the label listed under "Sources:"
  std::string text;
};

// What one tool call returned.
struct ToolOutcome {
  enum class State { kResults, kEmpty, kError };
  std::string tool;
  State state = State::kEmpty;
  std::string error;  // kError: the tool's message, shortened
  std::vector<Evidence> items;
};

// Reads an OpenAI `tool` message content (a string, or an array of text parts). JSON content
// is split into items: an array, or the first list under results/items/hits/matches/... of an
// object, or the object itself. Each item's source is its title/url/path/source/session_id,
// else the tool name. An object with `error` (or `isError: true`) and text starting with
// "Error" count as errors; "", "[]", "{}", "null" and empty lists as empty.
[[nodiscard]] ToolOutcome ReadToolResult(std::string tool, const nlohmann::json& content);

// The text of an OpenAI message content: a string, or the text parts of an array.
[[nodiscard]] std::string ContentText(const nlohmann::json& content);

// Sentences of a text: split at line breaks and at ". ", "! ", "? "; each cut to ~300 bytes.
[[nodiscard]] std::vector<std::string> SplitSentences(std::string_view text);

struct ExtractOptions {
  size_t max_sentences = 4;
  size_t max_per_item = 2;
  size_t min_score = 1;            // distinct question terms a sentence must contain
  bool fall_back_to_first = true;  // with no match, quote the first sentence of the first items
};

// The chosen sentences, most relevant first, each ending in its citation "[n]", and the
// numbered sources ("[n] label") in citation order. `matched` is false when the sentences
// came from the fallback rather than from overlap with `terms`.
struct Extract {
  std::vector<std::string> lines;
  std::vector<std::string> sources;
  bool matched = false;
};
[[nodiscard]] Extract ExtractAnswer(const std::vector<Evidence>& evidence,
                                    const std::vector<std::string>& terms,
                                    const ExtractOptions& options);

}  // namespace steward::models::detail
