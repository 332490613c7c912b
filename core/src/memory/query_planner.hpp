#pragma once
// Classifies a memory request by rules and decides how to answer it: which retrieval paths run
// (full-text in PostgreSQL, vector via pgvector or the in-core hnswlib index), with which filters
// (explicit ones and those read from the query: dates, "key:value" terms, conversation cues), and
// how the paths are fused and re-ranked. Pure: no database, so every rule is unit-tested.

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memory/memory_index.hpp"

namespace steward::memory {

enum class Intent {
  kSimilar,       // "find notes like this": relevance over everything (the default)
  kOnDate,        // "what happened on May 3 / last week": a time window, newest first if no topic
  kConversation,  // "what did we decide about X": items from conversations, recency matters more
  kFiltered,      // structured filters (type, source, metadata, key:value terms) plus relevance
};
[[nodiscard]] const char* ToString(Intent intent);

struct PlannerContext {
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  std::string vector_backend = "none";  // pgvector | hnswlib | none (no embedder / no vectors)
  double rrf_k = 60;
  double recency_half_life_days = 180;
};

// The filters a search applies, all resolved (from the request and from the query text).
struct ResolvedFilters {
  std::vector<std::string> types;
  std::string source_prefix;
  nlohmann::json metadata = nlohmann::json::object();
  std::string created_from, created_to, updated_from, updated_to;
  std::string date_key, date_from, date_to;  // metadata->>date_key within [from, to)
  // A window read from the query ("last week"): matches created_at OR metadata->>'date'.
  std::string window_from, window_to, window_phrase;
  std::string as_of;  // empty: valid now
  bool include_expired = false;

  // True when anything beyond the default validity check narrows the candidates.
  [[nodiscard]] bool Selective() const;
  // The filters as one JSON parameter for the SQL built by hybrid_search.cpp.
  [[nodiscard]] nlohmann::json ToParam() const;
};

struct QueryPlan {
  Intent intent = Intent::kSimilar;
  std::string reason;      // the rule that chose the intent, for people
  std::string text_query;  // the query with date phrases, cues and key:value terms removed
  bool use_fulltext = true;
  bool use_vector = false;
  std::string vector_backend = "none";
  double fulltext_weight = 1.0;  // RRF weights per path
  double vector_weight = 1.0;
  double rrf_k = 60;
  int candidates = 50;  // depth of each path's list before fusion
  double recency_weight = 0.15;  // boost of a brand-new item over an infinitely old one (x(1+w))
  double recency_half_life_days = 180;
  bool order_by_time = false;  // no topic words: newest first within the filters
  ResolvedFilters filters;
  int limit = 10;

  // {intent, reason, text_query, paths, weights, filters, ...}; hybrid_search adds timings.
  [[nodiscard]] nlohmann::json ToJson() const;
};

// Builds the plan for `request`. Errors: kInvalidArgument (mode not auto|hybrid|fulltext|vector,
// limit out of 1..100, a time that is not ISO 8601, metadata not an object).
[[nodiscard]] Result<QueryPlan> PlanQuery(const SearchRequest& request, const PlannerContext& context);

// A date phrase found in text: [from, to) as ISO 8601 UTC, and the phrase's byte range.
struct DateWindow {
  std::string from, to;
  size_t begin = 0, end = 0;
};
// The first date expression in `text` (ISO dates, "yesterday", "last week", "in March 2024",
// "on May 3", "3 days ago", "past 2 weeks", ...), relative to `now` in UTC.
[[nodiscard]] std::optional<DateWindow> FindDateWindow(std::string_view text,
                                                       std::chrono::system_clock::time_point now);

}  // namespace steward::memory
