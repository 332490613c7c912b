#include "memory/vector_index.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "memory/embedder.hpp"

namespace steward::memory {
namespace {

std::vector<float> RandomUnit(std::mt19937& rng, int dim) {
  std::normal_distribution<float> n(0, 1);
  std::vector<float> v(static_cast<size_t>(dim));
  for (auto& x : v) x = n(rng);
  Normalize(v);
  return v;
}

TEST(VectorIndex, FindsTheNearestVectorsWithCosineSimilarity) {
  VectorIndex index(4);
  ASSERT_TRUE(index.Upsert(1, {1, 0, 0, 0}).ok());
  ASSERT_TRUE(index.Upsert(2, {0, 1, 0, 0}).ok());
  std::vector<float> diag{1, 1, 0, 0};
  Normalize(diag);
  ASSERT_TRUE(index.Upsert(3, diag).ok());
  const auto hits = index.Search({1, 0, 0, 0}, 2);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].id, 1);
  EXPECT_NEAR(hits[0].similarity, 1.0, 1e-5);
  EXPECT_EQ(hits[1].id, 3);
  EXPECT_NEAR(hits[1].similarity, 0.7071, 1e-3);
}

TEST(VectorIndex, RejectsWrongDimensions) {
  VectorIndex index(4);
  const Status s = index.Upsert(1, {1, 0});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
}

TEST(VectorIndex, UpsertReplacesAndRemoveHides) {
  VectorIndex index(3);
  ASSERT_TRUE(index.Upsert(7, {1, 0, 0}).ok());
  ASSERT_TRUE(index.Upsert(8, {0, 1, 0}).ok());
  ASSERT_TRUE(index.Upsert(7, {0, 0, 1}).ok());  // moved
  EXPECT_EQ(index.size(), 2u);
  EXPECT_EQ(index.Search({0, 0, 1}, 1).at(0).id, 7);
  index.Remove(7);
  EXPECT_EQ(index.size(), 1u);
  for (const auto& m : index.Search({0, 0, 1}, 5)) EXPECT_NE(m.id, 7);
  index.Remove(12345);  // unknown: ignored
  ASSERT_TRUE(index.Upsert(7, {0, 0, 1}).ok());  // back again
  EXPECT_EQ(index.size(), 2u);
  EXPECT_EQ(index.Search({0, 0, 1}, 1).at(0).id, 7);
}

TEST(VectorIndex, GrowsPastItsInitialCapacityAndKeepsHighRecall) {
  VectorIndexOptions options;
  options.initial_capacity = 16;
  VectorIndex index(32, options);
  std::mt19937 rng(7);
  std::vector<std::pair<int64_t, std::vector<float>>> items;
  for (int i = 0; i < 3000; ++i) items.emplace_back(i + 1, RandomUnit(rng, 32));
  ASSERT_TRUE(index.UpsertMany({items.begin(), items.begin() + 1000}, 2).ok());
  for (size_t i = 1000; i < items.size(); ++i) ASSERT_TRUE(index.Upsert(items[i].first, items[i].second).ok());
  EXPECT_EQ(index.size(), 3000u);
  int found = 0, total = 0;
  for (int q = 0; q < 50; ++q) {
    const auto query = RandomUnit(rng, 32);
    std::set<int64_t> exact;
    for (const auto& m : index.SearchExact(query, 10)) exact.insert(m.id);
    for (const auto& m : index.Search(query, 10)) found += static_cast<int>(exact.count(m.id));
    total += 10;
  }
  EXPECT_GE(static_cast<double>(found) / total, 0.9);
}

TEST(VectorIndex, ScoreExactRanksOnlyTheGivenIds) {
  VectorIndex index(2);
  ASSERT_TRUE(index.Upsert(1, {1, 0}).ok());
  ASSERT_TRUE(index.Upsert(2, {0, 1}).ok());
  ASSERT_TRUE(index.Upsert(3, {0.6f, 0.8f}).ok());
  const auto hits = index.ScoreExact({0, 1}, {1, 3, 99}, 5);
  ASSERT_EQ(hits.size(), 2u);  // 99 is unknown
  EXPECT_EQ(hits[0].id, 3);
  EXPECT_EQ(hits[1].id, 1);
}

}  // namespace
}  // namespace steward::memory
