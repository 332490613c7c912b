#include "tools/glob.hpp"

#include <gtest/gtest.h>

namespace steward::tools {
namespace {

struct GlobCase {
  const char* pattern;
  const char* text;
  bool matches;
};

class GlobMatchTest : public ::testing::TestWithParam<GlobCase> {};

TEST_P(GlobMatchTest, MatchesAsDocumented) {
  const auto& c = GetParam();
  EXPECT_EQ(GlobMatch(c.pattern, c.text), c.matches) << c.pattern << " vs " << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GlobMatchTest,
    ::testing::Values(GlobCase{"memory.search", "memory.search", true},
                      GlobCase{"memory.search", "memory.searc", false},
                      GlobCase{"memory.search", "memory.search2", false},
                      GlobCase{"memory.*", "memory.search", true},
                      GlobCase{"memory.*", "memory.", true},
                      GlobCase{"memory.*", "memoryx.search", false},
                      GlobCase{"*", "anything.at.all", true},
                      GlobCase{"*", "", true},
                      GlobCase{"", "", true},
                      GlobCase{"", "a", false},
                      GlobCase{"*.search", "web.search", true},
                      GlobCase{"*.search", "web.search.more", false},
                      GlobCase{"web.fetch?", "web.fetch2", true},
                      GlobCase{"web.fetch?", "web.fetch", false},
                      GlobCase{"web.fetch?", "web.fetch22", false},
                      GlobCase{"m*y.*", "memory.recall", true},
                      GlobCase{"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
                      GlobCase{"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaab", true},
                      GlobCase{"Memory.*", "memory.search", false}));

TEST(GlobMatchAny, EmptyListMatchesNothing) {
  EXPECT_FALSE(GlobMatchAny({}, "memory.search"));
}

TEST(GlobMatchAny, AnyPatternSuffices) {
  EXPECT_TRUE(GlobMatchAny({"web.*", "memory.search"}, "memory.search"));
  EXPECT_FALSE(GlobMatchAny({"web.*", "memory.recall_*"}, "memory.search"));
}

}  // namespace
}  // namespace steward::tools
