#include "telemetry/success_metrics.hpp"

#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "common/testing/pg_test_database.hpp"
#include "store/migrations.hpp"
#include "telemetry/db_metrics.hpp"
#include "telemetry/prometheus_text.hpp"

namespace steward::telemetry {
namespace {

using nlohmann::json;

class SuccessMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Connect(pg_.url(), 2);
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(store::ApplyMigrations(*db_).ok());
  }
  void Exec(const std::string& sql) {
    auto done = db_->Transact([&](pqxx::work& tx) { tx.exec(sql); });
    ASSERT_TRUE(done.ok()) << done.error().ToString() << "\n" << sql;
  }
  // A finished run `age` ago that took `ms`, with stats.
  void Run(const std::string& id, const std::string& kind, const std::string& status, const json& stats,
           const std::string& age = "1 hour", int ms = 1000) {
    Exec("INSERT INTO run (id, kind, status, trace_id, stats, started_at, finished_at) VALUES ('" + id + "', '" +
         kind + "', '" + status + "', 'trace', '" + stats.dump() + "', now() - interval '" + age +
         "', now() - interval '" + age + "' + interval '" + std::to_string(ms) + " milliseconds')");
  }
  void Approval(const std::string& run_id, const std::string& status) {
    Exec("INSERT INTO approval (id, run_id, tool, arguments, arguments_hash, tier, status, decided_at) VALUES "
         "(gen_random_uuid(), '" + run_id + "', 'memory.remember', '{}', 'h', 'high', '" + status + "', " +
         (status == "pending" ? "NULL" : "now()") + ")");
  }
  json Compute(std::optional<std::chrono::seconds> since = std::nullopt) {
    auto got = ComputeSuccessMetrics(*db_, since, since ? "test" : "");
    EXPECT_TRUE(got.ok()) << got.error().ToString();
    return got.ok() ? (*got)["metrics"] : json();
  }

  testing::PgTestDatabase pg_;
  std::unique_ptr<store::Database> db_;
};

const char* Id(int n) {
  static std::string ids[16];
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", n);
  return (ids[n] = buf).c_str();
}

json Stats(int calls, int errors, std::optional<double> progress_ms = 300, double token_ms = 600) {
  return {{"tool_calls", calls},
          {"tool_errors", errors},
          {"first_progress_ms", progress_ms ? json(*progress_ms) : json(nullptr)},
          {"first_token_ms", token_ms}};
}

TEST(ParseSince, AcceptsDurationsAndAll) {
  EXPECT_EQ(ParseSince("7d")->value(), std::chrono::seconds(7 * 86400));
  EXPECT_EQ(ParseSince("24h")->value(), std::chrono::seconds(86400));
  EXPECT_EQ(ParseSince("30m")->value(), std::chrono::seconds(1800));
  EXPECT_EQ(ParseSince("90s")->value(), std::chrono::seconds(90));
  EXPECT_EQ(ParseSince("2w")->value(), std::chrono::seconds(14 * 86400));
  EXPECT_FALSE(ParseSince("all")->has_value());
  EXPECT_FALSE(ParseSince("")->has_value());
  for (const char* bad : {"7", "d", "7x", "-1d", "0d", "1.5h", "7d ", "99999999999d"}) {
    auto parsed = ParseSince(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find("7d"), std::string::npos);
  }
}

TEST_F(SuccessMetricsTest, EmptyDatabaseGivesNullValuesWithZeroN) {
  const json m = Compute();
  for (std::string_view name : kSuccessMetricNames) {
    ASSERT_TRUE(m.contains(std::string(name))) << name;
    EXPECT_EQ(m[std::string(name)]["n"], 0) << name;
    EXPECT_TRUE(m[std::string(name)]["value"].is_null()) << name;
    EXPECT_FALSE(m[std::string(name)]["how"].get<std::string>().empty()) << name;
  }
}

TEST_F(SuccessMetricsTest, CountsDecisionsToolsTasksAndProgress) {
  // Run 1: two tool calls, both fine. Run 2: three calls, one held and approved, one held and
  // denied (so one of its two errors is the denial). Run 3 failed with one tool error and no
  // progress. Run 4 is still running (not counted). Run 5 is 10 days old (outside 7d).
  Run(Id(1), "chat", "succeeded", Stats(2, 0, 300), "1 hour", 1000);
  Run(Id(2), "chat", "succeeded", Stats(3, 2, 2500), "1 hour", 3000);
  Approval(Id(2), "approved");
  Approval(Id(2), "denied");
  Run(Id(3), "chat", "failed", Stats(1, 1, std::nullopt), "1 hour", 500);
  Exec("INSERT INTO run (id, kind, status, trace_id) VALUES ('" + std::string(Id(4)) + "', 'chat', 'running', 't')");
  Run(Id(5), "chat", "succeeded", Stats(4, 4, 100), "10 days", 2000);
  Exec("INSERT INTO tool_gap_report (run_id, report, valid) VALUES ('" + std::string(Id(1)) + "', '{}', true)");

  json m = Compute(std::chrono::hours(24 * 7));
  const json& decisions = m["decision_approval_rate"];
  EXPECT_EQ(decisions["n"], 6);
  EXPECT_EQ(decisions["details"]["held"], 2);
  EXPECT_EQ(decisions["details"]["automatic"], 4);
  EXPECT_EQ(decisions["details"]["denied"], 1);
  EXPECT_DOUBLE_EQ(decisions["value"].get<double>(), 5.0 / 6);

  const json& tools = m["tool_success_rate"];
  EXPECT_EQ(tools["n"], 5);               // the denied call never ran
  EXPECT_EQ(tools["details"]["errors"], 2);  // run 2's real error and run 3's
  EXPECT_DOUBLE_EQ(tools["value"].get<double>(), 3.0 / 5);

  const json& tasks = m["task_completion_rate"];
  EXPECT_EQ(tasks["n"], 3);
  EXPECT_EQ(tasks["details"]["succeeded"], 2);
  EXPECT_EQ(tasks["details"]["with_approval"], 1);
  EXPECT_EQ(tasks["details"]["with_tool_gap_report"], 1);
  EXPECT_DOUBLE_EQ(tasks["value"].get<double>(), 0.0);

  const json& latency = m["latency_p50"];
  EXPECT_EQ(latency["n"], 2);
  EXPECT_NEAR(latency["value"].get<double>(), 2000, 1);  // median of 1000 and 3000

  const json& progress = m["progress_within_2s"];
  EXPECT_EQ(progress["n"], 3);
  EXPECT_EQ(progress["details"]["without_progress"], 1);
  EXPECT_DOUBLE_EQ(progress["value"].get<double>(), 1.0 / 3);

  // All time: run 5 counts too.
  m = Compute();
  EXPECT_EQ(m["decision_approval_rate"]["n"], 10);
  EXPECT_EQ(m["latency_p50"]["n"], 3);
}

TEST_F(SuccessMetricsTest, WorkflowsCompleteWithoutInterventionUnlessAnApprovalWasAsked) {
  Exec("INSERT INTO run (id, kind, status, trace_id, started_at, finished_at) VALUES "
       "('" + std::string(Id(1)) + "', 'workflow', 'succeeded', 't', now(), now()), "
       "('" + std::string(Id(2)) + "', 'workflow', 'succeeded', 't', now(), now()), "
       "('" + std::string(Id(3)) + "', 'workflow', 'failed', 't', now(), now())");
  // Run 2's agent step asked for an approval.
  Exec("INSERT INTO run (id, kind, status, trace_id, parent_run_id, stats) VALUES "
       "('" + std::string(Id(4)) + "', 'agent', 'succeeded', 't', '" + Id(2) + "', '{\"tool_calls\": 1, \"tool_errors\": 0}')");
  Approval(Id(4), "approved");
  const json m = Compute();
  const json& wf = m["workflow_completion_rate"];
  EXPECT_EQ(wf["n"], 3);
  EXPECT_EQ(wf["details"]["succeeded"], 2);
  EXPECT_EQ(wf["details"]["succeeded_without_approval"], 1);
  EXPECT_DOUBLE_EQ(wf["value"].get<double>(), 1.0 / 3);
  // The agent step's call is an agent decision.
  EXPECT_EQ(m["decision_approval_rate"]["n"], 1);
}

TEST_F(SuccessMetricsTest, MemoryFreshnessCountsCurrentItemsOnly) {
  Exec("INSERT INTO memory_item (type, content, created_at, updated_at, valid_from) VALUES "
       "('note', 'new', now() - interval '2 days', now() - interval '2 days', now() - interval '2 days'), "
       "('note', 'old', now() - interval '90 days', now() - interval '90 days', now() - interval '90 days')");
  Exec("INSERT INTO memory_item (type, content, valid_to) VALUES ('note', 'superseded', now())");
  const json m = Compute();
  const json& fresh = m["memory_freshness"];
  EXPECT_EQ(fresh["n"], 2);
  EXPECT_DOUBLE_EQ(fresh["value"].get<double>(), 0.5);
  EXPECT_NEAR(fresh["details"]["newest_item_age_s"].get<double>(), 2 * 86400, 60);
  EXPECT_TRUE(m["memory_indexing"]["value"].is_null());  // no embedding model
}

TEST_F(SuccessMetricsTest, MemoryIndexingMeasuresTheLagToAVector) {
  Exec("INSERT INTO embedding_model (name, dimension, is_current, first_used_at) VALUES "
       "('m', 3, true, now() - interval '30 days')");
  Exec("INSERT INTO memory_item (id, type, content, created_at) VALUES "
       "(1, 'note', 'a', now() - interval '3 hours'), (2, 'note', 'b', now() - interval '3 hours'), "
       "(3, 'note', 'c', now() - interval '1 minute')");
  // Item 1 embedded after 10 minutes, item 2 after 2 hours, item 3 not yet (too young to count).
  Exec("INSERT INTO memory_chunk (item_id, ordinal, content, start_offset, end_offset, embedding_model_id, "
       "embedded_at) VALUES "
       "(1, 0, 'a', 0, 1, 1, now() - interval '170 minutes'), (2, 0, 'b', 0, 1, 1, now() - interval '1 hour'), "
       "(3, 0, 'c', 0, 1, NULL, NULL)");
  const json m = Compute();
  const json& indexing = m["memory_indexing"];
  EXPECT_EQ(indexing["n"], 2);
  EXPECT_DOUBLE_EQ(indexing["value"].get<double>(), 0.5);
  EXPECT_EQ(indexing["details"]["not_yet_embedded"], 1);
}

TEST_F(SuccessMetricsTest, DatabaseFamiliesCountRunsApprovalsTokensAndCost) {
  Run(Id(1), "chat", "succeeded", Stats(1, 0));
  Run(Id(2), "chat", "failed", Stats(0, 0));
  Approval(Id(1), "approved");
  Exec("INSERT INTO model_call (model, provider, upstream_model, prompt_tokens, completion_tokens, cost_usd, "
       "duration_ms, status) VALUES ('m\"1', 'p', 'u', 100, 10, 0.5, 1, 'ok'), ('m\"1', 'p', 'u', 50, 5, 0.25, 1, 'ok')");
  std::vector<MetricFamily> families;
  CollectDatabaseMetrics(*db_, families);
  std::string text;
  AppendPrometheusText(families, text);
  EXPECT_NE(text.find("steward_database_up 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("steward_runs{kind=\"chat\",status=\"succeeded\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("steward_runs{kind=\"chat\",status=\"failed\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("steward_approvals{status=\"approved\",tier=\"high\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("steward_model_tokens_total{model=\"m\\\"1\",type=\"prompt\"} 150\n"), std::string::npos) << text;
  EXPECT_NE(text.find("steward_model_cost_usd_total{model=\"m\\\"1\"} 0.75\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE steward_workflow_steps gauge\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace steward::telemetry
