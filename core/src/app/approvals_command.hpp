#pragma once
// The owner's side of the approval gate on the command line, and the tool-gap reports:
//   steward approvals [--all] [--json]     pending approvals (GET /api/approvals?status=pending)
//   steward approve ID [--note TEXT]       POST /api/approvals/ID {decision: approve}
//   steward deny ID [--note TEXT]          POST /api/approvals/ID {decision: deny}
//   steward tools gaps [--json]            stored tool-gap reports (GET /api/tool-gaps)
// and what `steward chat` does when a run it streams asks for an approval.

#include <cstdio>
#include <istream>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace steward::app {

// A table of approvals ({approvals: [...]}) : ID, TOOL, TIER, STATUS, REQUESTED, then the
// arguments and reason on an indented line; "No approvals are pending." when empty.
[[nodiscard]] std::string RenderApprovals(const nlohmann::json& answer);

// A summary of tool-gap reports ({reports: [...]}) : when, validity, the task, each missing
// tool with its risk and description, and the proposed server.
[[nodiscard]] std::string RenderToolGaps(const nlohmann::json& answer);

// POST /api/approvals/{id}. `arguments_hash`, when given, makes the server refuse the decision
// unless the waiting call has exactly the arguments the decider saw. The answer's record, or an
// Error: kNotFound, kConflict (already decided), kInvalidArgument, kPermissionDenied.
[[nodiscard]] Result<nlohmann::json> PostApprovalDecision(const std::string& base_url, const std::string& token,
                                                          const std::string& id, bool approve,
                                                          const std::string& note,
                                                          const std::string& arguments_hash = {});

// The commands: print to `out`, errors to `err`; return the exit status (0, or 1 on error).
int RunApprovalsCommand(const std::string& base_url, const std::string& token, bool all, bool as_json,
                        std::ostream& out, std::ostream& err);
int RunDecideCommand(const std::string& base_url, const std::string& token, const std::string& id, bool approve,
                     const std::string& note, std::ostream& out, std::ostream& err);
int RunToolGapsCommand(const std::string& base_url, const std::string& token, bool as_json, std::ostream& out,
                       std::ostream& err);

// The lines `steward chat` prints for an approval_required event it cannot ask about (stdin is
// not a terminal): what waits, and the commands that answer it.
[[nodiscard]] std::string ApprovalNotice(const nlohmann::json& event);

// The question `steward chat` asks on a terminal: "Approve email.send {…}? [y/N] ".
[[nodiscard]] std::string ApprovalQuestion(const nlohmann::json& event);

// What `steward chat` does with an approval_required event: on a terminal (`interactive`), asks
// ApprovalQuestion on `prompt`, reads the answer from `in` and posts it (bound to the arguments
// hash shown); otherwise prints ApprovalNotice. Reports the outcome on `prompt`.
void HandleApprovalRequired(const std::string& base_url, const std::string& token, const nlohmann::json& event,
                            bool interactive, std::istream& in, FILE* prompt);

}  // namespace steward::app
