#pragma once
// Where approval requests and their decisions are kept: the `approval` table (migration 0004).
// Every transition is one conditional UPDATE, so two deciders racing (the owner and the
// timeout) cannot both win, and an approval runs at most one call.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "store/database.hpp"

namespace steward::tools {

enum class ApprovalStatus { kPending, kApproved, kDenied, kExpired };

// "pending" | "approved" | "denied" | "expired".
[[nodiscard]] std::string_view ApprovalStatusName(ApprovalStatus status);
[[nodiscard]] std::optional<ApprovalStatus> ParseApprovalStatus(std::string_view name);

// One approval request and, once decided, its decision.
struct ApprovalRecord {
  std::string id;              // uuid
  std::string run_id;          // empty for calls outside a run (an MCP client with the owner token)
  std::string session_id;      // empty when none
  std::string tool;            // "email.send"
  nlohmann::json arguments = nlohmann::json::object();
  std::string arguments_hash;  // ArgumentsHash(arguments)
  std::string tier;            // "low" | "medium" | "high"
  std::string reason;          // why the policy asked
  ApprovalStatus status = ApprovalStatus::kPending;
  std::string requested_at;    // RFC 3339 UTC; set by the store
  std::string decided_at;      // empty while pending
  std::string decided_by;      // "owner", or "timeout" | "run_cancelled" | "shutdown" | "restart"
  std::string note;
  bool escalated = false;      // the owner did not answer in time
  std::string used_at;         // when its call ran; empty until then
};

// The API shape of a record: {id, run_id, session_id, tool, arguments, arguments_hash, tier,
// reason, status, requested_at, decided_at, decided_by, note, escalated, used}.
[[nodiscard]] nlohmann::json ToJson(const ApprovalRecord& record);

// SHA-256 hex of the canonical JSON of `arguments` (object keys sorted, no whitespace,
// UTF-8): the same arguments always hash the same, whatever order a client sent them in.
[[nodiscard]] std::string ArgumentsHash(const nlohmann::json& arguments);

// Thread-safe implementations only.
class ApprovalStore {
 public:
  virtual ~ApprovalStore() = default;

  // Stores a new pending request; returns it with requested_at set.
  [[nodiscard]] virtual Result<ApprovalRecord> Insert(const ApprovalRecord& record) = 0;

  // Moves a pending approval to `status` (not kPending), recording who, when and why.
  // kNotFound for an unknown id; kConflict naming the current status when it is not pending.
  [[nodiscard]] virtual Result<ApprovalRecord> Decide(const std::string& id, ApprovalStatus status,
                                                      const std::string& by, const std::string& note,
                                                      bool escalated) = 0;

  // Marks an approved approval as used by the call it was asked for, once. kPermissionDenied
  // unless it is approved, unused, and its run, tool and arguments hash are these.
  [[nodiscard]] virtual Status MarkUsed(const std::string& id, const std::string& run_id,
                                        const std::string& tool, const std::string& arguments_hash) = 0;

  // kNotFound for an unknown (or malformed) id.
  [[nodiscard]] virtual Result<ApprovalRecord> Get(const std::string& id) = 0;

  // Newest first; all statuses when `status` is empty.
  [[nodiscard]] virtual Result<std::vector<ApprovalRecord>> List(std::optional<ApprovalStatus> status,
                                                                 int limit) = 0;

  // Expires every pending approval (their calls died with the previous process) except those of
  // workflow approval steps (tool "workflow.approval"), which survive restarts; returns how many.
  [[nodiscard]] virtual Result<int> ExpireAllPending(const std::string& by, const std::string& note) = 0;
};

// The store on PostgreSQL. `db` must outlive it.
class PgApprovalStore final : public ApprovalStore {
 public:
  explicit PgApprovalStore(store::Database& db) : db_(db) {}

  [[nodiscard]] Result<ApprovalRecord> Insert(const ApprovalRecord& record) override;
  [[nodiscard]] Result<ApprovalRecord> Decide(const std::string& id, ApprovalStatus status, const std::string& by,
                                              const std::string& note, bool escalated) override;
  [[nodiscard]] Status MarkUsed(const std::string& id, const std::string& run_id, const std::string& tool,
                                const std::string& arguments_hash) override;
  [[nodiscard]] Result<ApprovalRecord> Get(const std::string& id) override;
  [[nodiscard]] Result<std::vector<ApprovalRecord>> List(std::optional<ApprovalStatus> status, int limit) override;
  [[nodiscard]] Result<int> ExpireAllPending(const std::string& by, const std::string& note) override;

 private:
  store::Database& db_;
};

// True iff `text` looks like a uuid (8-4-4-4-12 hex), so a bad id is a 404, not a SQL error.
[[nodiscard]] bool IsUuid(std::string_view text);

}  // namespace steward::tools
