#include "memory/hybrid_search.hpp"

#include <gtest/gtest.h>

namespace steward::memory {
namespace {

std::vector<RankedItem> List(std::initializer_list<int64_t> items) {
  std::vector<RankedItem> out;
  for (int64_t id : items) out.push_back({id, id * 10, 0});
  return out;
}

TEST(FuseRanks, AnItemFoundByBothPathsBeatsItemsFoundByOne) {
  const auto fused = FuseRanks(List({1, 2, 3}), List({4, 3, 5}), 1.0, 1.0, 60);
  ASSERT_FALSE(fused.empty());
  EXPECT_EQ(fused[0].item_id, 3);
  EXPECT_EQ(fused[0].text_rank, 3);
  EXPECT_EQ(fused[0].vector_rank, 2);
  EXPECT_NEAR(fused[0].rrf, 1.0 / 63 + 1.0 / 62, 1e-12);
  EXPECT_EQ(fused.size(), 5u);
}

TEST(FuseRanks, WeightsShiftTheOrder) {
  const auto text_heavy = FuseRanks(List({1}), List({2}), 2.0, 1.0, 60);
  EXPECT_EQ(text_heavy[0].item_id, 1);
  const auto vector_heavy = FuseRanks(List({1}), List({2}), 1.0, 2.0, 60);
  EXPECT_EQ(vector_heavy[0].item_id, 2);
  EXPECT_FALSE(vector_heavy[0].text_rank.has_value());
}

TEST(FuseRanks, EmptyListsGiveNothing) { EXPECT_TRUE(FuseRanks({}, {}, 1, 1, 60).empty()); }

TEST(RecencyBoost, HalvesWithEachHalfLifeAndIsOffWithZeroWeight) {
  EXPECT_DOUBLE_EQ(RecencyBoost(0, 30, 0.5), 1.5);
  EXPECT_DOUBLE_EQ(RecencyBoost(30, 30, 0.5), 1.25);
  EXPECT_NEAR(RecencyBoost(3000, 30, 0.5), 1.0, 1e-9);
  EXPECT_DOUBLE_EQ(RecencyBoost(0, 30, 0), 1.0);
  EXPECT_DOUBLE_EQ(RecencyBoost(-5, 30, 0.5), 1.5);  // clock skew: never above "brand new"
}

TEST(SourceAuthority, FirstMatchingGlobWinsDefaultIsOne) {
  const std::map<std::string, double> globs{{"/home/me/notes/*", 1.5}, {"https://*", 0.7}};
  EXPECT_DOUBLE_EQ(SourceAuthority("/home/me/notes/a.md", globs), 1.5);
  EXPECT_DOUBLE_EQ(SourceAuthority("https://example.com/x", globs), 0.7);
  EXPECT_DOUBLE_EQ(SourceAuthority("conversation:abc", globs), 1.0);
}

TEST(ArrayLiteral, FormatsForRealArraysAndPgvector) {
  EXPECT_EQ(ArrayLiteral({0.5f, -1.0f}), "{0.5,-1}");
  EXPECT_EQ(ArrayLiteral({0.25f}, '[', ']'), "[0.25]");
}

}  // namespace
}  // namespace steward::memory
