#include "models/detail/offline_gaps.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/offline_provider.hpp"

namespace steward::models::detail {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

OfferedTool Offered(const std::string& name, const std::string& description = "A tool.") {
  return ParseTools(Json::array({{{"type", "function"},
                                  {"function", {{"name", name}, {"description", description},
                                                {"parameters", {{"type", "object"}}}}}}}))
      .front();
}

std::vector<std::string> MissingNames(const std::vector<ToolGap>& gaps) {
  std::vector<std::string> names;
  for (const auto& g : gaps) names.push_back(g.missing_tool["name"]);
  return names;
}

std::vector<std::string> Missing(const std::string& text, const std::vector<OfferedTool>& tools = {}) {
  return MissingNames(FindToolGaps(Normalize(text), tools));
}

TEST(FindToolGaps, NamesTheMissingToolForEachActionIntent) {
  EXPECT_THAT(Missing("Send an email to bob@example.com saying the report is ready"),
              ::testing::ElementsAre("email.send"));
  EXPECT_THAT(Missing("email bob@example.com about lunch"), ::testing::ElementsAre("email.send"));
  EXPECT_THAT(Missing("post to slack that the build is green"), ::testing::ElementsAre("slack.post_message"));
  EXPECT_THAT(Missing("buy me a new phone charger"), ::testing::ElementsAre("shop.purchase"));
  EXPECT_THAT(Missing("book a table for two tomorrow at 8"), ::testing::ElementsAre("booking.reserve"));
  EXPECT_THAT(Missing("schedule a meeting with Ana on Monday"), ::testing::ElementsAre("calendar.create_event"));
  EXPECT_THAT(Missing("run the command `ls -la /tmp`"), ::testing::ElementsAre("shell.run_command"));
  EXPECT_THAT(Missing("summarize https://example.com/post"), ::testing::ElementsAre("web.fetch"));
  EXPECT_THAT(Missing("search the web for rust 1.80 release notes"), ::testing::ElementsAre("web.search"));
  EXPECT_THAT(Missing("write the summary to /home/me/notes/summary.md"), ::testing::ElementsAre("fs.write_file"));
}

TEST(FindToolGaps, OrdinaryQuestionsHaveNoGap) {
  EXPECT_THAT(Missing("What is PostgreSQL MVCC?"), IsEmpty());
  EXPECT_THAT(Missing("remember that my dentist is on Tuesday"), IsEmpty());
  EXPECT_THAT(Missing("what did we discuss yesterday about the book I am reading?"), IsEmpty());
  EXPECT_THAT(Missing("in order to plan, what is on my list?"), IsEmpty());
}

TEST(FindToolGaps, AnOfferedToolThatCoversTheIntentMeansNoGap) {
  EXPECT_THAT(Missing("send an email to bob@example.com", {Offered("email.send")}), IsEmpty());
  EXPECT_THAT(Missing("send an email to bob@example.com", {Offered("gmail.sendMessage")}), IsEmpty());
  EXPECT_THAT(Missing("summarize https://example.com", {Offered("web.fetch")}), IsEmpty());
  // A draft tool cannot send.
  EXPECT_THAT(Missing("send an email to bob@example.com", {Offered("email.draft")}),
              ::testing::ElementsAre("email.send"));
  EXPECT_THAT(Missing("send an email to bob@example.com", {Offered("memory.search")}),
              ::testing::ElementsAre("email.send"));
}

TEST(FindToolGaps, SeveralIntentsGiveSeveralGaps) {
  EXPECT_THAT(Missing("buy the tickets and email the receipt to me@example.com"),
              ::testing::ElementsAre("email.send", "shop.purchase"));
}

TEST(ToolGapAnswer, AttemptsTheTaskBySayingWhatIsMissingAndDrafting) {
  const auto gaps = FindToolGaps(Normalize("Send an email to bob@example.com saying the report is ready."), {});
  const std::string answer = ToolGapAnswer(gaps, {});
  EXPECT_THAT(answer, HasSubstr("I can't send email here: I have no tools in this conversation."));
  EXPECT_THAT(answer, HasSubstr("To: bob@example.com\n\nthe report is ready\n"));
  EXPECT_THAT(answer, HasSubstr("tool-gap report"));
  EXPECT_THAT(answer, HasSubstr("email.send"));
}

TEST(BuildToolGapReport, HasEveryPartOfTheContract) {
  const NormalizedText text = Normalize("send an email to bob@example.com");
  const auto gaps = FindToolGaps(text, {});
  const Json report = BuildToolGapReport(text, gaps, {});
  EXPECT_EQ(report["task"], "send an email to bob@example.com");
  ASSERT_EQ(report["missing_tools"].size(), 1u);
  const Json& tool = report["missing_tools"][0];
  for (const char* key : {"name", "description", "inputs", "outputs", "estimated_risk"}) {
    EXPECT_TRUE(tool.contains(key)) << key;
  }
  EXPECT_EQ(tool["estimated_risk"], "high");
  EXPECT_EQ(report["existing_tools_checked"],
            Json::parse(R"([{"name": "tools/list", "evidence": "tools/list offered no tools to this agent"}])"));
  EXPECT_EQ(report["proposed_mcp_server"]["name"], "email");
  EXPECT_EQ(report["proposed_mcp_server"]["tools"], Json::array({"email.send"}));
}

TEST(BuildToolGapReport, CitesEachOfferedToolAsEvidence) {
  const NormalizedText text = Normalize("send an email to bob@example.com");
  const std::vector<OfferedTool> tools = {Offered("memory.search", "Search memory. Returns notes."),
                                          Offered("memory.remember")};
  const Json report = BuildToolGapReport(text, FindToolGaps(text, tools), tools);
  ASSERT_EQ(report["existing_tools_checked"].size(), 2u);
  EXPECT_EQ(report["existing_tools_checked"][0]["name"], "memory.search");
  EXPECT_THAT(report["existing_tools_checked"][0]["evidence"].get<std::string>(),
              HasSubstr("cannot send email (Search memory.)"));
}

TEST(OfflineProvider, AZeroToolTaskEndsWithAToolGapBlockAfterTheHonestyLine) {
  OfflineProvider provider({});
  ChatRequest request;
  request.messages = Json::array({{{"role", "user"}, {"content", "Send an email to bob@example.com saying hi"}}});
  auto result = provider.Complete(request, {});
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  const std::string& text = result->content;
  EXPECT_THAT(text, HasSubstr("Here is a draft you can send yourself"));
  const size_t honesty = text.find(OfflineProvider::kHonestyLine);
  const size_t block = text.find("```steward-tool-gap\n");
  ASSERT_NE(honesty, std::string::npos);
  ASSERT_NE(block, std::string::npos);
  EXPECT_LT(honesty, block);
  const size_t body = block + std::string("```steward-tool-gap\n").size();
  const size_t end = text.find("\n```", body);
  ASSERT_NE(end, std::string::npos);
  const Json report = Json::parse(text.substr(body, end - body));
  EXPECT_EQ(report["missing_tools"][0]["name"], "email.send");
  EXPECT_EQ(text.substr(end), "\n```\n");
}

TEST(OfflineProvider, NoGapNoBlock) {
  OfflineProvider provider({});
  ChatRequest request;
  request.messages = Json::array({{{"role", "user"}, {"content", "What is MVCC?"}}});
  auto result = provider.Complete(request, {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->content.find("steward-tool-gap"), std::string::npos);
}

}  // namespace
}  // namespace steward::models::detail
