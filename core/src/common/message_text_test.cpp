#include "common/message_text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace steward {
namespace {

TEST(EditDistance, CountsEditsIgnoringCase) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("Agent", "agent"), 0u);
  EXPECT_EQ(EditDistance("shcedule", "schedule"), 2u);  // a swap is two edits
}

TEST(DidYouMean, SuggestsTheClosestLikelyTypo) {
  const std::vector<std::string> names = {"schedule", "steps", "trigger"};
  EXPECT_EQ(DidYouMean("shcedule", names), "; did you mean \"schedule\"?");
  EXPECT_EQ(DidYouMean("step", names), "; did you mean \"steps\"?");
  EXPECT_EQ(DidYouMean("output", names), "");
  // The same from string_views (the config reader's key lists).
  const std::vector<std::string_view> keys = {"skip", "catch_up"};
  EXPECT_EQ(DidYouMean("catchup", keys), "; did you mean \"catch_up\"?");
  EXPECT_EQ(DidYouMean("x", keys), "");
}

TEST(DidYouMean, AllowsMoreEditsForLongerWordsUpToThree) {
  const std::vector<std::string> names = {"max_attempts"};
  EXPECT_EQ(DidYouMean("max_atempts", names), "; did you mean \"max_attempts\"?");  // 1 edit
  EXPECT_EQ(DidYouMean("mx_atmpts", names), "; did you mean \"max_attempts\"?");    // 3 edits
  EXPECT_EQ(DidYouMean("m_atmts", names), "");                                      // 5 edits
  // A short word gets one edit at most, and a one-letter word is never a typo of another.
  EXPECT_EQ(DidYouMean("tol", std::vector<std::string>{"tool"}), "; did you mean \"tool\"?");
  EXPECT_EQ(DidYouMean("tl", std::vector<std::string>{"tool"}), "");
  EXPECT_EQ(DidYouMean("q", std::vector<std::string>{"p"}), "");
}

TEST(DidYouMean, TakesTheFirstOfEquallyCloseCandidates) {
  EXPECT_EQ(DidYouMean("cat", std::vector<std::string>{"bat", "car"}), "; did you mean \"bat\"?");
  EXPECT_EQ(DidYouMean("cat", std::vector<std::string>{}), "");
}

TEST(JoinList, JoinsWithCommasAndAChosenLastSeparator) {
  const std::vector<std::string_view> three = {"a", "b", "c"};
  EXPECT_EQ(JoinList(three), "a, b, c");
  EXPECT_EQ(JoinList(three, " or "), "a, b or c");
  EXPECT_EQ(JoinList(std::vector<std::string>{"a", "b"}, " or "), "a or b");
  EXPECT_EQ(JoinList(std::vector<std::string>{"a"}, " or "), "a");
  EXPECT_EQ(JoinList(std::vector<std::string>{}), "");
}

TEST(JoinListOrNone, SaysNoneForAnEmptyList) {
  EXPECT_EQ(JoinListOrNone(std::vector<std::string>{}), "none");
  EXPECT_EQ(JoinListOrNone(std::vector<std::string_view>{}), "none");
  EXPECT_EQ(JoinListOrNone(std::vector<std::string>{"to", "limit"}), "to, limit");
}

TEST(Quote, QuotesOnOneLineAndCutsLongValues) {
  EXPECT_EQ(Quote("email.send"), "\"email.send\"");
  EXPECT_EQ(Quote(""), "\"\"");
  EXPECT_EQ(Quote("a\nb\tc\r"), "\"a b c \"");
  const std::string sixty(60, 'x');
  EXPECT_EQ(Quote(sixty), "\"" + sixty + "\"");
  EXPECT_EQ(Quote(sixty + "yz"), "\"" + sixty + "...\"");
}

}  // namespace
}  // namespace steward
