#include "tools/budget_approvals.hpp"

namespace steward::tools {

models::BudgetApprover MakeBudgetApprover(ApprovalGate& gate) {
  return [&gate](const models::BudgetApprovalRequest& request) -> Result<models::BudgetApprovalOutcome> {
    CallContext ctx;
    ctx.principal = request.run_id.empty() ? "owner" : "run";
    ctx.run_id = request.run_id;
    ctx.cancelled = request.cancelled;
    ctx.emit = request.emit;
    Assessment assessment;
    assessment.tier = Tier::kHigh;
    assessment.needs_approval = true;
    assessment.reason = request.reason;
    auto outcome = gate.Await(request.tool, request.arguments, assessment, ctx);
    if (!outcome.ok()) return outcome.error();
    models::BudgetApprovalOutcome out;
    out.approval_id = outcome->approval_id;
    out.approved = outcome->approved();
    // The owner's answer or the timeout decide; a cancelled run or a shutdown leaves the
    // question open for the next call to ask.
    out.decided = outcome->by == "owner" || outcome->by == "timeout" || outcome->approved();
    return out;
  };
}

}  // namespace steward::tools
