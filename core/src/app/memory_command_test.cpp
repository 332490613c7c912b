#include "app/memory_command.hpp"

#include <gtest/gtest.h>

namespace steward::app {
namespace {

using nlohmann::json;

json Answer() {
  return json::parse(R"({
    "query": "boat",
    "results": [{"item_id": 42, "title": "Boat decision", "source": "conversation:abc",
                 "created_at": "2024-05-03T10:00:00Z", "score": 0.0312, "text_rank": 1, "vector_rank": 2,
                 "excerpt": "We decided to sell\nthe boat."}],
    "plan": {"intent": "conversation", "reason": "conversation cue \"did we\"", "text_query": "boat",
             "paths": [{"path": "fulltext", "weight": 1.2, "candidates": 50, "how": "tsvector"},
                       {"path": "vector", "backend": "hnswlib", "weight": 0.8, "candidates": 50, "how": "hnsw"}],
             "fusion": {"method": "reciprocal rank fusion", "k": 60},
             "filters": {"source_like": "conversation:%"},
             "timings_ms": {"total_ms": 12.34, "fulltext_ms": 1.5},
             "sql": [{"step": "fulltext", "sql": "SELECT 1"}]}
  })");
}

TEST(RenderMemorySearch, ListsCitationsAndTheChosenPlan) {
  const std::string text = RenderMemorySearch(Answer(), false);
  EXPECT_NE(text.find("1. [42] Boat decision — conversation:abc (2024-05-03T10:00:00Z)"), std::string::npos) << text;
  EXPECT_NE(text.find("text #1 · vector #2"), std::string::npos);
  EXPECT_NE(text.find("We decided to sell the boat."), std::string::npos);
  EXPECT_NE(text.find("plan: conversation (conversation cue \"did we\"); fulltext + vector (hnswlib); 12.3 ms"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("SELECT 1"), std::string::npos);
}

TEST(RenderMemorySearch, ExplainAddsPathsFiltersTimingsAndSql) {
  const std::string text = RenderMemorySearch(Answer(), true);
  EXPECT_NE(text.find("path vector (weight 0.8, 50 candidates): hnsw"), std::string::npos) << text;
  EXPECT_NE(text.find("filters: {\"source_like\":\"conversation:%\"}"), std::string::npos);
  EXPECT_NE(text.find("fulltext_ms=1.5 ms"), std::string::npos);
  EXPECT_NE(text.find("-- fulltext\nSELECT 1"), std::string::npos);
}

TEST(RenderMemorySearch, SaysWhenNothingMatches) {
  json answer = Answer();
  answer["results"] = json::array();
  EXPECT_NE(RenderMemorySearch(answer, false).find("Nothing in memory matches \"boat\"."), std::string::npos);
}

TEST(UrlEncode, KeepsUnreservedAndEscapesTheRest) {
  EXPECT_EQ(UrlEncode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
  EXPECT_EQ(UrlEncode("A-z_0.9~"), "A-z_0.9~");
}

}  // namespace
}  // namespace steward::app
