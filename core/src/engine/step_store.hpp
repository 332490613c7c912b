#pragma once
// Where workflow runs and their steps are kept (migration 0009): the `run` rows of kind
// 'workflow' with their owner and lease, and one `workflow_step` row per step path. Every write
// that records progress is fenced by ownership: it takes effect only while the run is still
// `running` and owned by this store's `owner`, so a process that lost its lease (it stalled and
// another adopted the run) cannot record anything more for it. A step's result is recorded once:
// Complete succeeds only for a step that has not succeeded yet.

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "store/database.hpp"
#include "tools/tool.hpp"

namespace steward::engine {

// One workflow_step row.
struct StepRecord {
  std::string path;     // "fetch", "research[2].summarize", "send.on_error"
  std::string step_id;  // the definition's id
  std::string kind;     // StepKindName, or "graph" for a whole-workflow orchestrator step
  std::string status;   // running | waiting | succeeded | failed | skipped
  int attempt = 0;      // attempts started so far
  nlohmann::json input;
  nlohmann::json output;
  nlohmann::json error;   // {code, message, attempt} of the latest failure, or null
  nlohmann::json errors = nlohmann::json::array();
  std::string child_run_id;
  std::string approval_id;
  std::string idempotency_key;
  std::string started_at;   // RFC 3339 UTC
  std::string finished_at;  // empty until it ended
  double duration_ms = 0;   // finished_at - started_at, or so far

  [[nodiscard]] nlohmann::json ToJson() const;
};

// One workflow run row (kind 'workflow').
struct WorkflowRunRecord {
  std::string id;
  std::string workflow;
  std::string status;  // running | succeeded | failed | cancelled | denied | timed_out
  std::string trigger;
  std::string parent_run_id;
  std::string parent_step;
  std::string trace_id;
  std::string owner;
  nlohmann::json input;
  nlohmann::json output;
  nlohmann::json error;
  std::string started_at;
  std::string finished_at;
  double duration_ms = 0;

  [[nodiscard]] nlohmann::json ToJson() const;
};

struct NewWorkflowRun {
  std::string id;
  std::string workflow;
  std::string trigger;
  std::string trace_id;
  std::string parent_run_id;  // empty for a top-level run
  std::string parent_step;
  nlohmann::json input = nlohmann::json::object();
};

// The row of a step attempt being started.
struct AttemptStart {
  std::string path;
  std::string step_id;
  std::string kind;
  nlohmann::json input;  // rendered
  std::string idempotency_key;
};

struct RunFilter {
  std::string status;    // empty: any
  std::string workflow;  // empty: any
  int limit = 50;
  bool top_level_only = true;
};

// Thread-safe.
class StepStore final {
 public:
  // `owner` identifies this process among those sharing the database; `lease` is how long a
  // claim lasts without renewal.
  StepStore(store::Database& db, std::string owner, std::chrono::milliseconds lease);

  [[nodiscard]] const std::string& owner() const { return owner_; }
  [[nodiscard]] std::chrono::milliseconds lease() const { return lease_; }

  // Inserts a run row owned by this process (status running, lease from now).
  [[nodiscard]] Status CreateRun(const NewWorkflowRun& run);

  // Takes over a run whose lease expired, or one this process already owns; false if another
  // live process holds it. Used for child workflow runs found while resuming a parent.
  [[nodiscard]] Result<bool> Claim(const std::string& run_id);

  // Runs of the workflows named in `workflows` whose lease expired (their process died or
  // stalled), top-level only, now owned by this process, oldest first; at most `limit`. Runs of
  // workflows this process does not know are left for one that does.
  [[nodiscard]] Result<std::vector<std::string>> AdoptExpired(int limit, const std::vector<std::string>& workflows);

  // Extends the lease of every running run this process owns, of any kind (its chat runs too:
  // ChatService inserts them with this owner). Returns how many.
  [[nodiscard]] Result<int> RenewLeases();

  // Sets the lease of every workflow run this process owns to now, so another process (or this
  // one after a restart) adopts them at once. For a graceful shutdown.
  [[nodiscard]] Status ReleaseAll();

  // Gives up this process's claim on one run (its lease ends now) so that it is adopted again;
  // no-op if another process owns it.
  [[nodiscard]] Status Release(const std::string& run_id);

  // Ends the run (status not 'running'): output/error recorded, owner cleared. kConflict if the
  // run is no longer owned by this process.
  [[nodiscard]] Status FinishRun(const std::string& run_id, const std::string& status,
                                 const nlohmann::json& output, const nlohmann::json& error);

  // Every step row of the run, keyed by path.
  [[nodiscard]] Result<std::map<std::string, StepRecord>> LoadSteps(const std::string& run_id);
  [[nodiscard]] Result<WorkflowRunRecord> LoadRun(const std::string& run_id);
  [[nodiscard]] Result<std::vector<WorkflowRunRecord>> ListRuns(const RunFilter& filter);
  // The steps in start order, as JSON (for /api/runs/{id}).
  [[nodiscard]] Result<nlohmann::json> StepsJson(const std::string& run_id);

  // Starts an attempt of the step at `path`: creates its row or moves it to the next attempt
  // (status running, input, idempotency key). Returns the attempt number (1-based). kConflict if
  // the step already succeeded or the run is not owned by this process. A previous attempt's
  // child run still marked running (its process died) is recorded failed. The start of an
  // attempt is committed without waiting for the WAL flush: losing it in a crash of PostgreSQL
  // only loses the attempt count, while a result (Complete) is always flushed.
  [[nodiscard]] Result<int> BeginAttempt(const std::string& run_id, const std::string& path,
                                         const std::string& step_id, const std::string& kind,
                                         const nlohmann::json& input, const std::string& idempotency_key);

  // Records the step's result, once. kConflict if it had already succeeded or the run is no
  // longer owned by this process.
  [[nodiscard]] Status Complete(const std::string& run_id, const std::string& path, const nlohmann::json& output);

  // Complete, and in the same commit the first attempt of `next` (the step after this one),
  // if it has no row yet: one flushed commit per step boundary instead of two. Returns whether
  // `next` was started (attempt 1); false leaves it to BeginAttempt. A kill after the commit
  // counts that attempt, as a kill right after BeginAttempt does. kConflict as Complete (then
  // neither is recorded).
  [[nodiscard]] Result<bool> CompleteAndBegin(const std::string& run_id, const std::string& path,
                                              const nlohmann::json& output, const AttemptStart& next);

  // Records a failed attempt. `final`: the step failed for good (status failed, finished_at);
  // else it stays running, waiting for its next attempt.
  [[nodiscard]] Status RecordFailure(const std::string& run_id, const std::string& path, const nlohmann::json& error,
                                     bool final);

  // The attempt was cut short by this process stopping: it does not count.
  [[nodiscard]] Status ForgetAttempt(const std::string& run_id, const std::string& path);

  // Attaches a child run / an approval to the step's current attempt; `waiting` marks it so.
  [[nodiscard]] Status SetChildRun(const std::string& run_id, const std::string& path, const std::string& child);
  [[nodiscard]] Status SetApproval(const std::string& run_id, const std::string& path, const std::string& approval_id);

  // Child runs of kind 'agent' (rows inserted here so model calls, tool snapshots and spans
  // attach to them).
  [[nodiscard]] Status CreateAgentRun(const std::string& child_id, const std::string& parent_run_id,
                                      const std::string& parent_step, const std::string& agent,
                                      const std::string& runner, const std::string& trace_id,
                                      const nlohmann::json& input, const std::vector<tools::ToolInfo>& snapshot);
  [[nodiscard]] Status FinishChildRun(const std::string& child_id, const std::string& status,
                                      const nlohmann::json& output, const nlohmann::json& error,
                                      const nlohmann::json& stats);
  // status of any run row, or kNotFound.
  [[nodiscard]] Result<std::string> RunStatus(const std::string& run_id);

 private:
  // Whether the per-step statements are prepared on the pool (tried on first use, and again
  // after a failure; until then they run unprepared).
  bool Prepared();

  store::Database& db_;
  const std::string owner_;
  const std::chrono::milliseconds lease_;
  const std::string lease_interval_;  // "<ms> milliseconds" for SQL
  std::mutex prepare_mu_;
  std::atomic<bool> prepared_{false};
  bool prepare_failed_ = false;  // GUARDED_BY(prepare_mu_): the server rejected them; not retried
};

}  // namespace steward::engine
