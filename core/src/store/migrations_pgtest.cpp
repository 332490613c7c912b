#include "store/migrations.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "common/testing/pg_test_database.hpp"

namespace steward::store {
namespace {

class MigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::Connect(pg_.url(), 4);
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
  }

  template <class T = int>
  T Query(const std::string& sql) {
    auto r = db_->Read([&](pqxx::read_transaction& tx) { return tx.exec1(sql)[0].as<T>(); });
    EXPECT_TRUE(r.ok()) << sql << ": " << r.error().ToString();
    return r.ok() ? *r : T{};
  }

  testing::PgTestDatabase pg_;
  std::unique_ptr<Database> db_;
};

const Migration kTwo[] = {
    {1, "first", "CREATE TABLE a (id int PRIMARY KEY);", "c1"},
    {2, "second", "CREATE TABLE b (id int PRIMARY KEY); INSERT INTO b VALUES (1), (2);", "c2"},
};

TEST_F(MigrationsTest, AppliesTheEmbeddedMigrationsToAFreshDatabase) {
  ASSERT_EQ(*SchemaVersion(*db_), 0);
  Status s = ApplyMigrations(*db_);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  const auto embedded = EmbeddedMigrations();
  EXPECT_EQ(*SchemaVersion(*db_), embedded.back().version);
  EXPECT_EQ(Query("SELECT count(*) FROM schema_migration"), static_cast<int>(embedded.size()));
  EXPECT_EQ(Query("SELECT count(*) FROM chat_session"), 0) << "0001_chat created its tables";
  // The embedded checksum is the SHA-256 of exactly the SQL that was run.
  for (const Migration& m : embedded) {
    auto same = db_->Read([&](pqxx::read_transaction& tx) {
      return tx.exec_params1("SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex') = $2", std::string(m.sql),
                             std::string(m.checksum))[0].as<bool>();
    });
    ASSERT_TRUE(same.ok());
    EXPECT_TRUE(*same) << m.name;
  }
}

TEST_F(MigrationsTest, SecondApplyIsANoOp) {
  ASSERT_TRUE(ApplyMigrations(*db_, kTwo).ok());
  const auto applied_at = Query<std::string>("SELECT max(applied_at)::text FROM schema_migration");
  Status again = ApplyMigrations(*db_, kTwo);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(Query("SELECT count(*) FROM b"), 2) << "the INSERT did not run twice";
  EXPECT_EQ(Query<std::string>("SELECT max(applied_at)::text FROM schema_migration"), applied_at);
}

TEST_F(MigrationsTest, AppliesOnlyThePendingOnes) {
  ASSERT_TRUE(ApplyMigrations(*db_, std::span(kTwo, 1)).ok());
  EXPECT_EQ(*SchemaVersion(*db_), 1);
  ASSERT_TRUE(ApplyMigrations(*db_, kTwo).ok());
  EXPECT_EQ(*SchemaVersion(*db_), 2);
  EXPECT_EQ(Query("SELECT count(*) FROM b"), 2);
}

TEST_F(MigrationsTest, RefusesAMigrationChangedAfterItWasApplied) {
  ASSERT_TRUE(ApplyMigrations(*db_, kTwo).ok());
  const Migration edited[] = {kTwo[0], {2, "second", "CREATE TABLE b (id bigint);", "c2-edited"}};
  Status s = ApplyMigrations(*db_, edited);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kConflict);
  EXPECT_NE(s.error().message.find("0002_second was changed"), std::string::npos) << s.error().message;
}

TEST_F(MigrationsTest, RefusesADatabaseNewerThanTheBinary) {
  ASSERT_TRUE(ApplyMigrations(*db_, kTwo).ok());
  Status s = ApplyMigrations(*db_, std::span(kTwo, 1));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kConflict);
  EXPECT_NE(s.error().message.find("0002_second"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("only knows migrations up to 1"), std::string::npos) << s.error().message;
}

TEST_F(MigrationsTest, AFailingMigrationLeavesNoTraceAndNamesItself) {
  const Migration broken[] = {kTwo[0], {2, "broken", "CREATE TABLE c (id int); SELECT * FROM nowhere;", "c3"}};
  Status s = ApplyMigrations(*db_, broken);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().context, "migration 0002_broken");
  EXPECT_NE(s.error().message.find("nowhere"), std::string::npos) << s.error().message;
  EXPECT_EQ(*SchemaVersion(*db_), 1) << "the first migration stays applied";
  EXPECT_FALSE(Query<bool>("SELECT to_regclass('c') IS NOT NULL")) << "the failed one was rolled back";
}

TEST_F(MigrationsTest, ConcurrentAppliersApplyEachMigrationOnce) {
  // Not idempotent on purpose: a second run would fail on the existing table.
  const Migration slow[] = {
      {1, "slow", "CREATE TABLE runs (n int); INSERT INTO runs VALUES (1); SELECT pg_sleep(0.2);", "s1"},
      {2, "more", "INSERT INTO runs VALUES (2);", "s2"},
  };
  std::vector<std::thread> threads;
  std::vector<Status> results(4);
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = ApplyMigrations(*db_, slow); });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(Query("SELECT count(*) FROM runs"), 2);
  EXPECT_EQ(Query("SELECT count(*) FROM schema_migration"), 2);
}

}  // namespace
}  // namespace steward::store
