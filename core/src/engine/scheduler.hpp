#pragma once
// Fires scheduled workflows: one background thread computes each schedule's next tick, sleeps
// until it (waking at once on Stop), claims the tick in `schedule_fire` and starts the run.
//
// Exactly once per tick, across every process sharing the database: each computes the same ticks
// and the one whose INSERT ... ON CONFLICT DO NOTHING creates the (workflow, fire_at) row starts
// the run; the others see no row come back and do nothing. The row is 'claimed' (with a lease and
// the run id the run is to get) before the start and 'started' after it; a fire whose claimer
// died in between is re-claimed by any process once its lease expires and started then, unless a
// run with its id already exists (see migrations/0010_schedule.sql).
//
// Missed ticks (this process was down, stalled, or the wall clock jumped forward): every tick in
// (last tick dealt with, now] is due. The newest one counts as on time if it is at most `grace`
// old; the others are missed. Policy `skip`: missed ticks are dropped and only an on-time tick
// fires. Policy `catch_up`: the newest `max_catch_up` missed ticks fire too, oldest first. A
// clock jumping backwards fires nothing twice (ticks at or before the last one dealt with are
// not due). The last tick dealt with is kept in `schedule_state`, so a restart knows what it
// missed; a schedule whose cron or time zone changed starts afresh from now.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "engine/cron_expression.hpp"
#include "engine/workflow_definition.hpp"
#include "store/database.hpp"

namespace steward::engine {

struct ScheduledWorkflow {
  std::string workflow;
  CronExpression cron;
  MissedRunPolicy missed = MissedRunPolicy::kSkip;
  int max_catch_up = 1;
};

// The scheduled ones among `workflows` (those with a `schedule:`), their cron expressions
// parsed. Errors name the workflow: "workflows.digest.schedule.cron: ...".
[[nodiscard]] Result<std::vector<ScheduledWorkflow>> ScheduledWorkflows(
    const std::map<std::string, WorkflowDefinition>& workflows);

// One tick to run.
struct ScheduledFire {
  std::string workflow;
  std::chrono::sys_seconds fire_at;  // the tick
  std::string run_id;                // the id the run should get (a fresh uuid per tick)
  bool catch_up = false;             // a missed tick run late
};

// Starts the run of a fire; returns the id of the run it started. It should give the run
// `fire.run_id` and answer kConflict when a run with that id exists, so that a fire re-tried
// after a crash is not started twice (WorkflowEngine::StartWorkflowRun does both). Called on the
// scheduler thread: it should only record and launch the run.
using StartScheduledRun = std::function<Result<std::string>(const ScheduledFire& fire)>;

using SchedulerClock = std::function<std::chrono::system_clock::time_point()>;

struct SchedulerOptions {
  std::vector<ScheduledWorkflow> schedules;
  std::string owner_id;    // who claims fires (schedule_fire.fired_by); empty: a random id
  SchedulerClock clock;    // empty: std::chrono::system_clock::now
  std::chrono::milliseconds grace{60000};         // how late the newest due tick may be and still be on time
  std::chrono::milliseconds claim_lease{10000};   // a claimed fire not started by then is re-tried elsewhere
  std::chrono::milliseconds recovery_interval{5000};  // how often expired claims are looked for
  std::chrono::milliseconds max_sleep{1000};      // sleeps are cut to this, so clock jumps are seen
  int max_start_attempts = 5;                     // then the fire is marked failed
};

// What GET /api/schedules and `steward schedules` show for one schedule.
struct ScheduleStatus {
  std::string workflow;
  std::string cron;
  std::string timezone;
  std::string missed;  // "skip" | "catch_up"
  int max_catch_up = 1;
  std::optional<std::chrono::sys_seconds> next_fire;
  std::string next_fire_local;  // in the schedule's zone
  std::optional<std::chrono::sys_seconds> last_fire;
  std::string last_status;  // claimed | started | failed
  std::string last_run_id;
  std::string last_error;

  [[nodiscard]] nlohmann::json ToJson() const;
};

// The schedules with their next fire after `now` and their last recorded fire.
[[nodiscard]] Result<std::vector<ScheduleStatus>> ListSchedules(store::Database& db,
                                                                const std::vector<ScheduledWorkflow>& schedules,
                                                                std::chrono::system_clock::time_point now);

// Thread-safe.
class Scheduler final {
 public:
  Scheduler(store::Database& db, SchedulerOptions options, StartScheduledRun start);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Loads each schedule's last tick and starts the thread.
  [[nodiscard]] Status Start();
  // Wakes and joins the thread. Idempotent.
  void Stop();

  // One pass at `now`: loads state not yet loaded, fires due ticks per policy, and (when
  // `recover`) re-tries claimed fires whose lease expired. What the thread runs; tests call it
  // with their own clock. Returns how many ticks it claimed (or re-claimed) and tried to start.
  [[nodiscard]] Result<int> RunPass(std::chrono::system_clock::time_point now, bool recover = true);

  [[nodiscard]] Result<std::vector<ScheduleStatus>> List() const;
  [[nodiscard]] const std::string& owner_id() const { return owner_id_; }
  [[nodiscard]] const std::vector<ScheduledWorkflow>& schedules() const { return options_.schedules; }

 private:
  struct Entry {
    const ScheduledWorkflow* def = nullptr;
    bool loaded = false;
    std::chrono::sys_seconds cursor{};  // ticks at or before it have been dealt with
  };

  void Loop();
  [[nodiscard]] std::chrono::system_clock::time_point Now() const;
  [[nodiscard]] Status Load(Entry& entry, std::chrono::sys_seconds now);
  [[nodiscard]] Result<int> FireDue(Entry& entry, std::chrono::system_clock::time_point now);
  // Claims the tick; true if this process won it (and started or tried to start its run).
  [[nodiscard]] Result<bool> ClaimAndStart(const ScheduledWorkflow& def, std::chrono::sys_seconds tick,
                                           bool catch_up);
  [[nodiscard]] Result<int> RecoverExpired();
  // Starts the run of a fire this process holds and records the outcome.
  [[nodiscard]] Status StartHeld(const ScheduledFire& fire, int attempts);

  store::Database& db_;
  const SchedulerOptions options_;
  const StartScheduledRun start_;
  const std::string owner_id_;

  std::mutex pass_mu_;          // one pass at a time
  std::vector<Entry> entries_;  // GUARDED_BY(pass_mu_)
  std::chrono::steady_clock::time_point last_recovery_{};  // GUARDED_BY(pass_mu_)

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace steward::engine
