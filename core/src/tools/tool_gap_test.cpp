#include "tools/tool_gap.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace steward::tools {
namespace {

using nlohmann::json;
using ::testing::Contains;
using ::testing::HasSubstr;

json ValidReport() {
  return json::parse(R"({
    "task": "send an email to bob@example.com",
    "attempted": "drafted the email",
    "missing_tools": [{
      "name": "email.send",
      "description": "Send an email over SMTP",
      "inputs": {"to": "string", "subject": "string", "body": {"type": "string"}},
      "outputs": {"message_id": "string"},
      "estimated_risk": "high"
    }],
    "existing_tools_checked": [{"name": "tools/list", "evidence": "returned no tools"}],
    "proposed_mcp_server": {"name": "email", "description": "SMTP", "transport": "stdio", "tools": ["email.send"]}
  })");
}

std::string Fenced(const std::string& body) { return "```steward-tool-gap\n" + body + "\n```\n"; }

TEST(ToolGapSchema, IsTheFileShippedInDocs) {
  const auto path = std::filesystem::path(STEWARD_SOURCE_DIR) / "docs/tool-gap-report.schema.json";
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(json::parse(text.str()), ToolGapSchema()) << "update kSchemaText in tool_gap.cpp";
}

TEST(ToolGapReport, AValidReportValidates) {
  EXPECT_THAT(ValidateToolGapReport(ValidReport()), ::testing::IsEmpty());
}

TEST(ToolGapReport, ViolationsNameThePath) {
  json report = ValidReport();
  report["missing_tools"][0]["estimated_risk"] = "extreme";
  report["missing_tools"][0]["inputs"]["to"] = 5;
  report.erase("existing_tools_checked");
  const auto errors = ValidateToolGapReport(report);
  EXPECT_THAT(errors, Contains(HasSubstr("report.missing_tools[0].estimated_risk: expected one of")));
  EXPECT_THAT(errors, Contains(HasSubstr("report.missing_tools[0].inputs.to: expected string or object")));
  EXPECT_THAT(errors, Contains(HasSubstr("report.existing_tools_checked: required")));
}

TEST(ToolGapReport, AnEmptyListOfMissingToolsIsNotAReport) {
  json report = ValidReport();
  report["missing_tools"] = json::array();
  EXPECT_THAT(ValidateToolGapReport(report), Contains(HasSubstr("report.missing_tools: must have at least 1")));
}

TEST(ExtractToolGapReport, NoBlockNoReport) {
  EXPECT_FALSE(ExtractToolGapReport("Just an answer.\n```json\n{}\n```\n").has_value());
  // The fence must open a line.
  EXPECT_FALSE(ExtractToolGapReport("see ```steward-tool-gap\n{}\n```").has_value());
}

TEST(ExtractToolGapReport, FindsAValidBlockAtTheEnd) {
  const auto got = ExtractToolGapReport("I can't send email.\n\n" + Fenced(ValidReport().dump(2)));
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->valid) << ::testing::PrintToString(got->errors);
  EXPECT_EQ(got->report, ValidReport());
}

TEST(ExtractToolGapReport, TheLastBlockWins) {
  json second = ValidReport();
  second["task"] = "second";
  const auto got = ExtractToolGapReport(Fenced(ValidReport().dump()) + "text\n" + Fenced(second.dump()));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->report["task"], "second");
}

TEST(ExtractToolGapReport, AnUnclosedBlockRunsToTheEnd) {
  const auto got = ExtractToolGapReport("answer\n```steward-tool-gap\n" + ValidReport().dump());
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->valid);
}

TEST(ExtractToolGapReport, InvalidJsonIsKeptRawAndMarkedInvalid) {
  const auto got = ExtractToolGapReport(Fenced("{\"task\": oops"));
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->valid);
  EXPECT_EQ(got->report["raw"], "{\"task\": oops");
  EXPECT_THAT(got->errors, Contains(HasSubstr("not valid JSON")));
}

TEST(ExtractToolGapReport, ASchemaBreakingBlockIsInvalidWithErrors) {
  const auto got = ExtractToolGapReport(Fenced(R"({"missing_tools": "email"})"));
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->valid);
  EXPECT_FALSE(got->errors.empty());
}

}  // namespace
}  // namespace steward::tools
