#include "tools/tool_gap.hpp"

#include <gtest/gtest.h>

#include "common/testing/pg_test_database.hpp"
#include "store/migrations.hpp"

namespace steward::tools {
namespace {

using nlohmann::json;

TEST(ToolGapStore, StoredReportsAreListedNewestFirstWithTheirValidity) {
  steward::testing::PgTestDatabase pg;
  auto db = store::Database::Connect(pg.url(), 2);
  ASSERT_TRUE(db.ok()) << db.error().ToString();
  ASSERT_TRUE(store::ApplyMigrations(**db).ok());

  const std::string run = "dddddddd-0000-4000-8000-000000000001";
  const auto valid = ExtractToolGapReport(
      "```steward-tool-gap\n"
      R"({"task": "t", "missing_tools": [{"name": "email.send", "description": "d", "inputs": {}, "outputs": {},)"
      R"( "estimated_risk": "high"}], "existing_tools_checked": [{"name": "tools/list", "evidence": "none"}],)"
      R"( "proposed_mcp_server": {"name": "email", "description": "d", "tools": ["email.send"]}})"
      "\n```");
  ASSERT_TRUE(valid.has_value());
  ASSERT_TRUE(valid->valid);
  const auto invalid = ExtractToolGapReport("```steward-tool-gap\nnot json\n```");
  ASSERT_TRUE(invalid.has_value());

  auto ids = (*db)->Transact([&](pqxx::work& tx) {
    const int64_t first = InsertToolGapReport(tx, run, "", *valid);
    const int64_t second = InsertToolGapReport(tx, "", "", *invalid);
    return std::make_pair(first, second);
  });
  ASSERT_TRUE(ids.ok()) << ids.error().ToString();

  auto listed = ListToolGapReports(**db, 10);
  ASSERT_TRUE(listed.ok()) << listed.error().ToString();
  ASSERT_EQ(listed->size(), 2u);
  const auto& newest = (*listed)[0];
  const auto& oldest = (*listed)[1];
  EXPECT_EQ(newest.id, ids->second);
  EXPECT_FALSE(newest.valid);
  EXPECT_EQ(newest.report["raw"], "not json");
  EXPECT_FALSE(newest.errors.empty());
  EXPECT_EQ(oldest.id, ids->first);
  EXPECT_TRUE(oldest.valid);
  EXPECT_EQ(oldest.run_id, run);
  EXPECT_EQ(oldest.report, valid->report);
  EXPECT_EQ(ToJson(oldest)["session_id"], nullptr);
  EXPECT_EQ(ListToolGapReports(**db, 1, 1)->at(0).id, ids->first);
}

}  // namespace
}  // namespace steward::tools
