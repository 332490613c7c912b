#pragma once
// Runs the budgets before every model call (ModelGateway::Complete): works out the scopes the
// call counts against (its run, the workflow runs above it, the owner's UTC day), reserves its
// estimated cost in the ledger, and acts on the verdict: a warning (log, `status` event) at
// warn_at; at approve_at one caller per scope asks the owner through the approval gate while
// the others wait; at the limit the call is refused with kBudgetExceeded naming the scope,
// the limit and the spending. When the rest of a budget is held by calls in flight, the call
// waits for them to settle, so concurrent calls overshoot a limit by at most one call.
// A model whose price is zero is never held by a money limit.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "models/budget_ledger.hpp"
#include "models/budget_policy.hpp"
#include "models/model_gateway.hpp"

namespace steward::models {

// The owner's approval to go past approve_at of one scope.
struct BudgetApprovalRequest {
  std::string run_id;             // the asking call's run; empty outside a run
  std::string tool;               // "budget.run" | "budget.workflow" | "budget.user_day"
  nlohmann::json arguments;       // {scope, id, model, setting, limit_usd, spent_usd, ...}
  std::string reason;             // what the owner is asked
  std::function<void(std::string_view type, const nlohmann::json& data)> emit;  // may be empty
  std::function<bool()> cancelled;                                             // may be empty
};

struct BudgetApprovalOutcome {
  std::string approval_id;
  bool decided = false;   // the owner answered, or the approval timed out (counts as a no)
  bool approved = false;
};

// Asks and waits (tools/budget_approvals.hpp adapts the approval gate). An error, or an
// undecided outcome (the run was cancelled, shutdown), leaves the scope for someone to ask again.
using BudgetApprover = std::function<Result<BudgetApprovalOutcome>(const BudgetApprovalRequest&)>;

struct BudgetGuardOptions {
  std::chrono::milliseconds poll{50};                       // while waiting for calls in flight or an asker
  std::chrono::milliseconds max_wait{std::chrono::minutes(10)};
  std::chrono::seconds hold{900};                           // a reservation's life (a dead process's calls)
  std::chrono::seconds approval_timeout{300};               // the gate's: claims older than this + 60 s are retaken
  int64_t default_completion_tokens = 1024;                 // estimate when the request sets no max_tokens
};

// What an admitted call carries to its settlement.
struct BudgetAdmission {
  std::string reservation;            // empty: no budget applies to this call
  std::vector<std::string> warnings;  // scopes that just passed warn_at
};

// Thread-safe.
class BudgetGuard final {
 public:
  // `db` and whatever `approver` uses must outlive the guard.
  BudgetGuard(BudgetConfig config, store::Database& db, BudgetApprover approver, BudgetGuardOptions options = {});

  // Blocks while the call waits (calls in flight, the owner's decision); kBudgetExceeded when
  // refused, kCancelled when context.cancelled turned true, kUnavailable when the ledger is
  // unreachable (a call whose spending cannot be checked is not made).
  [[nodiscard]] Result<BudgetAdmission> Admit(const ModelRoute& route, const ChatRequest& request,
                                              const ModelCallContext& context);

  // Replaces the reservation by what the call used, in the transaction recording the call.
  void Settle(pqxx::work& tx, const BudgetAdmission& admission, const ModelRoute& route, const Usage& usage,
              double cost_usd);
  // Drops the reservation of a call that was not recorded.
  void Release(const BudgetAdmission& admission);

  [[nodiscard]] const BudgetConfig& config() const { return config_; }
  [[nodiscard]] BudgetLedger& ledger() { return ledger_; }

  // The scopes a call of `run_id` counts against right now; `money`: the model has a price.
  [[nodiscard]] Result<std::vector<BudgetScope>> ScopesFor(const std::string& run_id, bool money);

 private:
  [[nodiscard]] BudgetEstimate Estimate(const ModelRoute& route, const ChatRequest& request);

  const BudgetConfig config_;
  BudgetLedger ledger_;
  const BudgetApprover approver_;
  const BudgetGuardOptions options_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> workflows_;  // GUARDED_BY(mu_)
  std::map<std::string, int64_t> max_completion_;                                     // GUARDED_BY(mu_)
};

// Today's date in UTC, YYYY-MM-DD.
[[nodiscard]] std::string UtcDay();

}  // namespace steward::models
