#pragma once
// Pieces of the messages that tell a user what was wrong: a value in quotes, a list in words,
// and a "did you mean" for a likely typo. The config reader (app) and the workflow parser
// (engine) word their errors with these, so both read alike.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace steward {

// Levenshtein distance, ignoring ASCII case; meant for short words (keys, names, enum values).
[[nodiscard]] size_t EditDistance(std::string_view a, std::string_view b);

// "; did you mean "x"?" when one candidate is close enough to `got` to be a likely typo (at most
// a third of its length apart, 1 to 3 edits, and not a wholly different word), else "".
[[nodiscard]] std::string DidYouMean(std::string_view got, std::span<const std::string_view> candidates);
[[nodiscard]] std::string DidYouMean(std::string_view got, std::span<const std::string> candidates);

// "a, b, c"; with last_separator " or ": "a, b or c". An empty list gives "".
[[nodiscard]] std::string JoinList(std::span<const std::string_view> items, std::string_view last_separator = ", ");
[[nodiscard]] std::string JoinList(std::span<const std::string> items, std::string_view last_separator = ", ");
// JoinList, or "none" for an empty list: for messages that list what exists ("(inputs: none)").
[[nodiscard]] std::string JoinListOrNone(std::span<const std::string_view> items);
[[nodiscard]] std::string JoinListOrNone(std::span<const std::string> items);

// `text` in double quotes, on one line and cut to a readable length (long values such as system
// prompts would bury the message).
[[nodiscard]] std::string Quote(std::string_view text);

}  // namespace steward
