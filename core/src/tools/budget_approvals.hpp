#pragma once
// Budget approvals through the approval gate: at approve_at of a budget the model gateway asks
// the owner (models/budget_guard.hpp) with an approval row like a held tool call's, tool
// "budget.<scope>", tier high, so `steward approve` / POST /api/approvals/{id} answers it and
// the waiting model call continues or stops.

#include "models/budget_guard.hpp"
#include "tools/approval_gate.hpp"

namespace steward::tools {

// `gate` must outlive the returned function.
[[nodiscard]] models::BudgetApprover MakeBudgetApprover(ApprovalGate& gate);

}  // namespace steward::tools
