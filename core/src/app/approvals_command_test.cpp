#include "app/approvals_command.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

namespace steward::app {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(RenderApprovals, ListsEachApprovalWithItsArgumentsAndReason) {
  const json answer = json::parse(R"json({"approvals": [
    {"id": "0f5c2a5e-0000-4000-8000-000000000001", "tool": "email.send", "tier": "high", "status": "pending",
     "requested_at": "2026-01-01T10:00:00.000Z", "arguments": {"to": "bob@example.com"},
     "reason": "sending (built-in rule *.send*)", "escalated": false, "decided_by": null},
    {"id": "0f5c2a5e-0000-4000-8000-000000000002", "tool": "web.fetch", "tier": "medium", "status": "expired",
     "requested_at": "2026-01-01T09:00:00.000Z", "arguments": {"url": "https://example.com"},
     "reason": "web access", "escalated": true, "decided_by": "timeout", "decided_at": "2026-01-01T09:05:00.000Z",
     "note": "no decision within 300 s"}]})json");
  const std::string out = RenderApprovals(answer);
  EXPECT_THAT(out, HasSubstr("ID                                    TOOL        TIER    STATUS"));
  EXPECT_THAT(out, HasSubstr("0f5c2a5e-0000-4000-8000-000000000001  email.send  high    pending"));
  EXPECT_THAT(out, HasSubstr("\n    {\"to\":\"bob@example.com\"}\n    why: sending (built-in rule *.send*)\n"));
  EXPECT_THAT(out, HasSubstr("expired (escalated)"));
  EXPECT_THAT(out, HasSubstr("decided by timeout at 2026-01-01T09:05:00.000Z: no decision within 300 s"));
}

TEST(RenderApprovals, SaysWhenNothingIsPending) {
  EXPECT_EQ(RenderApprovals(json{{"approvals", json::array()}}), "No approvals are pending.\n");
}

TEST(RenderToolGaps, ShowsTheTaskTheMissingToolsAndTheProposedServer) {
  const json answer = json::parse(R"json({"reports": [
    {"id": 7, "created_at": "2026-01-01T10:00:00.000Z", "valid": true, "run_id": "r1", "errors": [],
     "report": {"task": "send an email to bob", "missing_tools": [
        {"name": "email.send", "description": "Send an email", "estimated_risk": "high"}],
       "proposed_mcp_server": {"name": "email", "description": "SMTP sender"}}},
    {"id": 6, "created_at": "2026-01-01T09:00:00.000Z", "valid": false, "run_id": null,
     "errors": ["report: the steward-tool-gap block is not valid JSON"], "report": {"raw": "oops"}}]})json");
  const std::string out = RenderToolGaps(answer);
  EXPECT_THAT(out, HasSubstr("#7  2026-01-01T10:00:00.000Z  valid  run r1\n"));
  EXPECT_THAT(out, HasSubstr("  task: send an email to bob\n"));
  EXPECT_THAT(out, HasSubstr("  missing: email.send (high risk) - Send an email\n"));
  EXPECT_THAT(out, HasSubstr("  proposed server: email - SMTP sender\n"));
  EXPECT_THAT(out, HasSubstr("#6  2026-01-01T09:00:00.000Z  INVALID\n"));
  EXPECT_THAT(out, HasSubstr("  schema: report: the steward-tool-gap block is not valid JSON\n"));
  EXPECT_EQ(RenderToolGaps(json::object()), "No tool-gap reports.\n");
}

TEST(ApprovalPrompt, AsksWithTheToolAndArguments) {
  const json event = {{"approval_id", "abc"}, {"tool", "email.send"}, {"arguments", {{"to", "bob@example.com"}}},
                      {"tier", "high"}, {"reason", "sending"}};
  EXPECT_EQ(ApprovalQuestion(event), "Approve email.send {\"to\":\"bob@example.com\"}? [y/N] ");
  const std::string notice = ApprovalNotice(event);
  EXPECT_THAT(notice, HasSubstr("approval required (high risk: sending): email.send {\"to\":\"bob@example.com\"}"));
  EXPECT_THAT(notice, HasSubstr("steward approve abc"));
  EXPECT_THAT(notice, HasSubstr("steward deny abc"));
}

TEST(ApprovalPrompt, WithoutATerminalItPrintsTheCommandsAndPostsNothing) {
  char* buffer = nullptr;
  size_t size = 0;
  FILE* prompt = open_memstream(&buffer, &size);
  std::istringstream in("y\n");
  // An unreachable server: a POST would report an error line.
  HandleApprovalRequired("http://127.0.0.1:9", "t", json{{"approval_id", "abc"}, {"tool", "x.send"}}, false, in,
                         prompt);
  std::fclose(prompt);
  const std::string out(buffer, size);
  std::free(buffer);
  EXPECT_THAT(out, HasSubstr("steward approve abc"));
  EXPECT_THAT(out, Not(HasSubstr("could not")));
  EXPECT_EQ(in.tellg(), 0) << "stdin was not read";
}

TEST(ApprovalPrompt, OnATerminalAnEmptyAnswerDenies) {
  char* buffer = nullptr;
  size_t size = 0;
  FILE* prompt = open_memstream(&buffer, &size);
  std::istringstream in("\n");
  HandleApprovalRequired("http://127.0.0.1:9", "t", json{{"approval_id", "abc"}, {"tool", "x.send"}}, true, in,
                         prompt);
  std::fclose(prompt);
  const std::string out(buffer, size);
  std::free(buffer);
  EXPECT_THAT(out, HasSubstr("Approve x.send {}? [y/N] "));
  EXPECT_THAT(out, HasSubstr("could not deny"));  // it tried to POST a denial
}

}  // namespace
}  // namespace steward::app
