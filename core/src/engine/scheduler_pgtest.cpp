#include "engine/scheduler.hpp"

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <date/date.h>
#include <gtest/gtest.h>

#include "common/testing/pg_test_database.hpp"
#include "store/migrations.hpp"

namespace steward::engine {
namespace {

using namespace std::chrono_literals;
using std::chrono::seconds;
using std::chrono::sys_seconds;
using std::chrono::system_clock;

sys_seconds Utc(const std::string& text) {
  std::istringstream in(text);
  sys_seconds t;
  in >> date::parse("%FT%TZ", t);
  return t;
}

ScheduledWorkflow Schedule(const std::string& name, const std::string& cron, MissedRunPolicy missed,
                           int max_catch_up = 1) {
  auto parsed = CronExpression::Parse(cron, "UTC");
  EXPECT_TRUE(parsed.ok());
  return ScheduledWorkflow{name, std::move(*parsed), missed, max_catch_up};
}

// Records every start; thread-safe. `fail` makes the next starts fail with that error.
struct Starter {
  std::mutex mu;
  std::vector<ScheduledFire> fires;
  std::vector<Error> fail;

  StartScheduledRun Fn() {
    return [this](const ScheduledFire& fire) -> Result<std::string> {
      std::lock_guard<std::mutex> lock(mu);
      if (!fail.empty()) {
        Error e = fail.front();
        fail.erase(fail.begin());
        return e;
      }
      fires.push_back(fire);
      return fire.run_id;
    };
  }
  std::vector<ScheduledFire> Fires() {
    std::lock_guard<std::mutex> lock(mu);
    return fires;
  }
};

struct FireRow {
  sys_seconds fire_at;
  std::string status;
  std::string run_id;
  std::string fired_by;
  bool catch_up = false;
  int attempts = 0;
};

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = std::make_unique<steward::testing::PgTestDatabase>();
    db_ = Connect();
    Status migrated = store::ApplyMigrations(*db_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().ToString();
  }
  void TearDown() override {
    db_.reset();
    pg_.reset();
  }

  std::unique_ptr<store::Database> Connect() {
    auto db = store::Database::Connect(pg_->url(), 3);
    EXPECT_TRUE(db.ok()) << db.error().ToString();
    return std::move(*db);
  }

  std::vector<FireRow> Rows(const std::string& workflow) {
    auto rows = db_->Read([&](pqxx::read_transaction& tx) {
      std::vector<FireRow> out;
      for (const auto& r : tx.exec_params(
               "SELECT extract(epoch FROM fire_at)::bigint, status, run_id::text, fired_by, catch_up, attempts "
               "FROM schedule_fire WHERE workflow = $1 ORDER BY fire_at",
               workflow)) {
        out.push_back(FireRow{sys_seconds{seconds{r[0].as<long long>()}}, r[1].as<std::string>(),
                              r[2].as<std::string>(), r[3].as<std::string>(), r[4].as<bool>(), r[5].as<int>()});
      }
      return out;
    });
    EXPECT_TRUE(rows.ok()) << rows.error().ToString();
    return rows.ok() ? *rows : std::vector<FireRow>{};
  }

  void Exec(const std::string& sql) {
    Status s = db_->Transact([&](pqxx::work& tx) { tx.exec(sql); });
    ASSERT_TRUE(s.ok()) << s.error().ToString();
  }

  std::unique_ptr<steward::testing::PgTestDatabase> pg_;
  std::unique_ptr<store::Database> db_;
};

// The done-when of issue 5 in miniature: two schedulers (each with its own connection pool, as
// two processes would have) race over a seconds-level schedule; every tick fires exactly once.
TEST_F(SchedulerTest, TwoSchedulersFireEachTickExactlyOnce) {
  auto db_b = Connect();
  Starter starter;
  auto make = [&](store::Database& db, const std::string& owner) {
    SchedulerOptions o;
    // catch_up: a tick both threads slept through on a loaded machine still fires (late).
    o.schedules.push_back(Schedule("every_second", "* * * * * *", MissedRunPolicy::kCatchUp, 10));
    o.schedules.push_back(Schedule("every_two", "*/2 * * * * *", MissedRunPolicy::kSkip));
    o.owner_id = owner;
    return std::make_unique<Scheduler>(db, std::move(o), starter.Fn());
  };
  auto a = make(*db_, "proc-a");
  auto b = make(*db_b, "proc-b");
  const auto begin = std::chrono::floor<seconds>(system_clock::now());
  ASSERT_TRUE(a->Start().ok());
  ASSERT_TRUE(b->Start().ok());
  std::this_thread::sleep_for(8500ms);
  a->Stop();
  b->Stop();
  const auto end = std::chrono::floor<seconds>(system_clock::now());

  const auto rows = Rows("every_second");
  ASSERT_GE(rows.size(), 6u);
  std::set<std::string> run_ids;
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].status, "started") << i;
    EXPECT_EQ(rows[i].attempts, 1);
    EXPECT_GT(rows[i].fire_at, begin);
    EXPECT_LE(rows[i].fire_at, end);
    if (i > 0) EXPECT_EQ(rows[i].fire_at - rows[i - 1].fire_at, 1s) << "a gap or a repeat at row " << i;
    run_ids.insert(rows[i].run_id);
  }
  EXPECT_EQ(run_ids.size(), rows.size());
  std::map<std::string, int> by_owner;
  for (const auto& r : rows) ++by_owner[r.fired_by];
  std::cout << rows.size() << " ticks: proc-a claimed " << by_owner["proc-a"] << ", proc-b " << by_owner["proc-b"]
            << "\n";

  // Exactly one start per claimed tick, whichever process claimed it.
  std::map<std::string, std::multiset<long long>> started;
  for (const auto& f : starter.Fires()) started[f.workflow].insert(f.fire_at.time_since_epoch().count());
  ASSERT_EQ(started["every_second"].size(), rows.size());
  for (const auto& r : rows) EXPECT_EQ(started["every_second"].count(r.fire_at.time_since_epoch().count()), 1u);

  const auto even = Rows("every_two");
  ASSERT_GE(even.size(), 3u);
  // (skip policy: a tick both threads slept through would be dropped, so no gap check here)
  for (const auto& r : even) EXPECT_EQ(r.fire_at.time_since_epoch().count() % 2, 0);
  EXPECT_EQ(started["every_two"].size(), even.size());
}

// Many passes of two schedulers at the same simulated instants, interleaved from two threads:
// the claim, not the timing, decides who fires.
TEST_F(SchedulerTest, ConcurrentPassesAtTheSameInstantsClaimOnce) {
  auto db_b = Connect();
  Starter starter;
  auto make = [&](store::Database& db, const std::string& owner) {
    SchedulerOptions o;
    o.schedules.push_back(Schedule("tick", "* * * * * *", MissedRunPolicy::kSkip));
    o.owner_id = owner;
    return std::make_unique<Scheduler>(db, std::move(o), starter.Fn());
  };
  auto a = make(*db_, "a");
  auto b = make(*db_b, "b");
  const sys_seconds t0 = Utc("2030-01-01T00:00:00Z");
  ASSERT_TRUE(a->RunPass(t0, false).ok());
  ASSERT_TRUE(b->RunPass(t0, false).ok());
  std::atomic<int> won_a{0};
  std::atomic<int> won_b{0};
  constexpr int kTicks = 200;
  auto drive = [&](Scheduler& s, std::atomic<int>& won) {
    for (int i = 1; i <= kTicks; ++i) {
      auto r = s.RunPass(t0 + seconds{i} + 5ms, false);
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      won += *r;
    }
  };
  std::thread ta([&] { drive(*a, won_a); });
  std::thread tb([&] { drive(*b, won_b); });
  ta.join();
  tb.join();
  EXPECT_EQ(won_a + won_b, kTicks);
  const auto rows = Rows("tick");
  ASSERT_EQ(rows.size(), static_cast<size_t>(kTicks));
  for (int i = 0; i < kTicks; ++i) EXPECT_EQ(rows[i].fire_at, t0 + seconds{i + 1});
  EXPECT_EQ(starter.Fires().size(), static_cast<size_t>(kTicks));
}

TEST_F(SchedulerTest, SkipPolicyFiresOnlyTheOnTimeTick) {
  Starter starter;
  SchedulerOptions o;
  o.schedules.push_back(Schedule("w", "0 * * * * *", MissedRunPolicy::kSkip));  // every minute
  o.grace = 5s;
  Scheduler s(*db_, std::move(o), starter.Fn());
  const sys_seconds t0 = Utc("2030-01-01T00:00:00Z");
  ASSERT_TRUE(s.RunPass(t0, false).ok());  // loads: last tick = now
  // Down for 3.5 minutes: 01:00, 02:00, 03:00 are due; 03:00 is 30 s late (> grace): none fire.
  auto r = s.RunPass(t0 + 3min + 30s, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0);
  EXPECT_TRUE(Rows("w").empty());
  // Back in rhythm: 04:00 seen 2 s late fires.
  r = s.RunPass(t0 + 4min + 2s, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 1);
  // A stall over two ticks: 05:00 missed, 06:00 on time.
  r = s.RunPass(t0 + 6min + 1s, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 1);
  const auto rows = Rows("w");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fire_at, t0 + 4min);
  EXPECT_EQ(rows[1].fire_at, t0 + 6min);
  EXPECT_FALSE(rows[1].catch_up);
}

TEST_F(SchedulerTest, CatchUpRunsTheNewestMissedTicksOldestFirst) {
  Starter starter;
  SchedulerOptions o;
  o.schedules.push_back(Schedule("w", "0 * * * * *", MissedRunPolicy::kCatchUp, 2));
  o.grace = 5s;
  Scheduler s(*db_, std::move(o), starter.Fn());
  const sys_seconds t0 = Utc("2030-01-01T00:00:00Z");
  ASSERT_TRUE(s.RunPass(t0, false).ok());
  // 01:00..05:00 missed (05:00 is 30 s late): the newest two, 04:00 then 05:00.
  auto r = s.RunPass(t0 + 5min + 30s, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 2);
  // 06:00 and 07:00 missed, 08:00 on time: two caught up plus the on-time one.
  r = s.RunPass(t0 + 8min + 1s, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 3);
  const auto fires = starter.Fires();
  ASSERT_EQ(fires.size(), 5u);
  const std::vector<sys_seconds> want = {t0 + 4min, t0 + 5min, t0 + 6min, t0 + 7min, t0 + 8min};
  const std::vector<bool> want_catch_up = {true, true, true, true, false};
  for (size_t i = 0; i < fires.size(); ++i) {
    EXPECT_EQ(fires[i].fire_at, want[i]) << i;
    EXPECT_EQ(fires[i].catch_up, want_catch_up[i]) << i;
  }
  const auto rows = Rows("w");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_TRUE(rows[0].catch_up);
  EXPECT_FALSE(rows[4].catch_up);
}

TEST_F(SchedulerTest, RestartCatchesUpFromTheRecordedLastTick) {
  const sys_seconds t0 = Utc("2030-01-01T00:00:00Z");
  {
    Starter starter;
    SchedulerOptions o;
    o.schedules.push_back(Schedule("w", "0 * * * * *", MissedRunPolicy::kCatchUp, 10));
    Scheduler s(*db_, std::move(o), starter.Fn());
    ASSERT_TRUE(s.RunPass(t0, false).ok());
    ASSERT_TRUE(s.RunPass(t0 + 1min + 1s, false).ok());
    ASSERT_EQ(starter.Fires().size(), 1u);
  }
  // "Restarted" 3 minutes later: 02:00 and 03:00 were missed, 04:00 is on time.
  Starter starter;
  SchedulerOptions o;
  o.schedules.push_back(Schedule("w", "0 * * * * *", MissedRunPolicy::kCatchUp, 10));
  o.grace = 5s;
  Scheduler s(*db_, std::move(o), starter.Fn());
  auto r = s.RunPass(t0 + 4min + 1s, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 3);
  ASSERT_EQ(Rows("w").size(), 4u);

  // A changed expression starts afresh: nothing to catch up.
  Starter other;
  SchedulerOptions changed;
  changed.schedules.push_back(Schedule("w", "30 * * * * *", MissedRunPolicy::kCatchUp, 10));
  changed.grace = 5s;
  Scheduler s2(*db_, std::move(changed), other.Fn());
  r = s2.RunPass(t0 + 9min + 31s, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0);
  r = s2.RunPass(t0 + 10min + 31s, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 1);
}

TEST_F(SchedulerTest, ClockJumpingBackFiresNothingTwice) {
  Starter starter;
  SchedulerOptions o;
  o.schedules.push_back(Schedule("w", "* * * * * *", MissedRunPolicy::kCatchUp, 100));
  Scheduler s(*db_, std::move(o), starter.Fn());
  const sys_seconds t0 = Utc("2030-01-01T00:00:00Z");
  ASSERT_TRUE(s.RunPass(t0, false).ok());
  ASSERT_TRUE(s.RunPass(t0 + 10s, false).ok());
  EXPECT_EQ(starter.Fires().size(), 10u);
  auto r = s.RunPass(t0 + 4s, false);  // the wall clock went back 6 s
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0);
  r = s.RunPass(t0 + 11s, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 1);
  EXPECT_EQ(Rows("w").size(), 11u);
}

// A process claimed a tick and died before starting its run: once the claim's lease expires,
// another process starts it, with the run id the claim recorded.
TEST_F(SchedulerTest, ClaimedButUnstartedFireIsStartedByAnotherProcess) {
  Exec("INSERT INTO schedule_fire (workflow, fire_at, status, run_id, fired_by, lease_until) VALUES "
       "('w', '2030-01-01T00:00:07Z', 'claimed', 'aaaaaaaa-0000-4000-8000-000000000001', 'dead', now() - interval '1s'),"
       "('w', '2030-01-01T00:00:08Z', 'claimed', 'aaaaaaaa-0000-4000-8000-000000000002', 'dead', now() - interval '1s'),"
       "('w', '2030-01-01T00:00:09Z', 'claimed', 'aaaaaaaa-0000-4000-8000-000000000003', 'alive', now() + interval '1h'),"
       "('unknown', '2030-01-01T00:00:07Z', 'claimed', 'aaaaaaaa-0000-4000-8000-000000000004', 'dead', now() - interval '1s')");
  // The second one's run was started before its claimer died.
  Exec("INSERT INTO run (id, kind, status, trace_id, workflow) VALUES "
       "('aaaaaaaa-0000-4000-8000-000000000002', 'workflow', 'running', 'trace', 'w')");
  Starter starter;
  SchedulerOptions o;
  o.schedules.push_back(Schedule("w", "0 0 1 1 *", MissedRunPolicy::kSkip));
  o.owner_id = "rescuer";
  o.recovery_interval = 0ms;
  Scheduler s(*db_, std::move(o), starter.Fn());
  auto r = s.RunPass(system_clock::now(), true);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(*r, 1);
  const auto fires = starter.Fires();
  ASSERT_EQ(fires.size(), 1u);
  EXPECT_EQ(fires[0].run_id, "aaaaaaaa-0000-4000-8000-000000000001");
  EXPECT_EQ(fires[0].fire_at, Utc("2030-01-01T00:00:07Z"));
  const auto rows = Rows("w");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].status, "started");
  EXPECT_EQ(rows[0].fired_by, "rescuer");
  EXPECT_EQ(rows[0].attempts, 2);
  EXPECT_EQ(rows[1].status, "started");  // its run existed: not started again
  EXPECT_EQ(rows[2].status, "claimed");  // its claimer's lease still runs
  EXPECT_EQ(Rows("unknown")[0].status, "claimed");  // not configured here: left to a process that knows it
  // A second pass finds nothing more to do.
  r = s.RunPass(system_clock::now(), true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0);
}

TEST_F(SchedulerTest, FailedStartIsRetriedThenGivenUp) {
  Starter starter;
  starter.fail = {MakeError(ErrorCode::kUnavailable, "no workers"), MakeError(ErrorCode::kUnavailable, "no workers")};
  SchedulerOptions o;
  o.schedules.push_back(Schedule("w", "* * * * * *", MissedRunPolicy::kSkip));
  o.claim_lease = 50ms;  // retry quickly
  o.recovery_interval = 0ms;
  o.max_start_attempts = 5;
  Scheduler s(*db_, std::move(o), starter.Fn());
  const sys_seconds t0 = Utc("2030-01-01T00:00:00Z");
  ASSERT_TRUE(s.RunPass(t0, false).ok());
  ASSERT_TRUE(s.RunPass(t0 + 1s, false).ok());  // claims 00:01, start fails
  auto rows = Rows("w");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "claimed");
  for (int i = 0; i < 50 && Rows("w")[0].status != "started"; ++i) {
    std::this_thread::sleep_for(60ms);
    ASSERT_TRUE(s.RunPass(t0 + 1s, true).ok());
  }
  rows = Rows("w");
  EXPECT_EQ(rows[0].status, "started");
  EXPECT_EQ(rows[0].attempts, 3);
  EXPECT_EQ(starter.Fires().size(), 1u);

  // A start that cannot succeed (the workflow is gone) is marked failed at once.
  starter.fail = {MakeError(ErrorCode::kNotFound, "no workflow 'w'")};
  ASSERT_TRUE(s.RunPass(t0 + 2s, false).ok());
  rows = Rows("w");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].status, "failed");
}

TEST_F(SchedulerTest, StopWakesASleepingSchedulerPromptly) {
  Starter starter;
  SchedulerOptions o;
  o.schedules.push_back(Schedule("yearly", "0 0 1 1 *", MissedRunPolicy::kSkip));
  o.max_sleep = 60s;
  Scheduler s(*db_, std::move(o), starter.Fn());
  ASSERT_TRUE(s.Start().ok());
  std::this_thread::sleep_for(200ms);
  const auto t = std::chrono::steady_clock::now();
  s.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t, 500ms);
}

TEST_F(SchedulerTest, ListShowsNextAndLastFire) {
  Starter starter;
  SchedulerOptions o;
  o.schedules.push_back(Schedule("w", "0 * * * * *", MissedRunPolicy::kCatchUp, 3));
  const sys_seconds t0 = Utc("2030-01-01T00:00:00Z");
  o.clock = [t0] { return system_clock::time_point(t0 + 1min + 10s); };
  Scheduler s(*db_, std::move(o), starter.Fn());
  ASSERT_TRUE(s.RunPass(t0, false).ok());
  ASSERT_TRUE(s.RunPass(t0 + 1min + 1s, false).ok());
  auto list = s.List();
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  ASSERT_EQ(list->size(), 1u);
  const auto j = (*list)[0].ToJson();
  EXPECT_EQ(j["workflow"], "w");
  EXPECT_EQ(j["cron"], "0 * * * * *");
  EXPECT_EQ(j["timezone"], "UTC");
  EXPECT_EQ(j["missed"], "catch_up");
  EXPECT_EQ(j["max_catch_up"], 3);
  EXPECT_EQ(j["next_fire"], "2030-01-01T00:02:00Z");
  EXPECT_EQ(j["next_fire_local"], "2030-01-01 00:02:00 UTC");
  EXPECT_EQ(j["last_fire"], "2030-01-01T00:01:00Z");
  EXPECT_EQ(j["last_status"], "started");
  EXPECT_EQ(j["last_run_id"], starter.Fires().at(0).run_id);
}

TEST(ScheduledWorkflowsTest, ParsesSchedulesAndNamesTheWorkflowInErrors) {
  std::map<std::string, WorkflowDefinition> defs;
  defs["manual"].name = "manual";
  defs["digest"].name = "digest";
  defs["digest"].schedule = ScheduleDefinition{"0 8 * * *", "Europe/Berlin", MissedRunPolicy::kCatchUp, 2};
  auto s = ScheduledWorkflows(defs);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].workflow, "digest");
  EXPECT_EQ((*s)[0].cron.timezone(), "Europe/Berlin");
  EXPECT_EQ((*s)[0].max_catch_up, 2);
  defs["bad"].schedule = ScheduleDefinition{"0 25 * * *", "UTC", MissedRunPolicy::kSkip, 1};
  auto bad = ScheduledWorkflows(defs);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().ToString(),
            "workflows.bad.schedule: cron field 'hour' (2nd of 5): 25 is out of range 0-23");
}

}  // namespace
}  // namespace steward::engine
