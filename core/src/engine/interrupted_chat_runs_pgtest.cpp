#include "engine/interrupted_chat_runs.hpp"

#include <optional>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "engine/run_registry.hpp"
#include "engine/step_store.hpp"
#include "engine/workflow_engine.hpp"
#include "store/testing/migrated_database_suite.hpp"

namespace steward::engine {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

// One run row as the sweep leaves it.
struct RunRow {
  std::string status;
  json error;
  bool finished = false;
  std::optional<std::string> owner;
  bool leased = false;
};

class InterruptedChatRunsTest : public steward::testing::MigratedDatabaseSuite<> {
 protected:

  void SetUp() override { Exec("TRUNCATE run CASCADE"); }

  static void Exec(const std::string& sql) {
    pqxx::connection c(pg_->url());
    pqxx::work tx(c);
    tx.exec(sql);
    tx.commit();
  }

  // Inserts a run row. `owner` empty: none. `lease` relative to now (nullopt: no lease);
  // `started` how long ago it started.
  static std::string Insert(const std::string& kind, const std::string& status, const std::string& owner,
                            std::optional<std::chrono::milliseconds> lease, std::chrono::milliseconds started = 0ms) {
    const std::string id = NewUuid();
    pqxx::connection c(pg_->url());
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO run (id, kind, status, trace_id, owner, lease_until, started_at, finished_at, workflow) "
        "VALUES ($1::uuid, $2, $3, 'trace', NULLIF($4, ''), "
        "CASE WHEN $5 THEN now() + ($6 || ' milliseconds')::interval END, "
        "now() - ($7 || ' milliseconds')::interval, CASE WHEN $3 <> 'running' THEN now() END, "
        "CASE WHEN $2 = 'workflow' THEN 'w' END)",
        id, kind, status, owner, lease.has_value(), std::to_string(lease.value_or(0ms).count()),
        std::to_string(started.count()));
    tx.commit();
    return id;
  }

  static RunRow Load(const std::string& id) {
    pqxx::connection c(pg_->url());
    pqxx::read_transaction tx(c);
    const pqxx::row r = tx.exec_params1(
        "SELECT status, coalesce(error::text, 'null'), finished_at IS NOT NULL, owner, lease_until IS NOT NULL "
        "FROM run WHERE id = $1::uuid",
        id);
    RunRow row;
    row.status = r[0].as<std::string>();
    row.error = json::parse(r[1].as<std::string>());
    row.finished = r[2].as<bool>();
    if (!r[3].is_null()) row.owner = r[3].as<std::string>();
    row.leased = r[4].as<bool>();
    return row;
  }

  static std::vector<std::string> Sweep(const std::string& self = "sweeper") {
    auto ended = FailInterruptedChatRuns(*db_, self, 16);
    EXPECT_TRUE(ended.ok()) << ended.error().ToString();
    return ended.ok() ? *ended : std::vector<std::string>{};
  }

};

TEST_F(InterruptedChatRunsTest, FailsAChatRunWhoseLeaseExpiredAsInterrupted) {
  const std::string id = Insert("chat", "running", "dead-core", -1s, 20s);

  EXPECT_THAT(Sweep(), ElementsAre(id));

  const RunRow row = Load(id);
  EXPECT_EQ(row.status, "failed");
  EXPECT_EQ(row.error, InterruptedChatRunError());
  EXPECT_EQ(row.error["code"], "interrupted");
  EXPECT_TRUE(row.finished);
  EXPECT_FALSE(row.owner.has_value());
  EXPECT_FALSE(row.leased);
  EXPECT_THAT(Sweep(), IsEmpty()) << "a run is ended once";
}

TEST_F(InterruptedChatRunsTest, LeavesAChatRunWithALiveLeaseAlone) {
  const std::string id = Insert("chat", "running", "live-core", 10s, 20s);

  EXPECT_THAT(Sweep(), IsEmpty());

  const RunRow row = Load(id);
  EXPECT_EQ(row.status, "running");
  EXPECT_TRUE(row.error.is_null());
  EXPECT_FALSE(row.finished);
  EXPECT_EQ(row.owner, "live-core");
  EXPECT_TRUE(row.leased);
}

TEST_F(InterruptedChatRunsTest, LeavesFinishedChatRunsAlone) {
  const std::string succeeded = Insert("chat", "succeeded", "", std::nullopt, 2h);
  const std::string cancelled = Insert("chat", "cancelled", "", std::nullopt, 2h);
  // Even one whose owner and lease were left behind.
  const std::string failed = Insert("chat", "failed", "dead-core", -1s, 2h);

  EXPECT_THAT(Sweep(), IsEmpty());

  EXPECT_EQ(Load(succeeded).status, "succeeded");
  EXPECT_TRUE(Load(succeeded).error.is_null());
  EXPECT_EQ(Load(cancelled).status, "cancelled");
  EXPECT_EQ(Load(failed).status, "failed");
  EXPECT_TRUE(Load(failed).error.is_null());
}

TEST_F(InterruptedChatRunsTest, LeavesItsOwnProcesssRunsAloneWhateverTheirLease) {
  // This process is alive (it is sweeping): a lease it was late to renew does not end its turn.
  const std::string id = Insert("chat", "running", "sweeper", -1s, 20s);

  EXPECT_THAT(Sweep("sweeper"), IsEmpty());
  EXPECT_EQ(Load(id).status, "running");
}

TEST_F(InterruptedChatRunsTest, EndsOwnerlessChatRunsOnlyOnceOlderThanAnyTurn) {
  const std::string old_run = Insert("chat", "running", "", std::nullopt, kOwnerlessChatRunGrace + 1min);
  const std::string recent = Insert("chat", "running", "", std::nullopt, 1min);

  EXPECT_THAT(Sweep(), ElementsAre(old_run));

  EXPECT_EQ(Load(old_run).status, "failed");
  EXPECT_EQ(Load(old_run).error, InterruptedChatRunError());
  EXPECT_EQ(Load(recent).status, "running");
}

TEST_F(InterruptedChatRunsTest, LeavesWorkflowAndAgentRunsToTheirOwnRecovery) {
  const std::string workflow = Insert("workflow", "running", "dead-core", -1s, 2h);
  const std::string agent = Insert("agent", "running", "", std::nullopt, 2h);

  EXPECT_THAT(Sweep(), IsEmpty());
  EXPECT_EQ(Load(workflow).status, "running");
  EXPECT_EQ(Load(agent).status, "running");
}

TEST_F(InterruptedChatRunsTest, EndsTheOldestFirstAtMostLimitAtATime) {
  const std::string newer = Insert("chat", "running", "dead-core", -1s, 10s);
  const std::string older = Insert("chat", "running", "dead-core", -1s, 30s);

  auto first = FailInterruptedChatRuns(*db_, "sweeper", 1);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_THAT(*first, ElementsAre(older));
  EXPECT_THAT(Sweep(), ElementsAre(newer));
}

TEST_F(InterruptedChatRunsTest, TheOwnersLeaseRenewalKeepsItsChatRunsFromOtherProcessesSweeps) {
  // The lease ran out, but its owner is alive and renews it (RunLease calls RenewLeases).
  const std::string id = Insert("chat", "running", "core-a", -1s, 20s);
  StepStore owner(*db_, "core-a", 10s);

  auto renewed = owner.RenewLeases();
  ASSERT_TRUE(renewed.ok()) << renewed.error().ToString();
  EXPECT_EQ(*renewed, 1);

  EXPECT_THAT(Sweep("core-b"), IsEmpty());
  EXPECT_EQ(Load(id).status, "running");
  EXPECT_EQ(Load(id).owner, "core-a");
}

TEST_F(InterruptedChatRunsTest, GracefulStopReleasesWorkflowLeasesButNotChatLeases) {
  // A released chat run would be ended by another process's sweep while this one still records
  // its real end (cancelled) during the shutdown.
  const std::string chat = Insert("chat", "running", "core-a", 10s);
  const std::string workflow = Insert("workflow", "running", "core-a", 10s);
  StepStore owner(*db_, "core-a", 10s);

  ASSERT_TRUE(owner.ReleaseAll().ok());

  EXPECT_THAT(Sweep("core-b"), IsEmpty());
  EXPECT_EQ(Load(chat).status, "running");
  pqxx::connection c(pg_->url());
  pqxx::read_transaction tx(c);
  EXPECT_TRUE(tx.exec_params1("SELECT lease_until > now() FROM run WHERE id = $1::uuid", chat)[0].as<bool>());
  EXPECT_FALSE(tx.exec_params1("SELECT lease_until > now() FROM run WHERE id = $1::uuid", workflow)[0].as<bool>());
}

TEST_F(InterruptedChatRunsTest, TheWorkflowEngineEndsInterruptedChatRunsAtStartAndOnEachAdoptionPass) {
  const std::string at_start = Insert("chat", "running", "dead-core", -1s, 20s);
  const std::string later = Insert("chat", "running", "dying-core", 300ms, 20s);
  RunRegistry runs;
  WorkflowEngineOptions options;
  options.owner_id = "engine-core";
  options.adopt_interval = 50ms;
  WorkflowEngine engine(*db_, runs, nullptr, nullptr, nullptr, std::move(options));

  ASSERT_TRUE(engine.Start().ok());
  EXPECT_EQ(Load(at_start).status, "failed");
  EXPECT_EQ(Load(at_start).error, InterruptedChatRunError());

  for (int i = 0; i < 200 && Load(later).status == "running"; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(Load(later).status, "failed");
  EXPECT_EQ(Load(later).error, InterruptedChatRunError());
  engine.Stop();
}

}  // namespace
}  // namespace steward::engine
