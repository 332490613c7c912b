#pragma once
// The approval gate: a tool call the risk policy holds waits here, on the thread that made it
// (the /mcp request thread), until the owner approves or denies it, its run is cancelled, or
// the approval times out (which denies and escalates). The request is stored first and
// streamed to the run's watchers as `approval_required`; the outcome as `approval_resolved`.
//
// An approval covers exactly one call: the waiting call consumes it (ApprovalStore::MarkUsed
// checks its id, run, tool and arguments hash, once), and no caller can present one, so it
// cannot be replayed or carried over to another call. Only the API (owner token) decides.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "tools/approval_store.hpp"
#include "tools/risk_policy.hpp"
#include "tools/tool.hpp"

namespace steward::tools {

struct ApprovalGateOptions {
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};  // then deny and escalate
  // How often a waiting call checks whether its run was cancelled.
  std::chrono::milliseconds poll_interval{100};
};

// How a held call was resolved.
struct ApprovalOutcome {
  std::string approval_id;
  ApprovalStatus status = ApprovalStatus::kDenied;  // approved, denied or expired
  std::string by;    // "owner", "timeout", "run_cancelled", "shutdown"
  std::string note;
  [[nodiscard]] bool approved() const { return status == ApprovalStatus::kApproved; }
};

// Thread-safe. Await blocks its caller; Decide, List and Get never block on a waiting call.
class ApprovalGate final {
 public:
  // `store` must outlive the gate.
  explicit ApprovalGate(ApprovalStore& store, ApprovalGateOptions options = {});
  ApprovalGate(const ApprovalGate&) = delete;
  ApprovalGate& operator=(const ApprovalGate&) = delete;

  // Stores an approval request for calling `tool` with `arguments` (as assessed), emits
  // approval_required through ctx.emit, and waits for the outcome, then emits
  // approval_resolved. An approved outcome has been consumed for this call; run the tool
  // once. Errors (nothing stored, or shutting down) mean the call must not run either.
  [[nodiscard]] Result<ApprovalOutcome> Await(const std::string& tool, const nlohmann::json& arguments,
                                              const Assessment& assessment, const CallContext& ctx);

  // Records the owner's decision on a pending approval and wakes its call. `by` names the
  // decider ("owner"). kNotFound (unknown id), kConflict (already decided), or kInvalidArgument
  // when `expected_hash` is given and is not the approval's arguments hash (the decider saw
  // other arguments).
  [[nodiscard]] Result<ApprovalRecord> Decide(const std::string& id, bool approve, const std::string& by,
                                              const std::string& note, const std::string& expected_hash = {});

  // Newest first; every status when `status` is empty.
  [[nodiscard]] Result<std::vector<ApprovalRecord>> List(std::optional<ApprovalStatus> status, int limit = 100);
  [[nodiscard]] Result<ApprovalRecord> Get(const std::string& id);

  // Expires approvals left pending by a previous process (their calls are gone). Call once at
  // start, before serving.
  [[nodiscard]] Result<int> RecoverAfterRestart();

  // Denies every waiting call and refuses new requests; for server shutdown. Idempotent.
  void Shutdown();

  // Calls waiting right now.
  [[nodiscard]] size_t waiting() const;

  [[nodiscard]] const ApprovalGateOptions& options() const { return options_; }

 private:
  struct Waiter {
    bool decided = false;     // guarded by mu_
    ApprovalRecord record;    // guarded by mu_; valid once decided
  };
  // Decides on behalf of no one (timeout, cancellation, shutdown). If the owner's decision
  // landed first, that one stands.
  ApprovalRecord AutoDecide(const ApprovalRecord& request, ApprovalStatus status, const std::string& by,
                            const std::string& note, bool escalated);

  ApprovalStore& store_;
  const ApprovalGateOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Waiter>> waiters_;  // guarded by mu_; by approval id
  bool shutdown_ = false;                                    // guarded by mu_
};

// What a held call returns to the agent when it was not approved: says who decided what and
// that the tool did not run.
[[nodiscard]] ToolCallResult NotApprovedResult(const std::string& tool, const ApprovalOutcome& outcome,
                                               std::chrono::milliseconds timeout);

}  // namespace steward::tools
