#include "engine/step_store.hpp"

#include <algorithm>
#include <cctype>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "engine/tool_snapshot.hpp"

namespace steward::engine {

namespace {

#define STEWARD_TS(col) "coalesce(to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), '')"

using Json = nlohmann::json;

Json JsonColumn(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  try {
    return Json::parse(f.c_str());
  } catch (const Json::exception&) {
    return nullptr;
  }
}

std::string Text(const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); }

constexpr const char* kStepColumns =
    "path, step_id, kind, status, attempt, input::text, output::text, error::text, errors::text, "
    "coalesce(child_run_id::text, ''), coalesce(approval_id::text, ''), coalesce(idempotency_key, ''), "
    STEWARD_TS("started_at") ", " STEWARD_TS("finished_at") ", "
    "extract(epoch FROM (coalesce(finished_at, now()) - started_at)) * 1000";

StepRecord StepFromRow(const pqxx::row& r) {
  StepRecord s;
  s.path = r[0].as<std::string>();
  s.step_id = r[1].as<std::string>();
  s.kind = r[2].as<std::string>();
  s.status = r[3].as<std::string>();
  s.attempt = r[4].as<int>();
  s.input = JsonColumn(r[5]);
  s.output = JsonColumn(r[6]);
  s.error = JsonColumn(r[7]);
  s.errors = JsonColumn(r[8]);
  if (s.errors.is_null()) s.errors = Json::array();
  s.child_run_id = Text(r[9]);
  s.approval_id = Text(r[10]);
  s.idempotency_key = Text(r[11]);
  s.started_at = Text(r[12]);
  s.finished_at = Text(r[13]);
  s.duration_ms = r[14].is_null() ? 0 : r[14].as<double>();
  return s;
}

constexpr const char* kRunColumns =
    "id::text, coalesce(workflow, ''), status, coalesce(trigger, ''), coalesce(parent_run_id::text, ''), "
    "coalesce(parent_step, ''), trace_id, coalesce(owner, ''), input::text, output::text, error::text, "
    STEWARD_TS("started_at") ", " STEWARD_TS("finished_at") ", "
    "extract(epoch FROM (coalesce(finished_at, now()) - started_at)) * 1000";

WorkflowRunRecord RunFromRow(const pqxx::row& r) {
  WorkflowRunRecord w;
  w.id = r[0].as<std::string>();
  w.workflow = r[1].as<std::string>();
  w.status = r[2].as<std::string>();
  w.trigger = r[3].as<std::string>();
  w.parent_run_id = r[4].as<std::string>();
  w.parent_step = r[5].as<std::string>();
  w.trace_id = r[6].as<std::string>();
  w.owner = r[7].as<std::string>();
  w.input = JsonColumn(r[8]);
  w.output = JsonColumn(r[9]);
  w.error = JsonColumn(r[10]);
  w.started_at = Text(r[11]);
  w.finished_at = Text(r[12]);
  w.duration_ms = r[13].is_null() ? 0 : r[13].as<double>();
  return w;
}

Error NotOwned(const std::string& run_id, const std::string& what) {
  return MakeError(ErrorCode::kConflict,
                   "run " + run_id + " is no longer driven by this process (its lease passed to another, or it "
                   "ended); " + what + " was not recorded",
                   "run " + run_id);
}

bool IsUuidText(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

struct Statement {
  const char* name;
  const char* sql;
};

// The statements every step runs, prepared on the pool. Each is one autocommitted statement: one
// round trip, no BEGIN/COMMIT.

// $1 run, $2 path, $3 step id, $4 kind, $5 input, $6 idempotency key, $7 owner. The previous
// attempt's child run (an agent run or a sub-workflow) died with it: recorded failed. The
// set_config makes this commit skip the wait for the WAL flush (SET LOCAL needs a transaction
// block; set_config(..., true) lasts until this statement's own commit).
constexpr Statement kBegin{"workflow_step_begin", R"SQL(
WITH owned AS (SELECT 1 FROM run WHERE id = $1::uuid AND owner = $7 AND status = 'running'),
stale AS (
  UPDATE run SET status = 'failed', finished_at = now(), owner = NULL, lease_until = NULL,
    error = jsonb_build_object('code', 'unavailable', 'message',
                               'the process running this step attempt stopped before it ended')
  WHERE id = (SELECT child_run_id FROM workflow_step WHERE run_id = $1::uuid AND path = $2 AND status <> 'succeeded')
    AND status = 'running' AND EXISTS (SELECT 1 FROM owned)),
started AS (
  INSERT INTO workflow_step AS s (run_id, path, step_id, kind, status, attempt, input, idempotency_key)
  SELECT $1::uuid, $2, $3, $4, 'running', 1, $5::jsonb, NULLIF($6, '') FROM owned
  ON CONFLICT (run_id, path) DO UPDATE SET status = 'running', attempt = s.attempt + 1, input = $5::jsonb,
    idempotency_key = NULLIF($6, ''), child_run_id = NULL, approval_id = NULL, finished_at = NULL
  WHERE s.status <> 'succeeded' RETURNING attempt)
SELECT attempt, set_config('synchronous_commit', 'off', true) FROM started)SQL"};

// $1 run, $2 path, $3 output, $4 owner.
constexpr Statement kComplete{"workflow_step_complete", R"SQL(
UPDATE workflow_step s SET status = 'succeeded', output = $3::jsonb, finished_at = now() FROM run r
WHERE s.run_id = $1::uuid AND s.path = $2 AND s.status <> 'succeeded' AND r.id = s.run_id
  AND r.owner = $4 AND r.status = 'running')SQL"};

// kComplete, then the next step's first attempt ($5 path, $6 step id, $7 kind, $8 input, $9 key)
// only if the result was recorded and that step has no row yet. Returns (results recorded,
// attempts started).
constexpr Statement kCompleteAndBegin{"workflow_step_complete_begin", R"SQL(
WITH done AS (
  UPDATE workflow_step s SET status = 'succeeded', output = $3::jsonb, finished_at = now() FROM run r
  WHERE s.run_id = $1::uuid AND s.path = $2 AND s.status <> 'succeeded' AND r.id = s.run_id
    AND r.owner = $4 AND r.status = 'running'
  RETURNING s.run_id),
started AS (
  INSERT INTO workflow_step (run_id, path, step_id, kind, status, attempt, input, idempotency_key)
  SELECT run_id, $5, $6, $7, 'running', 1, $8::jsonb, NULLIF($9, '') FROM done
  ON CONFLICT (run_id, path) DO NOTHING RETURNING attempt)
SELECT (SELECT count(*) FROM done), (SELECT count(*) FROM started))SQL"};

constexpr Statement kPrepared[] = {kBegin, kComplete, kCompleteAndBegin};

template <class... Args>
pqxx::result Exec(pqxx::transaction_base& tx, bool prepared, const Statement& statement, const Args&... args) {
  return prepared ? tx.exec_prepared(statement.name, args...) : tx.exec_params(statement.sql, args...);
}

std::string OutputJson(const Json& output) { return output.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace

Json StepRecord::ToJson() const {
  return {{"path", path},       {"step_id", step_id},         {"kind", kind},
          {"status", status},   {"attempts", attempt},        {"input", input},
          {"output", output},   {"error", error},             {"errors", errors},
          {"child_run_id", child_run_id.empty() ? Json(nullptr) : Json(child_run_id)},
          {"approval_id", approval_id.empty() ? Json(nullptr) : Json(approval_id)},
          {"idempotency_key", idempotency_key.empty() ? Json(nullptr) : Json(idempotency_key)},
          {"started_at", started_at}, {"finished_at", finished_at.empty() ? Json(nullptr) : Json(finished_at)},
          {"duration_ms", duration_ms}};
}

Json WorkflowRunRecord::ToJson() const {
  return {{"id", id},
          {"workflow", workflow},
          {"status", status},
          {"trigger", trigger},
          {"parent_run_id", parent_run_id.empty() ? Json(nullptr) : Json(parent_run_id)},
          {"parent_step", parent_step.empty() ? Json(nullptr) : Json(parent_step)},
          {"trace_id", trace_id},
          {"owner", owner.empty() ? Json(nullptr) : Json(owner)},
          {"input", input},
          {"output", output},
          {"error", error},
          {"started_at", started_at},
          {"finished_at", finished_at.empty() ? Json(nullptr) : Json(finished_at)},
          {"duration_ms", duration_ms}};
}

StepStore::StepStore(store::Database& db, std::string owner, std::chrono::milliseconds lease)
    : db_(db),
      owner_(std::move(owner)),
      lease_(lease),
      lease_interval_(std::to_string(lease.count()) + " milliseconds") {}

bool StepStore::Prepared() {
  if (prepared_.load(std::memory_order_acquire)) return true;
  std::lock_guard lock(prepare_mu_);
  if (prepared_.load(std::memory_order_relaxed) || prepare_failed_) return prepared_.load(std::memory_order_relaxed);
  for (const Statement& statement : kPrepared) {
    if (Status s = db_.Prepare(statement.name, statement.sql); !s.ok()) {
      // The database being away is worth another try; SQL it rejects is not.
      if (s.error().code != ErrorCode::kUnavailable) {
        prepare_failed_ = true;
        spdlog::warn("workflow steps run unprepared: {}", s.error().ToString());
      }
      return false;
    }
  }
  prepared_.store(true, std::memory_order_release);
  return true;
}

Status StepStore::CreateRun(const NewWorkflowRun& run) {
  return db_.Autocommit([&](pqxx::nontransaction& tx) {
    tx.exec_params(
        "INSERT INTO run (id, kind, agent, runner, status, trace_id, workflow, parent_run_id, parent_step, trigger, "
        "input, owner, lease_until) VALUES ($1::uuid, 'workflow', NULL, NULL, 'running', $2, $3, "
        "NULLIF($4, '')::uuid, NULLIF($5, ''), $6, $7::jsonb, $8, now() + $9::interval)",
        run.id, run.trace_id, run.workflow, run.parent_run_id, run.parent_step, run.trigger, run.input.dump(),
        owner_, lease_interval_);
  });
}

Result<bool> StepStore::Claim(const std::string& run_id) {
  return db_.Transact([&](pqxx::work& tx) {
    const pqxx::result r = tx.exec_params(
        "UPDATE run SET owner = $2, lease_until = now() + $3::interval WHERE id = $1::uuid AND status = 'running' "
        "AND (owner IS NULL OR owner = $2 OR lease_until < now())",
        run_id, owner_, lease_interval_);
    return r.affected_rows() == 1;
  });
}

Result<std::vector<std::string>> StepStore::AdoptExpired(int limit, const std::vector<std::string>& workflows) {
  std::string names;
  for (const auto& w : workflows) names += (names.empty() ? "" : "\n") + w;
  if (names.empty()) return std::vector<std::string>{};
  return db_.Transact([&](pqxx::work& tx) {
    // SKIP LOCKED: two processes adopting at once each take different runs, never the same one.
    const pqxx::result r = tx.exec_params(
        "UPDATE run SET owner = $1, lease_until = now() + $2::interval WHERE id IN ("
        "  SELECT id FROM run WHERE kind = 'workflow' AND status = 'running' AND parent_run_id IS NULL "
        "  AND workflow = ANY(string_to_array($4, chr(10))) "
        "  AND (lease_until IS NULL OR lease_until < now()) ORDER BY started_at LIMIT $3 FOR UPDATE SKIP LOCKED) "
        "RETURNING id::text, started_at::text",
        owner_, lease_interval_, limit, names);
    std::vector<std::pair<std::string, std::string>> rows;
    for (const auto& row : r) rows.emplace_back(row[1].as<std::string>(), row[0].as<std::string>());
    std::sort(rows.begin(), rows.end());
    std::vector<std::string> ids;
    for (auto& [_, id] : rows) ids.push_back(std::move(id));
    return ids;
  });
}

Result<int> StepStore::RenewLeases() {
  return db_.Transact([&](pqxx::work& tx) {
    const pqxx::result r = tx.exec_params(
        "UPDATE run SET lease_until = now() + $2::interval WHERE owner = $1 AND status = 'running'", owner_,
        lease_interval_);
    return static_cast<int>(r.affected_rows());
  });
}

Status StepStore::ReleaseAll() {
  return db_.Transact([&](pqxx::work& tx) {
    // Workflow runs only: a chat run cannot be resumed, and the shutdown records its own end.
    tx.exec_params("UPDATE run SET lease_until = now() WHERE owner = $1 AND status = 'running' AND kind = 'workflow'",
                   owner_);
  });
}

Status StepStore::Release(const std::string& run_id) {
  return db_.Transact([&](pqxx::work& tx) {
    tx.exec_params("UPDATE run SET lease_until = now() WHERE id = $1::uuid AND owner = $2 AND status = 'running'",
                   run_id, owner_);
  });
}

Status StepStore::FinishRun(const std::string& run_id, const std::string& status, const Json& output,
                            const Json& error) {
  return db_.Autocommit([&](pqxx::nontransaction& tx) -> Status {
    const pqxx::result r = tx.exec_params(
        "UPDATE run SET status = $2, output = $3::jsonb, error = $4::jsonb, finished_at = now(), owner = NULL, "
        "lease_until = NULL WHERE id = $1::uuid AND owner = $5 AND status = 'running'",
        run_id, status, output.dump(), error.is_null() ? std::string("null") : error.dump(), owner_);
    if (r.affected_rows() != 1) return NotOwned(run_id, "its end");
    return Status::Ok();
  });
}

Result<std::map<std::string, StepRecord>> StepStore::LoadSteps(const std::string& run_id) {
  return db_.Read([&](pqxx::read_transaction& tx) {
    std::map<std::string, StepRecord> steps;
    const pqxx::result r = tx.exec_params(
        std::string("SELECT ") + kStepColumns + " FROM workflow_step WHERE run_id = $1::uuid ORDER BY seq", run_id);
    for (const auto& row : r) {
      StepRecord s = StepFromRow(row);
      std::string path = s.path;
      steps.emplace(std::move(path), std::move(s));
    }
    return steps;
  });
}

Result<WorkflowRunRecord> StepStore::LoadRun(const std::string& run_id) {
  if (!IsUuidText(run_id)) return MakeError(ErrorCode::kNotFound, "no run " + run_id + " (expected a uuid)", "run");
  return db_.Read([&](pqxx::read_transaction& tx) -> Result<WorkflowRunRecord> {
    const pqxx::result r =
        tx.exec_params(std::string("SELECT ") + kRunColumns + " FROM run WHERE id = $1::uuid", run_id);
    if (r.empty()) return MakeError(ErrorCode::kNotFound, "no run " + run_id, "run");
    return RunFromRow(r[0]);
  });
}

Result<std::vector<WorkflowRunRecord>> StepStore::ListRuns(const RunFilter& filter) {
  return db_.Read([&](pqxx::read_transaction& tx) {
    const pqxx::result r = tx.exec_params(
        std::string("SELECT ") + kRunColumns +
            " FROM run WHERE kind = 'workflow' AND ($1 = '' OR status = $1) AND ($2 = '' OR workflow = $2) "
            "AND (NOT $3 OR parent_run_id IS NULL) ORDER BY started_at DESC LIMIT $4",
        filter.status, filter.workflow, filter.top_level_only, filter.limit);
    std::vector<WorkflowRunRecord> runs;
    for (const auto& row : r) runs.push_back(RunFromRow(row));
    return runs;
  });
}

Result<Json> StepStore::StepsJson(const std::string& run_id) {
  if (!IsUuidText(run_id)) return Json::array();
  return db_.Read([&](pqxx::read_transaction& tx) {
    Json steps = Json::array();
    const pqxx::result r = tx.exec_params(
        std::string("SELECT ") + kStepColumns + " FROM workflow_step WHERE run_id = $1::uuid ORDER BY seq", run_id);
    for (const auto& row : r) steps.push_back(StepFromRow(row).ToJson());
    return steps;
  });
}

Result<int> StepStore::BeginAttempt(const std::string& run_id, const std::string& path, const std::string& step_id,
                                    const std::string& kind, const Json& input, const std::string& idempotency_key) {
  const bool prepared = Prepared();
  return db_.Autocommit([&](pqxx::nontransaction& tx) -> Result<int> {
    const pqxx::result r =
        Exec(tx, prepared, kBegin, run_id, path, step_id, kind, input.dump(), idempotency_key, owner_);
    if (r.empty()) return NotOwned(run_id, "the start of step " + path);
    return r[0][0].as<int>();
  });
}

Status StepStore::Complete(const std::string& run_id, const std::string& path, const Json& output) {
  const bool prepared = Prepared();
  return db_.Autocommit([&](pqxx::nontransaction& tx) -> Status {
    const pqxx::result r = Exec(tx, prepared, kComplete, run_id, path, OutputJson(output), owner_);
    if (r.affected_rows() != 1) return NotOwned(run_id, "the result of step " + path);
    return Status::Ok();
  });
}

Result<bool> StepStore::CompleteAndBegin(const std::string& run_id, const std::string& path, const Json& output,
                                         const AttemptStart& next) {
  const bool prepared = Prepared();
  return db_.Autocommit([&](pqxx::nontransaction& tx) -> Result<bool> {
    const pqxx::result r = Exec(tx, prepared, kCompleteAndBegin, run_id, path, OutputJson(output), owner_, next.path,
                                next.step_id, next.kind, next.input.dump(), next.idempotency_key);
    if (r.empty() || r[0][0].as<int>() != 1) return NotOwned(run_id, "the result of step " + path);
    return r[0][1].as<int>() == 1;
  });
}

Status StepStore::RecordFailure(const std::string& run_id, const std::string& path, const Json& error, bool final) {
  return db_.Autocommit([&](pqxx::nontransaction& tx) -> Status {
    const pqxx::result r = tx.exec_params(
        "UPDATE workflow_step s SET error = $3::jsonb, errors = s.errors || jsonb_build_array($3::jsonb), "
        "status = CASE WHEN $4 THEN 'failed' ELSE 'running' END, "
        "finished_at = CASE WHEN $4 THEN now() ELSE NULL END FROM run r "
        "WHERE s.run_id = $1::uuid AND s.path = $2 AND s.status <> 'succeeded' AND r.id = s.run_id "
        "AND r.owner = $5 AND r.status = 'running'",
        run_id, path, error.dump(-1, ' ', false, Json::error_handler_t::replace), final, owner_);
    if (r.affected_rows() != 1) return NotOwned(run_id, "the failure of step " + path);
    return Status::Ok();
  });
}

Status StepStore::ForgetAttempt(const std::string& run_id, const std::string& path) {
  return db_.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "UPDATE workflow_step SET attempt = greatest(attempt - 1, 0) WHERE run_id = $1::uuid AND path = $2 "
        "AND status = 'running'",
        run_id, path);
  });
}

Status StepStore::SetChildRun(const std::string& run_id, const std::string& path, const std::string& child) {
  return db_.Transact([&](pqxx::work& tx) {
    tx.exec_params("UPDATE workflow_step SET child_run_id = $3::uuid WHERE run_id = $1::uuid AND path = $2", run_id,
                   path, child);
  });
}

Status StepStore::SetApproval(const std::string& run_id, const std::string& path, const std::string& approval_id) {
  return db_.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "UPDATE workflow_step SET approval_id = $3::uuid, status = 'waiting' WHERE run_id = $1::uuid AND path = $2",
        run_id, path, approval_id);
  });
}

Status StepStore::CreateAgentRun(const std::string& child_id, const std::string& parent_run_id,
                                 const std::string& parent_step, const std::string& agent, const std::string& runner,
                                 const std::string& trace_id, const Json& input,
                                 const std::vector<tools::ToolInfo>& snapshot) {
  return db_.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO run (id, kind, agent, runner, status, trace_id, parent_run_id, parent_step, trigger, input) "
        "VALUES ($1::uuid, 'agent', $2, $3, 'running', $4, $5::uuid, $6, 'workflow', $7::jsonb)",
        child_id, agent, runner, trace_id, parent_run_id, parent_step, input.dump());
    InsertToolSnapshot(tx, child_id, snapshot);
  });
}

Status StepStore::FinishChildRun(const std::string& child_id, const std::string& status, const Json& output,
                                 const Json& error, const Json& stats) {
  return db_.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "UPDATE run SET status = $2, output = $3::jsonb, error = $4::jsonb, stats = $5::jsonb, finished_at = now(), "
        "owner = NULL, lease_until = NULL WHERE id = $1::uuid AND status = 'running'",
        child_id, status, output.dump(-1, ' ', false, Json::error_handler_t::replace),
        error.is_null() ? std::string("null") : error.dump(), stats.dump());
  });
}

Result<std::string> StepStore::RunStatus(const std::string& run_id) {
  return db_.Read([&](pqxx::read_transaction& tx) -> Result<std::string> {
    const pqxx::result r = tx.exec_params("SELECT status FROM run WHERE id = $1::uuid", run_id);
    if (r.empty()) return MakeError(ErrorCode::kNotFound, "no run " + run_id, "run");
    return r[0][0].as<std::string>();
  });
}

}  // namespace steward::engine
