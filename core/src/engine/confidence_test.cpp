#include "engine/confidence.hpp"

#include <gtest/gtest.h>

namespace steward::engine {
namespace {

TEST(Confidence, FailedRunScoresZero) {
  ConfidenceInputs in;
  in.finished_normally = false;
  in.answer_nonempty = true;
  in.tool_calls = 3;
  in.sources = 10;
  EXPECT_EQ(ComputeConfidence(in).score, 0);
}

TEST(Confidence, EmptyAnswerFailsValidation) {
  ConfidenceInputs in{.finished_normally = true, .answer_nonempty = false};
  const Confidence c = ComputeConfidence(in);
  EXPECT_EQ(c.score, 0);
  EXPECT_FALSE(c.factors["validation_passed"].get<bool>());
}

TEST(Confidence, AnswerWithoutToolsIsCappedBelowSeventy) {
  ConfidenceInputs in{.finished_normally = true, .answer_nonempty = true};
  const Confidence c = ComputeConfidence(in);
  EXPECT_EQ(c.score, 69);  // 40 + 35*0.6 + 25*0.3 = 68.5, rounded
  EXPECT_TRUE(c.factors["tool_success_rate"].is_null());
}

TEST(Confidence, SuccessfulToolsWithSourcesScoreFull) {
  ConfidenceInputs in{.finished_normally = true, .answer_nonempty = true, .tool_calls = 2, .sources = 5};
  EXPECT_EQ(ComputeConfidence(in).score, 100);
}

TEST(Confidence, ToolErrorsLowerTheScore) {
  ConfidenceInputs ok{.finished_normally = true, .answer_nonempty = true, .tool_calls = 4, .sources = 3};
  ConfidenceInputs half = ok;
  half.tool_errors = 2;
  EXPECT_GT(ComputeConfidence(ok).score, ComputeConfidence(half).score);
  EXPECT_EQ(ComputeConfidence(half).score, 83);  // 40 + 17.5 + 25
}

TEST(Confidence, FallbackIsPenalised) {
  ConfidenceInputs in{.finished_normally = true, .answer_nonempty = true, .tool_calls = 1, .sources = 3};
  ConfidenceInputs fb = in;
  fb.used_fallback = true;
  EXPECT_EQ(ComputeConfidence(fb).score, 90);
}

TEST(Confidence, LineShowsOutcomeAndPercent) {
  EXPECT_EQ(ConfidenceLine(true, 82), "✓ complete (confidence 82%)");
  EXPECT_EQ(ConfidenceLine(false, 0), "✗ failed (confidence 0%)");
}

}  // namespace
}  // namespace steward::engine
