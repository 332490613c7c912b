#include "store/database.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "common/testing/pg_test_database.hpp"

namespace steward::store {
namespace {

using namespace std::chrono_literals;

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = Open(3);
    ASSERT_TRUE(db_.ok()) << db_.error().ToString();
    Status s = (*db_)->Transact([](pqxx::work& tx) {
      tx.exec("CREATE TABLE parent (id int PRIMARY KEY)");
      tx.exec("CREATE TABLE item (id int PRIMARY KEY, qty int CHECK (qty >= 0), "
              "parent_id int REFERENCES parent(id))");
      tx.exec("CREATE TABLE counter (n int NOT NULL)");
      tx.exec("INSERT INTO counter VALUES (0)");
    });
    ASSERT_TRUE(s.ok()) << s.error().ToString();
  }

  Result<std::unique_ptr<Database>> Open(int pool, std::chrono::milliseconds timeout = 10s) {
    return Database::Connect(pg_.url(), pool, timeout);
  }
  Database& db() { return **db_; }

  int CountItems() {
    Result<int> n = db().Read([](pqxx::read_transaction& tx) { return tx.exec1("SELECT count(*) FROM item")[0].as<int>(); });
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : -1;
  }

  // Kills the server process behind every connection to the test database but ours.
  void TerminateOtherBackends() {
    pqxx::connection admin(pg_.url());
    pqxx::nontransaction tx(admin);
    tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()");
  }

  testing::PgTestDatabase pg_;
  Result<std::unique_ptr<Database>> db_ = MakeError(ErrorCode::kInternal, "not connected");
};

TEST_F(DatabaseTest, CommitsWhatTheCallbackWrote) {
  ASSERT_TRUE(db().Transact([](pqxx::work& tx) { tx.exec("INSERT INTO item VALUES (1, 5, NULL)"); }).ok());
  EXPECT_EQ(CountItems(), 1);
}

TEST_F(DatabaseTest, RollsBackAndPassesThroughAnErrorReturnedByTheCallback) {
  Status s = db().Transact([](pqxx::work& tx) -> Status {
    tx.exec("INSERT INTO item VALUES (1, 5, NULL)");
    return MakeError(ErrorCode::kNotFound, "no such thing", "here");
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(s.error().ToString(), "here: no such thing");
  EXPECT_EQ(CountItems(), 0);

  Result<int> r = db().Transact([](pqxx::work& tx) -> Result<int> {
    tx.exec("INSERT INTO item VALUES (2, 5, NULL)");
    return MakeError(ErrorCode::kConflict, "changed");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_EQ(CountItems(), 0);
}

TEST_F(DatabaseTest, RollsBackWhenTheCallbackThrows) {
  Status s = db().Transact([](pqxx::work& tx) {
    tx.exec("INSERT INTO item VALUES (1, 5, NULL)");
    throw std::runtime_error("boom");
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInternal);
  EXPECT_EQ(s.error().message, "boom");
  EXPECT_EQ(CountItems(), 0);
}

TEST_F(DatabaseTest, ReturnsTheCallbacksValue) {
  Result<std::string> r = db().Read([](pqxx::read_transaction& tx) { return tx.exec1("SELECT 'hi'")[0].as<std::string>(); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "hi");
  Result<int> r2 = db().Transact([](pqxx::work& tx) -> Result<int> { return tx.exec1("SELECT 41 + 1")[0].as<int>(); });
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(*r2, 42);
}

TEST_F(DatabaseTest, ReadTransactionsCannotWrite) {
  Status s = db().Read([](pqxx::read_transaction& tx) { tx.exec("INSERT INTO item VALUES (1, 5, NULL)"); });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("read-only"), std::string::npos) << s.error().message;
}

TEST_F(DatabaseTest, MapsUniqueViolationToConflictNamingTheConstraint) {
  ASSERT_TRUE(db().Transact([](pqxx::work& tx) { tx.exec("INSERT INTO item VALUES (1, 5, NULL)"); }).ok());
  Status s = db().Transact([](pqxx::work& tx) { tx.exec("INSERT INTO item VALUES (1, 6, NULL)"); });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kConflict);
  EXPECT_EQ(s.error().context, "item_pkey");
  EXPECT_NE(s.error().message.find("duplicate key"), std::string::npos) << s.error().message;
  EXPECT_EQ(s.error().message.find('\n'), std::string::npos) << "messages are one line";
}

TEST_F(DatabaseTest, MapsCheckForeignKeyAndNotNullViolationsToInvalidArgument) {
  struct Case {
    const char* sql;
    const char* context;
  };
  for (const Case& c : {Case{"INSERT INTO item VALUES (1, -1, NULL)", "item_qty_check"},
                        Case{"INSERT INTO item VALUES (1, 1, 99)", "item_parent_id_fkey"},
                        Case{"INSERT INTO counter VALUES (NULL)", "n"}}) {
    Status s = db().Transact([&](pqxx::work& tx) { tx.exec(c.sql); });
    ASSERT_FALSE(s.ok()) << c.sql;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument) << c.sql;
    EXPECT_EQ(s.error().context, c.context) << s.error().message;
  }
}

TEST_F(DatabaseTest, MapsBadInputAndBugsToDistinctCodes) {
  Status bad_input = db().Transact([](pqxx::work& tx) { tx.exec("SELECT 'not-a-uuid'::uuid"); });
  ASSERT_FALSE(bad_input.ok());
  EXPECT_EQ(bad_input.error().code, ErrorCode::kInvalidArgument);
  Status bug = db().Transact([](pqxx::work& tx) { tx.exec("SELECT * FROM no_such_table"); });
  ASSERT_FALSE(bug.ok());
  EXPECT_EQ(bug.error().code, ErrorCode::kInternal);
  EXPECT_NE(bug.error().message.find("no_such_table"), std::string::npos);
}

TEST_F(DatabaseTest, ServesConcurrentTransactionsFromSeveralThreads) {
  constexpr int kThreads = 8;
  constexpr int kIncrements = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        if (!db().Transact([](pqxx::work& tx) { tx.exec("UPDATE counter SET n = n + 1"); }).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  Result<int> n = db().Read([](pqxx::read_transaction& tx) { return tx.exec1("SELECT n FROM counter")[0].as<int>(); });
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, kThreads * kIncrements);
}

TEST_F(DatabaseTest, CheckoutTimesOutWhenEveryConnectionIsBusy) {
  auto small = Open(1, 200ms);
  ASSERT_TRUE(small.ok());
  std::promise<void> holding;
  std::promise<void> release;
  std::thread holder([&] {
    Status s = (*small)->Transact([&](pqxx::work&) {
      holding.set_value();
      release.get_future().wait();
    });
    EXPECT_TRUE(s.ok());
  });
  holding.get_future().wait();
  Status s = (*small)->Transact([](pqxx::work&) {});
  release.set_value();
  holder.join();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE((*small)->Transact([](pqxx::work&) {}).ok()) << "the connection was returned";
}

TEST_F(DatabaseTest, RetriesSerializationFailures) {
  ASSERT_TRUE(db().Transact([](pqxx::work& tx) { tx.exec("INSERT INTO item VALUES (1, 0, NULL)"); }).ok());
  int attempts = 0;
  Status s = db().Transact([&](pqxx::work& tx) {
    ++attempts;
    tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    tx.exec("SELECT qty FROM item WHERE id = 1");  // takes the snapshot
    if (attempts == 1) {
      pqxx::connection other(pg_.url());
      pqxx::work w(other);
      w.exec("UPDATE item SET qty = qty + 10 WHERE id = 1");
      w.commit();
    }
    tx.exec("UPDATE item SET qty = qty + 1 WHERE id = 1");  // fails on the first attempt
  });
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(attempts, 2);
  Result<int> qty = db().Read([](pqxx::read_transaction& tx) { return tx.exec1("SELECT qty FROM item")[0].as<int>(); });
  EXPECT_EQ(*qty, 11);
}

TEST_F(DatabaseTest, GivesUpWithConflictAfterThreeRetries) {
  int attempts = 0;
  Status s = db().Transact([&](pqxx::work&) {
    ++attempts;
    throw pqxx::serialization_failure("could not serialize access");
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kConflict);
  EXPECT_EQ(attempts, 4);
}

TEST_F(DatabaseTest, ReconnectsAfterItsBackendIsTerminated) {
  auto single = Open(1);
  ASSERT_TRUE(single.ok());
  Database& one = **single;
  ASSERT_TRUE(one.Prepare("get_n", "SELECT n FROM counter").ok());
  auto backend = [&] { return one.Read([](pqxx::read_transaction& tx) { return tx.exec1("SELECT pg_backend_pid()")[0].as<int>(); }); };
  Result<int> before = backend();
  ASSERT_TRUE(before.ok());

  TerminateOtherBackends();

  // Nothing had begun on the dead connection, so the caller never sees the loss.
  Result<int> after = backend();
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  EXPECT_NE(*after, *before);
  Result<int> n = one.Read([](pqxx::read_transaction& tx) { return tx.exec_prepared1("get_n")[0].as<int>(); });
  ASSERT_TRUE(n.ok()) << n.error().ToString();
  EXPECT_EQ(*n, 0);
}

TEST_F(DatabaseTest, AutocommitCommitsEachStatementOnItsOwn) {
  Result<bool> in_block = db().Autocommit([](pqxx::nontransaction& tx) {
    // Inside BEGIN ... COMMIT, now() is when the block began, before this statement.
    return tx.exec1("SELECT now() = statement_timestamp()")[0].as<bool>();
  });
  ASSERT_TRUE(in_block.ok()) << in_block.error().ToString();
  EXPECT_TRUE(*in_block) << "no transaction block around the statement";

  Status s = db().Autocommit([](pqxx::nontransaction& tx) -> Status {
    tx.exec("INSERT INTO item VALUES (1, 5, NULL)");
    return MakeError(ErrorCode::kNotFound, "after the statement");
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(CountItems(), 1) << "an error returned after a statement does not undo it";

  Status dup = db().Autocommit([](pqxx::nontransaction& tx) { tx.exec("INSERT INTO item VALUES (1, 5, NULL)"); });
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
}

TEST_F(DatabaseTest, AutocommitReplacesAConnectionThatDiedWhileIdle) {
  auto single = Open(1);
  ASSERT_TRUE(single.ok());
  Database& one = **single;
  auto backend = [&] {
    return one.Autocommit([](pqxx::nontransaction& tx) { return tx.exec1("SELECT pg_backend_pid()")[0].as<int>(); });
  };
  Result<int> before = backend();
  ASSERT_TRUE(before.ok());

  TerminateOtherBackends();
  std::this_thread::sleep_for(100ms);  // the server has closed the socket

  // No BEGIN finds the dead connection here; the statement must still not be sent on it.
  Result<int> after = backend();
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  EXPECT_NE(*after, *before);
}

TEST_F(DatabaseTest, ConnectionLostMidTransactionIsUnavailableAndTheSlotRecovers) {
  auto single = Open(1);
  ASSERT_TRUE(single.ok());
  Database& one = **single;
  ASSERT_TRUE(one.Prepare("get_n", "SELECT n FROM counter").ok());
  Status s = one.Transact([](pqxx::work& tx) {
    tx.exec("UPDATE counter SET n = 100");
    tx.exec("SELECT pg_terminate_backend(pg_backend_pid())");
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable) << s.error().ToString();

  Result<int> n = one.Read([](pqxx::read_transaction& tx) { return tx.exec_prepared1("get_n")[0].as<int>(); });
  ASSERT_TRUE(n.ok()) << n.error().ToString();
  EXPECT_EQ(*n, 0) << "the interrupted transaction was rolled back";
}

TEST_F(DatabaseTest, RecoversEveryIdleConnectionAfterAllBackendsDie) {
  ASSERT_TRUE(db().Prepare("get_n", "SELECT n FROM counter").ok());
  TerminateOtherBackends();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        Status s = db().Read([](pqxx::read_transaction& tx) { tx.exec_prepared1("get_n"); });
        if (!s.ok()) {
          ADD_FAILURE() << s.error().ToString();
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(DatabaseTest, PreparedStatementsWorkOnEveryPooledConnection) {
  ASSERT_TRUE(db().Prepare("add", "UPDATE counter SET n = n + $1").ok());
  ASSERT_TRUE(db().Prepare("add", "UPDATE counter SET n = n + $1").ok()) << "same SQL again is a no-op";
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (!db().Transact([](pqxx::work& tx) { tx.exec_prepared0("add", 2); }).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  Result<int> n = db().Read([](pqxx::read_transaction& tx) { return tx.exec1("SELECT n FROM counter")[0].as<int>(); });
  EXPECT_EQ(*n, 120);
}

TEST_F(DatabaseTest, PrepareRejectsBadSqlAndNameReuse) {
  Status bad = db().Prepare("bad", "SELEC nonsense");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().context, "bad");
  ASSERT_TRUE(db().Prepare("q", "SELECT 1").ok());
  Status reused = db().Prepare("q", "SELECT 2");
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code, ErrorCode::kInvalidArgument);
  // The rejected statement did not poison the pool.
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(db().Read([](pqxx::read_transaction& tx) { tx.exec_prepared("q"); }).ok());
}

TEST(DatabaseConnect, FailsWithoutLeakingThePassword) {
  auto db = Database::Connect("postgresql://postgres:topsecret@127.0.0.1:1/nope", 2);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(db.error().ToString().find("topsecret"), std::string::npos) << db.error().ToString();
  EXPECT_NE(db.error().context.find("postgres:***@127.0.0.1:1"), std::string::npos) << db.error().context;

  auto zero = Database::Connect(testing::PgTestDatabase::ServerUrl(), 0);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace steward::store
