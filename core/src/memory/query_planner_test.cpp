#include "memory/query_planner.hpp"

#include <gtest/gtest.h>

namespace steward::memory {
namespace {

using std::chrono::sys_days;

// Wednesday 2024-05-15 10:00 UTC.
std::chrono::system_clock::time_point Now() {
  return sys_days{std::chrono::year{2024} / 5 / 15} + std::chrono::hours(10);
}

PlannerContext Ctx(const std::string& backend = "hnswlib") {
  PlannerContext c;
  c.now = Now();
  c.vector_backend = backend;
  return c;
}

QueryPlan Plan(const std::string& query, const std::string& backend = "hnswlib") {
  SearchRequest r;
  r.query = query;
  auto plan = PlanQuery(r, Ctx(backend));
  EXPECT_TRUE(plan.ok()) << plan.error().ToString();
  return plan.ok() ? *plan : QueryPlan{};
}

struct DateCase {
  const char* text;
  const char* from;
  const char* to;
};

TEST(FindDateWindow, ReadsCommonDatePhrases) {
  const DateCase cases[] = {
      {"notes from 2024-03-07 please", "2024-03-07T00:00:00Z", "2024-03-08T00:00:00Z"},
      {"what happened in 2024-02", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"},
      {"what did I do yesterday", "2024-05-14T00:00:00Z", "2024-05-15T00:00:00Z"},
      {"today", "2024-05-15T00:00:00Z", "2024-05-16T00:00:00Z"},
      {"on May 3", "2024-05-03T00:00:00Z", "2024-05-04T00:00:00Z"},
      {"on 3rd March 2023", "2023-03-03T00:00:00Z", "2023-03-04T00:00:00Z"},
      {"in December", "2023-12-01T00:00:00Z", "2024-01-01T00:00:00Z"},  // future month: last year
      {"in March 2024", "2024-03-01T00:00:00Z", "2024-04-01T00:00:00Z"},
      {"3 days ago", "2024-05-12T00:00:00Z", "2024-05-13T00:00:00Z"},
      {"last week", "2024-05-06T00:00:00Z", "2024-05-15T10:01:00Z"},
      {"last month", "2024-04-01T00:00:00Z", "2024-05-15T10:01:00Z"},
      {"past 10 days", "2024-05-05T00:00:00Z", "2024-05-15T10:01:00Z"},
      {"during 2022", "2022-01-01T00:00:00Z", "2023-01-01T00:00:00Z"},
  };
  for (const auto& c : cases) {
    auto w = FindDateWindow(c.text, Now());
    ASSERT_TRUE(w.has_value()) << c.text;
    EXPECT_EQ(w->from, c.from) << c.text;
    EXPECT_EQ(w->to, c.to) << c.text;
  }
}

TEST(FindDateWindow, IgnoresTextWithoutDates) {
  for (const char* text : {"budget for the trip", "you may want this", "march of progress?", "version 2024"}) {
    EXPECT_FALSE(FindDateWindow(text, Now()).has_value()) << text;
  }
}

TEST(PlanQuery, PlainTopicIsSimilarWithBothPaths) {
  const QueryPlan p = Plan("kubernetes deployment notes");
  EXPECT_EQ(p.intent, Intent::kSimilar);
  EXPECT_TRUE(p.use_fulltext);
  EXPECT_TRUE(p.use_vector);
  EXPECT_EQ(p.vector_backend, "hnswlib");
  EXPECT_DOUBLE_EQ(p.fulltext_weight, p.vector_weight);
  EXPECT_FALSE(p.filters.Selective());
}

TEST(PlanQuery, LongQueriesWeightVectorsAndExactTermsWeightFullText) {
  const QueryPlan long_q = Plan("I am looking for the thing I wrote about how to keep sourdough starter alive while travelling");
  EXPECT_GT(long_q.vector_weight, long_q.fulltext_weight);
  const QueryPlan exact = Plan("error ERR_CONN_4711");
  EXPECT_GT(exact.fulltext_weight, exact.vector_weight);
}

TEST(PlanQuery, DatePhraseMakesAnOnDatePlanWithAWindowAndNoTopicOrdersByTime) {
  const QueryPlan p = Plan("What happened on May 3?");
  EXPECT_EQ(p.intent, Intent::kOnDate);
  EXPECT_EQ(p.filters.window_from, "2024-05-03T00:00:00Z");
  EXPECT_EQ(p.filters.window_to, "2024-05-04T00:00:00Z");
  EXPECT_TRUE(p.text_query.empty()) << p.text_query;
  EXPECT_TRUE(p.order_by_time);
  EXPECT_FALSE(p.use_vector);
  EXPECT_NE(p.reason.find("May 3"), std::string::npos) << p.reason;
  const nlohmann::json param = p.filters.ToParam();
  EXPECT_EQ(param["window_date_from"], "2024-05-03");
}

TEST(PlanQuery, DatePhraseWithATopicKeepsTheTopic) {
  const QueryPlan p = Plan("dentist appointment last week");
  EXPECT_EQ(p.intent, Intent::kOnDate);
  EXPECT_EQ(p.text_query, "dentist appointment");
  EXPECT_FALSE(p.order_by_time);
  EXPECT_TRUE(p.use_vector);
}

TEST(PlanQuery, ConversationCueRestrictsToConversationsAndFavoursRecency) {
  const QueryPlan p = Plan("what did we decide about the paris trip last month");
  EXPECT_EQ(p.intent, Intent::kConversation);
  EXPECT_EQ(p.filters.source_prefix, "conversation:");
  EXPECT_EQ(p.filters.window_from, "2024-04-01T00:00:00Z");
  EXPECT_GT(p.recency_weight, Plan("paris trip").recency_weight);
  EXPECT_EQ(p.text_query.find("did we"), std::string::npos);
  EXPECT_NE(p.text_query.find("paris trip"), std::string::npos);
}

TEST(PlanQuery, KeyValueTermsBecomeFilters) {
  const QueryPlan p = Plan("type:note author:alice tag:travel budget");
  EXPECT_EQ(p.intent, Intent::kFiltered);
  EXPECT_EQ(p.filters.types, std::vector<std::string>{"note"});
  EXPECT_EQ(p.filters.metadata["author"], "alice");
  EXPECT_EQ(p.filters.metadata["tags"], nlohmann::json::array({"travel"}));
  EXPECT_EQ(p.text_query, "budget");
  EXPECT_TRUE(p.filters.Selective());
}

TEST(PlanQuery, RequestFiltersAreCarriedAndValidated) {
  SearchRequest r;
  r.query = "report";
  r.types = {"document"};
  r.metadata = {{"project", "apollo"}};
  r.as_of = "2024-01-01T00:00:00Z";
  auto p = PlanQuery(r, Ctx());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->intent, Intent::kFiltered);
  const auto param = p->filters.ToParam();
  EXPECT_EQ(param["as_of"], "2024-01-01T00:00:00Z");
  EXPECT_EQ(param["metadata"]["project"], "apollo");

  r.created_from = "last tuesday";
  auto bad = PlanQuery(r, Ctx());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().context, "created_from");
}

TEST(PlanQuery, NoVectorsMeansFullTextOnlyAndForcedVectorFails) {
  const QueryPlan p = Plan("garden plans", "none");
  EXPECT_FALSE(p.use_vector);
  EXPECT_NE(p.reason.find("full-text only"), std::string::npos);
  SearchRequest r;
  r.query = "garden";
  r.mode = "vector";
  auto forced = PlanQuery(r, Ctx("none"));
  ASSERT_FALSE(forced.ok());
  EXPECT_EQ(forced.error().code, ErrorCode::kUnavailable);
}

TEST(PlanQuery, ModesSelectPathsAndBadModesAndLimitsAreRejected) {
  SearchRequest r;
  r.query = "garden";
  r.mode = "fulltext";
  EXPECT_FALSE(PlanQuery(r, Ctx())->use_vector);
  r.mode = "vector";
  EXPECT_FALSE(PlanQuery(r, Ctx())->use_fulltext);
  r.mode = "magic";
  EXPECT_FALSE(PlanQuery(r, Ctx()).ok());
  r.mode = "auto";
  r.limit = 0;
  EXPECT_FALSE(PlanQuery(r, Ctx()).ok());
}

TEST(PlanQuery, PlanJsonNamesIntentPathsAndWindow) {
  const nlohmann::json j = Plan("meeting notes yesterday").ToJson();
  EXPECT_EQ(j["intent"], "on_date");
  ASSERT_EQ(j["paths"].size(), 2u);
  EXPECT_EQ(j["paths"][0]["path"], "fulltext");
  EXPECT_EQ(j["paths"][1]["backend"], "hnswlib");
  EXPECT_EQ(j["time_window"]["phrase"], "yesterday");
  EXPECT_EQ(j["fusion"]["method"], "reciprocal rank fusion");
}

}  // namespace
}  // namespace steward::memory
