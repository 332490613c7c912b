#include "app/workflow_command.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace steward::app {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(ParseInputPairs, KeepsJsonTypesAndTakesOtherValuesAsStrings) {
  auto parsed = ParseInputPairs({"n=3", "flag=true", "topic=rust async", "list=[1,2]", "empty=", "eq=a=b"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, json({{"n", 3}, {"flag", true}, {"topic", "rust async"}, {"list", {1, 2}}, {"empty", ""},
                           {"eq", "a=b"}}));
}

TEST(ParseInputPairs, RefusesItemsWithoutAKey) {
  for (const char* bad : {"novalue", "=x"}) {
    auto parsed = ParseInputPairs({bad});
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(parsed.error().message, HasSubstr("KEY=VALUE"));
  }
}

TEST(RenderRunDetails, ShowsEachStepWithItsStatusAttemptsAndError) {
  const json run = {
      {"id", "r1"}, {"workflow", "digest"}, {"status", "failed"}, {"duration_ms", 1234.0}, {"trigger", "cli"},
      {"input", {{"to", "me"}}}, {"output", nullptr}, {"error", {{"message", "send failed"}}},
      {"steps",
       {{{"path", "fetch"}, {"kind", "tool"}, {"status", "succeeded"}, {"duration_ms", 12.0}, {"attempts", 1},
         {"error", nullptr}},
        {{"path", "send"}, {"kind", "tool"}, {"status", "failed"}, {"duration_ms", 30.0}, {"attempts", 3},
         {"error", {{"message", "SMTP refused"}}}}}}};
  const std::string text = RenderRunDetails(run);
  EXPECT_THAT(text, HasSubstr("run r1  digest  failed"));
  EXPECT_THAT(text, HasSubstr("✓ fetch [tool] succeeded, 12 ms"));
  EXPECT_THAT(text, HasSubstr("✗ send [tool] failed, 30 ms, 3 attempts  — SMTP refused"));
  EXPECT_THAT(text, HasSubstr("error:  send failed"));
}

TEST(RenderRunDetails, ShowsTheIterationsOfAGraphStep) {
  const json run = {
      {"id", "r2"}, {"workflow", "daily_research"}, {"status", "succeeded"}, {"duration_ms", 9000.0},
      {"trigger", "cli"},
      {"steps",
       {{{"path", "research[0].investigate"}, {"kind", "agent"}, {"status", "succeeded"}, {"duration_ms", 4000.0},
         {"attempts", 1}, {"output", {{"text", "answer"}, {"data", {{"graph", "research"}, {"iterations", 2}}}}}},
        {{"path", "digest"}, {"kind", "agent"}, {"status", "succeeded"}, {"duration_ms", 5.0}, {"attempts", 1},
         {"output", {{"text", "digest"}, {"data", {{"subject", "s"}}}}}}}}};
  const std::string text = RenderRunDetails(run);
  EXPECT_THAT(text, HasSubstr("✓ research[0].investigate [agent] succeeded, 4000 ms, research 2 iterations\n"));
  EXPECT_THAT(text, HasSubstr("✓ digest [agent] succeeded, 5 ms\n"));
}

}  // namespace
}  // namespace steward::app
