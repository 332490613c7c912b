#include "models/budget_policy.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace steward::models {

namespace {

// Ledger sums are numeric(14, 8); compare with that much slack so $0.9 of $1 is 90%.
constexpr double kEpsilon = 1e-9;

std::string Percent(double share) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", share * 100);
  return buf;
}

struct Measure {
  double limit;
  double spent;
  double reserved;
  std::string spent_text;  // "$0.90 of the $1.00 limit", "20500 of the 20000-token limit"
  std::string setting;
};

int Severity(Verdict v) {
  switch (v) {
    case Verdict::kAdmit: return 0;
    case Verdict::kWait: return 1;
    case Verdict::kNeedApproval: return 2;
    case Verdict::kRefuse: return 3;
  }
  return 0;
}

}  // namespace

std::string_view BudgetScopeKindName(BudgetScopeKind kind) {
  switch (kind) {
    case BudgetScopeKind::kRun: return "run";
    case BudgetScopeKind::kWorkflow: return "workflow";
    case BudgetScopeKind::kUserDay: return "user_day";
  }
  return "run";
}

std::string FormatUsd(double usd) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.6f", usd);
  std::string text = buf;
  const size_t dot = text.find('.');
  while (text.size() > dot + 3 && text.back() == '0') text.pop_back();
  return "$" + text;
}

ScopeDecision Decide(const BudgetScope& scope, const ScopeUsage& usage, const BudgetConfig& config, bool money,
                     std::string_view model) {
  std::vector<Measure> measures;
  if (money && scope.limit_usd) {
    measures.push_back({*scope.limit_usd, usage.spent_usd, usage.reserved_usd,
                        FormatUsd(usage.spent_usd) + " of the " + FormatUsd(*scope.limit_usd) + " limit",
                        scope.setting});
  }
  if (scope.limit_tokens) {
    const auto limit = static_cast<double>(*scope.limit_tokens);
    measures.push_back({limit, static_cast<double>(usage.spent_tokens), static_cast<double>(usage.reserved_tokens),
                        std::to_string(usage.spent_tokens) + " of the " + std::to_string(*scope.limit_tokens) +
                            "-token limit",
                        "budgets.per_run_tokens"});
  }
  ScopeDecision out;
  const bool approved = usage.approval == "approved";
  const bool ask = config.approve_at < 1.0;
  for (const Measure& m : measures) {
    out.ratio = std::max(out.ratio, m.limit > 0 ? m.spent / m.limit : 1.0);
    ScopeDecision d;
    if (m.spent >= m.limit - kEpsilon) {
      d.verdict = Verdict::kRefuse;
      d.message = "budget exceeded for " + scope.label + ": spent " + m.spent_text + " (" + m.setting +
                  "), so the call to model \"" + std::string(model) + "\" was refused; raise " + m.setting +
                  " in steward.yaml, or use a model without a price";
    } else if (usage.approval == "denied") {
      d.verdict = Verdict::kRefuse;
      d.message = "budget stop for " + scope.label + ": the owner did not approve spending past " +
                  Percent(config.approve_at) + " of the limit (spent " + m.spent_text + ", " + m.setting +
                  (usage.approval_id.empty() ? "" : "; approval " + usage.approval_id) + "), so the call to model \"" +
                  std::string(model) + "\" was refused";
    } else if (ask && !approved && m.spent >= config.approve_at * m.limit - kEpsilon) {
      d.verdict = Verdict::kNeedApproval;
      d.message = scope.label + " has spent " + m.spent_text + " (" + Percent(m.spent / m.limit) + ", " + m.setting +
                  "); approve to let it continue up to the limit, or deny to stop it now";
    } else if (m.spent + m.reserved >= m.limit - kEpsilon ||
               (ask && !approved && m.reserved > 0 && m.spent + m.reserved >= config.approve_at * m.limit - kEpsilon)) {
      // Calls in flight may take it to the limit (or to the approval point): let them settle
      // first, so concurrent calls pass the line at most one at a time.
      d.verdict = Verdict::kWait;
    }
    if (Severity(d.verdict) > Severity(out.verdict)) {
      out.verdict = d.verdict;
      out.message = d.message;
    }
    if (!usage.warned && m.spent >= config.warn_at * m.limit - kEpsilon) out.warn = true;
  }
  return out;
}

}  // namespace steward::models
