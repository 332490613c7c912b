#include "app/detail/ingest_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace steward::app {
namespace {

using ::testing::HasSubstr;

Result<Config> Load(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  EnvLookup lookup = [env = std::move(env)](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  return LoadConfigText(yaml, "steward.yaml", "/etc/steward", lookup);
}

TEST(IngestConfig, DefaultsToNoFoldersAndOneMebibyteOfText) {
  auto config = Load("server: {listen: 127.0.0.1:1}\n");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_TRUE(config->memory.ingest.folders.empty());
  EXPECT_EQ(config->memory.ingest.options.max_text_bytes, 1u << 20);
  EXPECT_FALSE(config->memory.ingest.options.include_hidden);
}

TEST(IngestConfig, ParsesFoldersExpandingHomeAndRelativePaths) {
  auto config = Load(R"(
memory:
  ingest:
    max_text_bytes: 65536
    max_file_bytes: 1048576
    include_hidden: true
    folders:
      - path: ~/notes/
        interval_s: 600
        include: ["*.md", "*.txt"]
        exclude: ["drafts/*"]
      - {path: shared/docs, recursive: false}
)",
                     {{"HOME", "/home/ada"}});
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  const auto& ingest = config->memory.ingest;
  EXPECT_EQ(ingest.options.max_text_bytes, 65536u);
  EXPECT_EQ(ingest.options.max_file_bytes, 1048576u);
  EXPECT_TRUE(ingest.options.include_hidden);
  ASSERT_EQ(ingest.folders.size(), 2u);
  EXPECT_EQ(ingest.folders[0].path, "/home/ada/notes");
  EXPECT_EQ(ingest.folders[0].interval, std::chrono::seconds(600));
  EXPECT_THAT(ingest.folders[0].include, ::testing::ElementsAre("*.md", "*.txt"));
  EXPECT_THAT(ingest.folders[0].exclude, ::testing::ElementsAre("drafts/*"));
  EXPECT_TRUE(ingest.folders[0].recursive);
  EXPECT_EQ(ingest.folders[1].path, "/etc/steward/shared/docs");
  EXPECT_FALSE(ingest.folders[1].recursive);
  EXPECT_EQ(ingest.folders[1].interval, std::chrono::hours(1));
}

TEST(IngestConfig, ErrorsNameTheKeyPath) {
  struct Case {
    const char* yaml;
    const char* context;
    const char* message;
  };
  const Case cases[] = {
      {"memory: {ingest: {folders: [{interval_s: 60}]}}", "memory.ingest.folders[0]", "needs path"},
      {"memory: {ingest: {folders: [{path: /a, interval_s: 1}]}}", "memory.ingest.folders[0].interval_s", "10"},
      {"memory: {ingest: {folders: [{path: /a, recursive: maybe}]}}", "memory.ingest.folders[0].recursive",
       "true or false"},
      {"memory: {ingest: {folders: [{path: /a}, {path: /a/}]}}", "memory.ingest.folders[1]", "listed twice"},
      {"memory: {ingest: {folders: {path: /a}}}", "memory.ingest.folders", "list of folders"},
      {"memory: {ingest: {max_text_bytes: 10}}", "memory.ingest.max_text_bytes", "1024"},
      {"memory: {ingest: {crawl: []}}", "memory.ingest", "crawl"},
  };
  for (const Case& c : cases) {
    auto config = Load(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.error().code, ErrorCode::kConfig);
    EXPECT_THAT(config.error().context, HasSubstr(c.context)) << c.yaml;
    EXPECT_THAT(config.error().ToString(), HasSubstr(c.message)) << c.yaml;
  }
}

TEST(IngestConfig, TildeWithoutHomeIsAnError) {
  auto config = Load("memory: {ingest: {folders: [{path: ~/notes}]}}");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().message, HasSubstr("HOME"));
}

}  // namespace
}  // namespace steward::app
