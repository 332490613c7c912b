#include "app/tools_command.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace steward::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RenderTools, PrintsServersWithHealthAndToolsWithTiers) {
  const auto answer = nlohmann::json::parse(R"({
    "servers": [
      {"name": "fs", "transport": "stdio", "health": "ready", "tool_count": 14, "pid": 4242,
       "protocol_version": "2025-11-25", "restarts": 0, "last_error": null},
      {"name": "py", "transport": "stdio", "health": "restarting", "tool_count": 3, "restarts": 2,
       "retry_in_s": 1.5, "last_error": "the server process exited with status 3"},
      {"name": "memory", "transport": "builtin", "health": "ready", "tool_count": 2, "last_error": null}
    ],
    "tools": [
      {"name": "fs.read_text_file", "risk_tier": "low",
       "description": "Read the complete contents of a file as text. Use this tool when you need it.\nMore."},
      {"name": "fs.write_file", "risk_tier": "high", "description": "Create a new file or completely overwrite an existing file with new content, with a very long explanation"}
    ]})");
  const std::string out = RenderTools(answer);
  EXPECT_THAT(out, HasSubstr("SERVER  TRANSPORT  HEALTH      TOOLS  DETAIL\n"));
  EXPECT_THAT(out, HasSubstr("fs      stdio      ready       14     pid 4242, MCP 2025-11-25\n"));
  EXPECT_THAT(out, HasSubstr("py      stdio      restarting  3      2 restarts, retry in 1.5 s: the server "
                             "process exited with status 3\n"));
  EXPECT_THAT(out, HasSubstr("memory  builtin    ready       2\n"));
  EXPECT_THAT(out, HasSubstr("fs.read_text_file  low   Read the complete contents of a file as text.\n"));
  EXPECT_THAT(out, Not(HasSubstr("Use this tool")));
  EXPECT_THAT(out, HasSubstr("fs.write_file      high  Create a new file or completely overwrite an existing file "
                             "with new c…\n"));
}

TEST(RenderTools, SaysWhenThereAreNoTools) {
  EXPECT_THAT(RenderTools({{"servers", nlohmann::json::array()}, {"tools", nlohmann::json::array()}}),
              HasSubstr("No tools are available."));
}

}  // namespace
}  // namespace steward::app
