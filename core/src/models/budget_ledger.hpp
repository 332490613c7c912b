#pragma once
// The budget ledger in PostgreSQL (migration 0011): per scope, the settled spending and the
// reservations of calls in flight. A call is admitted in one transaction that locks its
// scopes' rows (in key order, so calls sharing scopes cannot deadlock), reads spending and live
// reservations, decides (budget_policy.hpp) and, when admitted, inserts its reservation. So ten
// calls racing for the last dollar, in one process or several, pass one at a time.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "common/result.hpp"
#include "models/budget_policy.hpp"
#include "store/database.hpp"

namespace steward::models {

// What a call is expected to cost, reserved until it settles.
struct BudgetEstimate {
  double usd = 0;
  int64_t tokens = 0;
};

// One admission attempt over all of a call's scopes.
struct BudgetAttempt {
  Verdict verdict = Verdict::kAdmit;
  size_t scope = 0;               // the scope that decided a non-admit verdict
  std::string message;            // ScopeDecision::message of that scope
  std::string reservation_id;     // kAdmit: the reservation to settle (uuid)
  std::vector<size_t> warn;       // scopes that just passed warn_at (each reported once)
  std::vector<ScopeUsage> usage;  // per scope, as read
  std::vector<double> ratio;      // per scope: spent / limit
};

// Thread-safe (every method is its own transaction).
class BudgetLedger final {
 public:
  explicit BudgetLedger(store::Database& db) : db_(db) {}

  // The workflow runs `run_id` belongs to: itself when it is one, and each workflow ancestor
  // (parent_run_id), nearest first, as {id, workflow name}.
  [[nodiscard]] Result<std::vector<std::pair<std::string, std::string>>> WorkflowRunsOf(const std::string& run_id);

  // Creates missing scope rows (starting from the cost already recorded for the scope), locks
  // them, and admits the call when every scope admits it: its estimate is reserved on each
  // until `hold` passes or Settle/Release removes it.
  [[nodiscard]] Result<BudgetAttempt> TryReserve(const std::vector<BudgetScope>& scopes, const BudgetEstimate& estimate,
                                                 bool money, const BudgetConfig& config, std::string_view model,
                                                 std::chrono::seconds hold);

  // Replaces reservation `id` by what the call used, in the caller's transaction (the one that
  // records the call's model_call row).
  static void Settle(pqxx::work& tx, const std::string& id, double cost_usd, int64_t tokens);

  // Drops a reservation whose call was never recorded.
  void Release(const std::string& id);

  // Claims the right to ask the owner for approval on `scope`: true for exactly one caller
  // (or when the previous asker's claim is older than `stale_after`: its process died).
  [[nodiscard]] Result<bool> ClaimApproval(const std::string& scope, std::chrono::seconds stale_after);
  // Ends a claim: "approved", "denied", or "none" (no decision: someone may ask again).
  [[nodiscard]] Status FinishApproval(const std::string& scope, std::string_view state, const std::string& approval_id);

  // The scope's row (zeros when it has none).
  [[nodiscard]] Result<ScopeUsage> Get(const std::string& scope);

 private:
  store::Database& db_;
};

// A fresh version 4 uuid.
[[nodiscard]] std::string NewUuid();

}  // namespace steward::models
