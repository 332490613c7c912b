#include "telemetry/span_tree.hpp"

#include <gtest/gtest.h>

namespace steward::telemetry {
namespace {

std::vector<std::string> Render(const std::vector<SpanLink>& spans) {
  std::vector<std::string> lines;
  for (const TreeRow& row : BuildSpanTree(spans)) lines.push_back(row.prefix + spans[row.index].span_id);
  return lines;
}

TEST(SpanTree, NestsChildrenUnderParentsOrderedByStart) {
  // Input in storage order, not tree order.
  const std::vector<SpanLink> spans = {
      {"model2", "worker", 40}, {"root", "", 0},          {"tool", "worker", 30}, {"worker", "root", 10},
      {"model1", "worker", 20}, {"memory", "tool", 31},   {"save", "root", 90},
  };
  EXPECT_EQ(Render(spans), (std::vector<std::string>{
                               "root",
                               "├─ worker",
                               "│  ├─ model1",
                               "│  ├─ tool",
                               "│  │  └─ memory",
                               "│  └─ model2",
                               "└─ save",
                           }));
}

TEST(SpanTree, SpansWhoseParentIsMissingBecomeRoots) {
  const std::vector<SpanLink> spans = {{"a", "", 0}, {"orphan", "gone", 5}, {"b", "a", 1}};
  EXPECT_EQ(Render(spans), (std::vector<std::string>{"a", "└─ b", "orphan"}));
}

TEST(SpanTree, EverySpanAppearsOnceEvenOnACycle) {
  const std::vector<SpanLink> spans = {{"x", "y", 0}, {"y", "x", 1}, {"self", "self", 2}};
  const auto rows = BuildSpanTree(spans);
  ASSERT_EQ(rows.size(), 3u);
  std::vector<bool> seen(3, false);
  for (const auto& r : rows) {
    EXPECT_FALSE(seen[r.index]);
    seen[r.index] = true;
  }
}

TEST(SpanTree, DepthCountsLevels) {
  const std::vector<SpanLink> spans = {{"r", "", 0}, {"c", "r", 1}, {"g", "c", 2}};
  const auto rows = BuildSpanTree(spans);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].depth, 0);
  EXPECT_EQ(rows[1].depth, 1);
  EXPECT_EQ(rows[2].depth, 2);
}

}  // namespace
}  // namespace steward::telemetry
