#include "engine/scheduler.hpp"

#include <algorithm>
#include <deque>

#include <date/date.h>
#include <spdlog/spdlog.h>

#include "engine/run_registry.hpp"

namespace steward::engine {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::sys_seconds;
using std::chrono::system_clock;

// Enumerating more due ticks than this (a seconds-level schedule down for days) restarts the
// enumeration one day before now: older missed ticks of such a schedule are not caught up.
constexpr int kMaxEnumeratedTicks = 200000;

long long Epoch(sys_seconds t) { return static_cast<long long>(t.time_since_epoch().count()); }

std::string Rfc3339(sys_seconds t) { return date::format("%FT%TZ", t); }

std::string_view PolicyName(MissedRunPolicy p) { return p == MissedRunPolicy::kCatchUp ? "catch_up" : "skip"; }

// Start errors a retry cannot fix (kConflict means the run exists and is handled before).
bool Permanent(const Error& e) {
  return e.code == ErrorCode::kNotFound || e.code == ErrorCode::kInvalidArgument || e.code == ErrorCode::kConfig ||
         e.code == ErrorCode::kPermissionDenied;
}

constexpr const char* kTickParam = "to_timestamp($2::double precision)";

}  // namespace

Result<std::vector<ScheduledWorkflow>> ScheduledWorkflows(const std::map<std::string, WorkflowDefinition>& workflows) {
  std::vector<ScheduledWorkflow> out;
  for (const auto& [name, def] : workflows) {
    if (!def.schedule) continue;
    auto cron = CronExpression::Parse(def.schedule->cron, def.schedule->timezone);
    if (!cron.ok()) {
      Error e = cron.error();
      e.context = "workflows." + name + ".schedule";
      return e;
    }
    ScheduledWorkflow s{name, std::move(*cron), def.schedule->missed, std::max(0, def.schedule->max_catch_up)};
    out.push_back(std::move(s));
  }
  return out;
}

nlohmann::json ScheduleStatus::ToJson() const {
  using nlohmann::json;
  auto opt = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return {{"workflow", workflow},
          {"cron", cron},
          {"timezone", timezone},
          {"missed", missed},
          {"max_catch_up", max_catch_up},
          {"next_fire", next_fire ? json(Rfc3339(*next_fire)) : json(nullptr)},
          {"next_fire_local", opt(next_fire_local)},
          {"last_fire", last_fire ? json(Rfc3339(*last_fire)) : json(nullptr)},
          {"last_status", opt(last_status)},
          {"last_run_id", opt(last_run_id)},
          {"last_error", opt(last_error)}};
}

Result<std::vector<ScheduleStatus>> ListSchedules(store::Database& db, const std::vector<ScheduledWorkflow>& schedules,
                                                  system_clock::time_point now) {
  const sys_seconds now_s = std::chrono::floor<seconds>(now);
  return db.Read([&](pqxx::read_transaction& tx) -> Result<std::vector<ScheduleStatus>> {
    std::vector<ScheduleStatus> out;
    for (const auto& s : schedules) {
      ScheduleStatus st;
      st.workflow = s.workflow;
      st.cron = s.cron.expression();
      st.timezone = s.cron.timezone();
      st.missed = std::string(PolicyName(s.missed));
      st.max_catch_up = s.max_catch_up;
      st.next_fire = s.cron.NextAfter(now_s);
      if (st.next_fire) st.next_fire_local = s.cron.FormatLocal(*st.next_fire);
      const pqxx::result r = tx.exec_params(
          "SELECT extract(epoch FROM fire_at)::bigint, status, run_id::text, coalesce(error, '') "
          "FROM schedule_fire WHERE workflow = $1 ORDER BY fire_at DESC LIMIT 1",
          s.workflow);
      if (!r.empty()) {
        st.last_fire = sys_seconds{seconds{r[0][0].as<long long>()}};
        st.last_status = r[0][1].as<std::string>();
        st.last_run_id = r[0][2].as<std::string>();
        st.last_error = r[0][3].as<std::string>();
      }
      out.push_back(std::move(st));
    }
    return out;
  });
}

Scheduler::Scheduler(store::Database& db, SchedulerOptions options, StartScheduledRun start)
    : db_(db),
      options_(std::move(options)),
      start_(std::move(start)),
      owner_id_(options_.owner_id.empty() ? "scheduler-" + RandomHex(6) : options_.owner_id) {
  for (const auto& def : options_.schedules) entries_.push_back(Entry{&def});
}

Scheduler::~Scheduler() { Stop(); }

system_clock::time_point Scheduler::Now() const {
  return options_.clock ? options_.clock() : system_clock::now();
}

Status Scheduler::Start() {
  {
    std::lock_guard<std::mutex> pass(pass_mu_);
    const sys_seconds now_s = std::chrono::floor<seconds>(Now());
    for (auto& entry : entries_) {
      // A database that is down now is retried by the thread's passes.
      if (Status s = Load(entry, now_s); !s.ok()) {
        spdlog::warn("scheduler: loading the state of {}: {}", entry.def->workflow, s.error().ToString());
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) return Status::Ok();
  thread_ = std::thread([this] { Loop(); });
  for (const auto& s : options_.schedules) {
    const auto next = s.cron.NextAfter(std::chrono::floor<seconds>(Now()));
    spdlog::info("scheduler: {} on '{}' ({}), missed: {}, next fire {}", s.workflow, s.cron.expression(),
                 s.cron.timezone(), PolicyName(s.missed), next ? s.cron.FormatLocal(*next) : "never");
  }
  return Status::Ok();
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Loop() {
  std::string last_error;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    const auto now = Now();
    auto pass = RunPass(now, true);
    milliseconds wait = options_.max_sleep;
    if (!pass.ok()) {
      const std::string msg = pass.error().ToString();
      if (msg != last_error) spdlog::warn("scheduler: {} (retrying every {} ms)", msg, wait.count());
      last_error = msg;
    } else {
      last_error.clear();
      std::optional<sys_seconds> next;
      {
        std::lock_guard<std::mutex> guard(pass_mu_);
        for (const auto& entry : entries_) {
          if (!entry.loaded) continue;
          const auto n = entry.def->cron.NextAfter(entry.cursor);
          if (n && (!next || *n < *next)) next = n;
        }
      }
      if (next) {
        const auto until = std::chrono::duration_cast<milliseconds>(*next - Now());
        wait = std::clamp(until, milliseconds{0}, options_.max_sleep);
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    // +1 ms: wake just after the tick rather than just before it.
    cv_.wait_for(lock, wait + milliseconds{1}, [this] { return stopping_; });
    if (stopping_) return;
  }
}

Status Scheduler::Load(Entry& entry, sys_seconds now) {
  const ScheduledWorkflow& def = *entry.def;
  auto last = db_.Transact([&](pqxx::work& tx) -> long long {
    // A new schedule, or one whose expression changed, starts from now: nothing to catch up.
    tx.exec_params(
        "INSERT INTO schedule_state (workflow, cron, timezone, last_tick) "
        "VALUES ($1, $3, $4, to_timestamp($2::double precision)) "
        "ON CONFLICT (workflow) DO UPDATE SET cron = EXCLUDED.cron, timezone = EXCLUDED.timezone, "
        "  last_tick = EXCLUDED.last_tick, updated_at = now() "
        "WHERE schedule_state.cron <> EXCLUDED.cron OR schedule_state.timezone <> EXCLUDED.timezone",
        def.workflow, Epoch(now), def.cron.expression(), def.cron.timezone());
    const pqxx::row r = tx.exec_params1(
        "SELECT extract(epoch FROM last_tick)::bigint FROM schedule_state WHERE workflow = $1", def.workflow);
    return r[0].as<long long>();
  });
  if (!last.ok()) return last.error();
  entry.cursor = sys_seconds{seconds{*last}};
  entry.loaded = true;
  return Status::Ok();
}

Result<int> Scheduler::RunPass(system_clock::time_point now, bool recover) {
  std::lock_guard<std::mutex> pass(pass_mu_);
  int started = 0;
  std::optional<Error> first_error;
  for (auto& entry : entries_) {
    if (!entry.loaded) {
      if (Status s = Load(entry, std::chrono::floor<seconds>(now)); !s.ok()) {
        if (!first_error) first_error = s.error();
        continue;
      }
    }
    auto fired = FireDue(entry, now);
    if (!fired.ok()) {
      if (!first_error) first_error = fired.error();
      continue;
    }
    started += *fired;
  }
  const auto steady = std::chrono::steady_clock::now();
  if (recover && steady - last_recovery_ >= options_.recovery_interval) {
    last_recovery_ = steady;
    auto recovered = RecoverExpired();
    if (!recovered.ok()) {
      if (!first_error) first_error = recovered.error();
    } else {
      started += *recovered;
    }
  }
  if (first_error) return *first_error;
  return started;
}

Result<int> Scheduler::FireDue(Entry& entry, system_clock::time_point now) {
  const ScheduledWorkflow& def = *entry.def;
  const sys_seconds now_s = std::chrono::floor<seconds>(now);
  const size_t keep = static_cast<size_t>(std::max(def.max_catch_up, 0)) + 1;
  std::deque<sys_seconds> due;  // the newest `keep` due ticks
  size_t total = 0;
  bool restarted = false;
  sys_seconds t = entry.cursor;
  while (true) {
    const auto next = def.cron.NextAfter(t);
    if (!next || *next > now_s) break;
    due.push_back(*next);
    if (due.size() > keep) due.pop_front();
    ++total;
    t = *next;
    if (!restarted && total > static_cast<size_t>(kMaxEnumeratedTicks) && t < now_s - std::chrono::hours{24}) {
      restarted = true;
      t = now_s - std::chrono::hours{24};
    }
  }
  if (due.empty()) return 0;

  const sys_seconds latest = due.back();
  const bool on_time = now - latest <= options_.grace;
  size_t missed = total - (on_time ? 1 : 0);
  std::vector<std::pair<sys_seconds, bool>> fire;  // tick, catch_up
  if (def.missed == MissedRunPolicy::kCatchUp && def.max_catch_up > 0) {
    std::vector<sys_seconds> missed_ticks(due.begin(), on_time ? due.end() - 1 : due.end());
    const size_t n = std::min(missed_ticks.size(), static_cast<size_t>(def.max_catch_up));
    for (size_t i = missed_ticks.size() - n; i < missed_ticks.size(); ++i) fire.emplace_back(missed_ticks[i], true);
  }
  if (on_time) fire.emplace_back(latest, false);

  int started = 0;
  for (const auto& [tick, catch_up] : fire) {
    auto won = ClaimAndStart(def, tick, catch_up);
    if (!won.ok()) return won.error();  // cursor unchanged: the next pass tries again
    if (*won) ++started;
  }
  const size_t skipped = missed - std::count_if(fire.begin(), fire.end(), [](const auto& f) { return f.second; });
  if (skipped > 0) {
    spdlog::info("scheduler: {} missed {} tick(s) up to {}; {} (policy {})", def.workflow, skipped,
                 def.cron.FormatLocal(on_time ? due[due.size() >= 2 ? due.size() - 2 : 0] : latest),
                 def.missed == MissedRunPolicy::kCatchUp ? "older than max_catch_up, not run" : "not run",
                 PolicyName(def.missed));
  }
  if (fire.empty()) {
    // Nothing claimed, so record that these ticks were dealt with (a restart must not catch up).
    auto s = db_.Transact([&](pqxx::work& tx) {
      tx.exec_params(std::string("UPDATE schedule_state SET last_tick = GREATEST(last_tick, ") + kTickParam +
                         "), updated_at = now() WHERE workflow = $1",
                     def.workflow, Epoch(latest));
    });
    if (!s.ok()) return s.error();
  }
  entry.cursor = latest;
  return started;
}

Result<bool> Scheduler::ClaimAndStart(const ScheduledWorkflow& def, sys_seconds tick, bool catch_up) {
  ScheduledFire fire{def.workflow, tick, NewUuid(), catch_up};
  auto won = db_.Transact([&](pqxx::work& tx) -> bool {
    const pqxx::result r = tx.exec_params(
        std::string("INSERT INTO schedule_fire (workflow, fire_at, status, run_id, fired_by, catch_up, lease_until) "
                    "VALUES ($1, ") +
            kTickParam +
            ", 'claimed', $3::uuid, $4, $5, now() + $6::bigint * interval '1 millisecond') "
            "ON CONFLICT (workflow, fire_at) DO NOTHING RETURNING 1",
        fire.workflow, Epoch(tick), fire.run_id, owner_id_, catch_up,
        static_cast<long long>(options_.claim_lease.count()));
    tx.exec_params(std::string("UPDATE schedule_state SET last_tick = GREATEST(last_tick, ") + kTickParam +
                       "), updated_at = now() WHERE workflow = $1",
                   fire.workflow, Epoch(tick));
    return !r.empty();
  });
  if (!won.ok()) return won.error();
  if (!*won) return false;  // another process has this tick
  spdlog::info("scheduler: firing {} for {}{}", def.workflow, def.cron.FormatLocal(tick),
               catch_up ? " (catching up)" : "");
  if (Status s = StartHeld(fire, 1); !s.ok()) return s.error();
  return true;
}

Status Scheduler::StartHeld(const ScheduledFire& fire, int attempts) {
  Result<std::string> run = start_ ? start_(fire) : Result<std::string>(MakeError(ErrorCode::kInternal, "no starter"));
  // kConflict: a run with the fire's id exists, i.e. an earlier attempt started it.
  if (!run.ok() && run.error().code == ErrorCode::kConflict) run = fire.run_id;
  if (run.ok()) {
    return db_.Transact([&](pqxx::work& tx) {
      tx.exec_params(std::string("UPDATE schedule_fire SET status = 'started', run_id = $3::uuid, started_at = now(), "
                                 "error = NULL WHERE workflow = $1 AND fire_at = ") +
                         kTickParam + " AND status = 'claimed' AND fired_by = $4",
                     fire.workflow, Epoch(fire.fire_at), *run, owner_id_);
    });
  }
  const Error& e = run.error();
  const bool final = Permanent(e) || attempts >= options_.max_start_attempts;
  spdlog::warn("scheduler: starting {} for {} failed (attempt {}{}): {}", fire.workflow, Rfc3339(fire.fire_at),
               attempts, final ? ", giving up" : ", will retry", e.ToString());
  // Retried by the recovery pass (of any process) once the short lease expires.
  const long long retry_ms =
      std::min<long long>(options_.claim_lease.count(), 2000LL * static_cast<long long>(attempts));
  return db_.Transact([&](pqxx::work& tx) {
    tx.exec_params(std::string("UPDATE schedule_fire SET status = $5, error = $3, "
                               "lease_until = now() + $6::bigint * interval '1 millisecond' "
                               "WHERE workflow = $1 AND fire_at = ") +
                       kTickParam + " AND status = 'claimed' AND fired_by = $4",
                   fire.workflow, Epoch(fire.fire_at), e.ToString(), owner_id_, final ? "failed" : "claimed", retry_ms);
  });
}

Result<int> Scheduler::RecoverExpired() {
  auto expired = db_.Read([&](pqxx::read_transaction& tx) {
    std::vector<ScheduledFire> out;
    const pqxx::result r = tx.exec(
        "SELECT workflow, extract(epoch FROM fire_at)::bigint, run_id::text, catch_up FROM schedule_fire "
        "WHERE status = 'claimed' AND lease_until < now() ORDER BY fire_at LIMIT 20");
    for (const auto& row : r) {
      out.push_back(ScheduledFire{row[0].as<std::string>(), sys_seconds{seconds{row[1].as<long long>()}},
                                  row[2].as<std::string>(), row[3].as<bool>()});
    }
    return out;
  });
  if (!expired.ok()) return expired.error();
  int started = 0;
  for (const auto& fire : *expired) {
    const bool ours = std::any_of(options_.schedules.begin(), options_.schedules.end(),
                                  [&](const ScheduledWorkflow& s) { return s.workflow == fire.workflow; });
    if (!ours) continue;  // a process configured with that workflow will take it
    struct Taken {
      int attempts = 0;
      bool run_exists = false;
    };
    auto taken = db_.Transact([&](pqxx::work& tx) -> std::optional<Taken> {
      const pqxx::result r = tx.exec_params(
          std::string("UPDATE schedule_fire f SET fired_by = $3, attempts = attempts + 1, "
                      "lease_until = now() + $4::bigint * interval '1 millisecond' "
                      "WHERE workflow = $1 AND fire_at = ") +
              kTickParam +
              " AND status = 'claimed' AND lease_until < now() "
              "RETURNING attempts, EXISTS (SELECT 1 FROM run WHERE run.id = f.run_id)",
          fire.workflow, Epoch(fire.fire_at), owner_id_, static_cast<long long>(options_.claim_lease.count()));
      if (r.empty()) return std::nullopt;  // another process took it first
      return Taken{r[0][0].as<int>(), r[0][1].as<bool>()};
    });
    if (!taken.ok()) return taken.error();
    if (!*taken) continue;
    if ((*taken)->run_exists) {
      // Its claimer started the run and died before recording so.
      auto s = db_.Transact([&](pqxx::work& tx) {
        tx.exec_params(std::string("UPDATE schedule_fire SET status = 'started', started_at = now(), error = NULL "
                                   "WHERE workflow = $1 AND fire_at = ") +
                           kTickParam + " AND fired_by = $3 AND status = 'claimed'",
                       fire.workflow, Epoch(fire.fire_at), owner_id_);
      });
      if (!s.ok()) return s.error();
      continue;
    }
    spdlog::info("scheduler: re-trying the start of {} for {} (attempt {})", fire.workflow, Rfc3339(fire.fire_at),
                 (*taken)->attempts);
    if (Status s = StartHeld(fire, (*taken)->attempts); !s.ok()) return s.error();
    ++started;
  }
  return started;
}

Result<std::vector<ScheduleStatus>> Scheduler::List() const {
  return ListSchedules(db_, options_.schedules, Now());
}

}  // namespace steward::engine
