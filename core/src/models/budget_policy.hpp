#pragma once
// Budgets: spending limits in USD per run, per workflow run and per user per (UTC) day, and
// optionally in tokens per run, with three thresholds: a warning at `warn_at`, the owner's
// approval to go on at `approve_at`, a hard stop at 100%. This file is the configuration and
// the decision for one scope, a pure function; budget_ledger.hpp keeps the numbers in
// PostgreSQL and budget_guard.hpp runs the decision before every model call.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace steward::models {

// The `budgets:` section of steward.yaml (app/detail/budgets_config.cpp).
struct BudgetConfig {
  std::optional<double> per_run_usd;
  std::optional<double> per_workflow_usd;     // a workflow run with all its child runs
  std::optional<double> per_user_daily_usd;   // every call of the UTC day (the owner is the user)
  std::optional<int64_t> per_run_tokens;      // prompt + completion tokens of one run
  double warn_at = 0.7;     // share of a limit that logs a warning (once per scope)
  double approve_at = 0.9;  // share of a limit past which the owner must approve; 1 = never ask
  std::string user = "owner";

  [[nodiscard]] bool enabled() const {
    return per_run_usd || per_workflow_usd || per_user_daily_usd || per_run_tokens;
  }
};

enum class BudgetScopeKind { kRun, kWorkflow, kUserDay };

// "run" | "workflow" | "user_day".
[[nodiscard]] std::string_view BudgetScopeKindName(BudgetScopeKind kind);

// One budget a call counts against.
struct BudgetScope {
  BudgetScopeKind kind = BudgetScopeKind::kRun;
  std::string key;      // ledger key: "run:<uuid>", "workflow:<uuid>", "user:<user>:<YYYY-MM-DD>"
  std::string id;       // the run id, or the day
  std::string label;    // for messages: "run 3f2a1b4c", "the owner's spending on 2026-11-26 (UTC)"
  std::string setting;  // the key that sets the money limit: "budgets.per_run_usd"
  std::optional<double> limit_usd;
  std::optional<int64_t> limit_tokens;  // runs only: budgets.per_run_tokens
};

// What the ledger holds for a scope at the moment of the decision.
struct ScopeUsage {
  double spent_usd = 0;        // settled calls
  double reserved_usd = 0;     // estimates of calls in flight (other than this one)
  int64_t spent_tokens = 0;
  int64_t reserved_tokens = 0;
  std::string approval = "none";  // "none" | "pending" | "approved" | "denied"
  std::string approval_id;
  bool warned = false;
};

enum class Verdict {
  kAdmit,         // go
  kWait,          // the rest of the budget is held by calls in flight: wait for them to settle
  kNeedApproval,  // past approve_at without the owner's approval: ask (or wait for the asker)
  kRefuse,        // at or past the limit, or the owner declined: kBudgetExceeded
};

struct ScopeDecision {
  Verdict verdict = Verdict::kAdmit;
  bool warn = false;      // past warn_at and not warned yet
  double ratio = 0;       // spent / limit, the larger of money and tokens
  std::string message;    // for kRefuse (the error) and kNeedApproval (the approval's reason)
};

// The decision for one scope. `money` is false for a call whose model is free: a money limit
// then never blocks it (token limits still apply). `model` names the call in messages.
[[nodiscard]] ScopeDecision Decide(const BudgetScope& scope, const ScopeUsage& usage, const BudgetConfig& config,
                                   bool money, std::string_view model);

// "$1.00", "$0.0375", "$0.00015": at least two decimals, at most six, no trailing zeros beyond two.
[[nodiscard]] std::string FormatUsd(double usd);

}  // namespace steward::models
