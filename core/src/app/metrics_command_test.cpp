#include "app/metrics_command.hpp"

#include <gtest/gtest.h>

namespace steward::app {
namespace {

using nlohmann::json;

json Summary() {
  return {{"window", {{"since", "2026-11-19T09:00:00Z"}, {"until", "2026-11-26T09:00:00Z"}, {"since_arg", "7d"}}},
          {"metrics",
           {{"decision_approval_rate",
             {{"title", "Decision approval rate"}, {"value", 0.75}, {"unit", "ratio"}, {"n", 4},
              {"n_of", "tool calls by agents"}, {"target", ">= 80%"}, {"how", "approved / all"},
              {"details", {{"approved", 1}, {"denied", 1}}}}},
            {"latency_p50",
             {{"title", "Chat turn latency p50"}, {"value", 1234.4}, {"unit", "ms"}, {"n", 4},
              {"n_of", "succeeded chat turns"}, {"target", "< 30 s"}, {"how", "median"},
              {"details", {{"p95_ms", 2000.0}}}}},
            {"workflow_completion_rate",
             {{"title", "Workflow completion rate"}, {"value", nullptr}, {"unit", "ratio"}, {"n", 0},
              {"n_of", "finished workflow runs"}, {"target", ">= 95%"}, {"how", "succeeded / finished"},
              {"details", json::object()}}}}}};
}

TEST(RenderSuccessMetrics, ShowsValueNTargetAndDetailsInOrder) {
  const std::string out = RenderSuccessMetrics(Summary(), false);
  EXPECT_NE(out.find("since 2026-11-19T09:00:00Z (7d)"), std::string::npos) << out;
  EXPECT_NE(out.find("Decision approval rate"), std::string::npos) << out;
  EXPECT_NE(out.find("75.0%   n=4 tool calls by agents   (target >= 80%)"), std::string::npos) << out;
  EXPECT_NE(out.find("approved 1, denied 1"), std::string::npos) << out;
  EXPECT_NE(out.find("1234 ms   n=4"), std::string::npos) << out;
  EXPECT_NE(out.find("p95 2000 ms"), std::string::npos) << out;
  EXPECT_NE(out.find("—   n=0 finished workflow runs"), std::string::npos) << out;
  EXPECT_LT(out.find("Decision approval rate"), out.find("Workflow completion rate"));
  EXPECT_LT(out.find("Workflow completion rate"), out.find("Chat turn latency"));
  EXPECT_EQ(out.find("how:"), std::string::npos);
  EXPECT_NE(RenderSuccessMetrics(Summary(), true).find("how: approved / all"), std::string::npos);
}

}  // namespace
}  // namespace steward::app
