#pragma once
// The workflow parser's YAML reading: a node's key path and position for messages, typed
// getters that say what was expected and what was found, and YAML-to-JSON for step inputs.
// (The engine cannot use app/detail/config_reader, which sits above it.)

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace steward::engine::detail {

using Names = std::vector<std::string>;

// Where a value sits: the file, its key path ("workflows.daily.steps[2] (id 'send').retry") and
// the position to report (the enclosing node's when the value is absent).
struct Where {
  const std::string* file = nullptr;  // outlives every Where made from it
  std::string path;
  YAML::Mark mark = YAML::Mark::null_mark();

  // The value under `key` / at index `i` of this one.
  [[nodiscard]] Where Key(std::string_view key, const YAML::Node& node) const;
  [[nodiscard]] Where Index(size_t i, const YAML::Node& node) const;
  // `node`'s position, or this one's when `node` is absent or has none.
  [[nodiscard]] YAML::Mark MarkOf(const YAML::Node& node) const;
  // A kConfig error with context "<file>: <path> (line L, column C)".
  [[nodiscard]] Error Fail(std::string message) const;
};

// Absent keys and explicit nulls both mean "not given".
[[nodiscard]] bool Present(const YAML::Node& n);
// What a node is, for "got ...": its quoted text, "a list", "a mapping" or "nothing".
[[nodiscard]] std::string Got(const YAML::Node& n);
// Letters, digits, _ and -, starting with a letter or _ (workflow names, step ids, inputs).
[[nodiscard]] bool IsIdentifier(std::string_view s);
[[nodiscard]] bool Contains(const Names& names, std::string_view name);

// Fails unless `n` is a mapping; `what` names what it should have been.
[[nodiscard]] Status RequireMap(const Where& w, const YAML::Node& n, std::string_view what);
// Rejects keys not in `allowed`, and duplicates; `what` names the mapping ("a tool step").
[[nodiscard]] Status CheckKeys(const Where& w, const YAML::Node& map, const Names& allowed, std::string_view what);

// A scalar's text; `expected` names what a non-scalar should have been.
[[nodiscard]] Result<std::string> ReadString(const Where& w, const YAML::Node& n,
                                             std::string_view expected = "a string");
// The getters leave `out` untouched when the value is not present, so it keeps its default.
[[nodiscard]] Status GetString(const Where& w, const YAML::Node& n, std::string& out,
                               std::string_view expected = "a string");
// An integer in [lo, hi]; hi == INT_MAX reads as "an integer >= lo".
[[nodiscard]] Status GetInt(const Where& w, const YAML::Node& n, int lo, int hi, int& out);
// A finite number in [lo, hi]; `expected` is the message's wording.
[[nodiscard]] Status GetDouble(const Where& w, const YAML::Node& n, double lo, double hi, std::string_view expected,
                               double& out);
// A duration as ParseDuration reads it ("30s", "1m30s").
[[nodiscard]] Status GetDuration(const Where& w, const YAML::Node& n, std::chrono::milliseconds& out);
// A list of names, or one name as a scalar.
[[nodiscard]] Status GetStringList(const Where& w, const YAML::Node& n, Names& out);

// YAML has no types of its own: a plain scalar that reads as a number, boolean or null becomes
// one; a quoted scalar is always a string.
[[nodiscard]] nlohmann::json YamlToJson(const YAML::Node& n);

}  // namespace steward::engine::detail
