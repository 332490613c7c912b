#pragma once
// `steward memory search QUERY [--explain]`: hybrid memory search through the server's
// GET /api/memory/search, printed as a ranked list with citations (item id, title, source) and
// the plan the planner chose (with --explain: every path, filter, SQL statement and timing).

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace steward::app {

struct MemorySearchFlags {
  std::string query;
  int limit = 10;
  std::string mode;  // empty: auto
  bool explain = false;
  bool json = false;  // print the raw answer
};

// The text for an /api/memory/search answer ({query, results, plan}):
//   1. [42] Boat decision — conversation:… (2024-05-03T10:00:00Z)  score 0.031  text #1 · vector #2
//      We decided to sell the old sailing boat in autumn.
//   plan: conversation (conversation cue "did we"); fulltext + vector (hnswlib); 12.3 ms
// With `explain`, the plan's paths, filters, notes, timings and SQL follow.
[[nodiscard]] std::string RenderMemorySearch(const nlohmann::json& answer, bool explain);

// "a b&c" -> "a%20b%26c" (RFC 3986 unreserved characters kept).
[[nodiscard]] std::string UrlEncode(const std::string& text);

// Runs the search against the server at `base_url` and prints it; the exit status.
int RunMemorySearchCommand(const std::string& base_url, const std::string& token, const MemorySearchFlags& flags,
                           std::ostream& out, std::ostream& err);

}  // namespace steward::app
