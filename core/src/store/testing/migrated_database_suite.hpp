#pragma once
// The fixture most *_pgtest suites start from: a throwaway database (PgTestDatabase) with every
// migration applied and a pool of kConnections to it, created once per suite (one per test would
// cost a second each) and shared by its tests as `db_` (`pg_` for its URL). A suite with more to
// set up calls these from its own SetUpTestSuite / TearDownTestSuite.

#include <gtest/gtest.h>

#include "common/testing/pg_test_database.hpp"
#include "store/database.hpp"
#include "store/migrations.hpp"

namespace steward::testing {

template <int kConnections = 4>
class MigratedDatabaseSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pg_ = new PgTestDatabase();
    auto db = store::Database::Connect(pg_->url(), kConnections);
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = db->release();
    const Status migrated = store::ApplyMigrations(*db_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().ToString();
  }
  static void TearDownTestSuite() {
    delete db_;
    db_ = nullptr;
    delete pg_;
    pg_ = nullptr;
  }

  static inline PgTestDatabase* pg_ = nullptr;
  static inline store::Database* db_ = nullptr;
};

}  // namespace steward::testing
