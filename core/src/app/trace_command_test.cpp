#include "app/trace_command.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace steward::app {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using nlohmann::json;

json Span(const std::string& id, const char* parent, const std::string& name, int64_t start, double ms, json attributes,
          const std::string& status = "ok", const std::string& message = "") {
  return {{"span_id", id},
          {"parent_span_id", parent ? json(parent) : json(nullptr)},
          {"name", name},
          {"start_ns", start},
          {"duration_ms", ms},
          {"status", status},
          {"status_message", message},
          {"attributes", std::move(attributes)}};
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end = text.find('\n'); end != std::string::npos; start = end + 1, end = text.find('\n', start)) {
    lines.push_back(text.substr(start, end - start));
  }
  return lines;
}

TEST(RenderTrace, PrintsTheTreeWithDurationsTokensCostsAndErrors) {
  const json trace = {
      {"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"},
      {"run", {{"id", "r1"}, {"status", "failed"}}},
      {"spans",
       {Span("tool", "agent", "execute_tool memory.search", 30, 2.94, {{"tool.result_count", 2}, {"risk.level", "low"}}),
        Span("root", nullptr, "chat.run", 0, 412.4,
             {{"agent.id", "researcher"}, {"steward.cost_usd", 0.0003}, {"steward.confidence", 83}}),
        Span("agent", "root", "invoke_agent researcher", 5, 405, {{"steward.worker.runtime", "python"}}),
        Span("m1", "agent", "chat offline", 10, 3.1,
             {{"gen_ai.usage.input_tokens", 561}, {"gen_ai.usage.output_tokens", 216}, {"steward.cost_usd", 0}}),
        Span("m2", "agent", "chat offline", 40, 2.4, json::object(), "error", "HTTP 503: overloaded")}}};
  const auto lines = Lines(RenderTrace(trace));
  ASSERT_EQ(lines.size(), 6u) << RenderTrace(trace);
  EXPECT_EQ(lines[0], "trace 4bf92f3577b34da6a3ce929d0e0e4736  (run r1, failed)");
  EXPECT_EQ(lines[1], "chat.run researcher (412 ms, $0.0003, confidence 83%)");
  // The worker's span is the root's only child; the calls are its children.
  EXPECT_THAT(lines[2], ::testing::StartsWith("└─ worker: invoke_agent researcher (405 ms)"));
  EXPECT_THAT(lines[2], ::testing::EndsWith("[python]"));
  EXPECT_EQ(lines[3], "   ├─ chat offline (3.1 ms, 561→216 tokens)");
  EXPECT_EQ(lines[4], "   ├─ execute_tool memory.search (2.9 ms, 2 results)");
  EXPECT_EQ(lines[5], "   └─ chat offline (2.4 ms)  ✗ HTTP 503: overloaded");
}

TEST(RenderTrace, ShowsTheIterationOfALangGraphNode) {
  const json trace = {
      {"trace_id", "t"},
      {"run", {{"id", "r"}, {"status", "succeeded"}}},
      {"spans",
       {Span("root", nullptr, "agent.run", 0, 900, json::object()),
        Span("n1", "root", "langgraph.node critique", 10, 1.5,
             {{"steward.worker.runtime", "python"}, {"langgraph.node", "critique"}, {"langgraph.iteration", 2}})}}};
  const auto lines = Lines(RenderTrace(trace));
  ASSERT_EQ(lines.size(), 3u) << RenderTrace(trace);
  EXPECT_THAT(lines[2], ::testing::StartsWith("└─ worker: langgraph.node critique (1.5 ms, iteration 2)"));
}

TEST(RenderTrace, SaysWhyThereIsNothingToShow) {
  const json trace = {{"trace_id", "t"}, {"run", {{"id", "r"}, {"status", "succeeded"}}}, {"spans", json::array()}};
  EXPECT_THAT(RenderTrace(trace), HasSubstr("no spans stored for this run"));
}

TEST(RenderTrace, HighRiskToolsAreMarked) {
  const json trace = {{"spans", {Span("t", nullptr, "execute_tool mail.send", 0, 1, {{"risk.level", "high"}})}}};
  EXPECT_THAT(RenderTrace(trace), HasSubstr("high risk"));
}

TEST(RenderTrace, EndsWithTheRunsTotalCostWithItsChildRuns) {
  const json trace = {{"trace_id", "t"},
                      {"run", {{"id", "r1"}, {"status", "succeeded"}}},
                      {"spans", {Span("root", nullptr, "workflow.run digest", 0, 100, json::object())}},
                      {"cost", {{"model_calls", 12}, {"prompt_tokens", 900}, {"completion_tokens", 1200}, {"cost_usd", 1.25}}}};
  const auto lines = Lines(RenderTrace(trace));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "total $1.25 in 12 model calls (900→1200 tokens, child runs included)");
}

}  // namespace
}  // namespace steward::app
