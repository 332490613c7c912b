#include "app/detail/workflows_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace steward::app {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

Result<Config> Load(const std::string& yaml, const fs::path& base = "/etc/steward") {
  const EnvLookup lookup = [](const std::string& name) -> std::optional<std::string> {
    if (name == "WF_DIR") return std::string("flows");
    return std::nullopt;
  };
  return LoadConfigText(yaml, "steward.yaml", base, lookup);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "wfcfg-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  void Write(const std::string& rel, const std::string& text) const {
    fs::create_directories((path_ / rel).parent_path());
    std::ofstream(path_ / rel) << text;
  }

 private:
  fs::path path_;
};

TEST(WorkflowsConfig, NoSectionMeansNoWorkflows) {
  auto config = Load("server: {listen: 127.0.0.1:8377}\n");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_TRUE(config->workflows.empty());
  EXPECT_TRUE(DefaultConfig().workflows.empty());
}

TEST(WorkflowsConfig, ReadsInlineDefinitionsCheckedAgainstAgentsAndModels) {
  auto config = Load(R"(
workflows:
  daily:
    schedule: "0 8 * * *"
    inputs: {to: "me@example.org"}
    steps:
      - {id: ask, agent: researcher, message: "What is new?"}
      - {id: sum, model: offline, prompt: "Summarize ${steps.ask.output}"}
      - {id: sub, workflow: child, input: {topic: "${steps.sum.output}"}}
  child:
    inputs: {topic: null}
    steps: [{id: send, tool: email.send, input: {to: "${inputs.topic}"}}]
)");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  ASSERT_EQ(config->workflows.size(), 2u);
  const auto& daily = config->workflows.at("daily");
  EXPECT_EQ(daily.name, "daily");
  EXPECT_EQ(daily.source, "steward.yaml");
  EXPECT_EQ(daily.trigger, "schedule");
  ASSERT_EQ(daily.steps.size(), 3u);
  EXPECT_EQ(daily.steps[1].model, "offline");
  // ${...} in workflows are templates, not environment variables.
  EXPECT_EQ(daily.steps[1].prompt, "Summarize ${steps.ask.output}");
  EXPECT_EQ(config->workflows.at("child").steps[0].tool, "email.send");
}

TEST(WorkflowsConfig, ErrorsNameTheConfigFileLineAndStep) {
  auto config = Load(R"(
workflows:
  daily:
    steps:
      - {id: a, agent: nobody, message: hi}
)");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ErrorCode::kConfig);
  EXPECT_THAT(config.error().ToString(),
              HasSubstr("steward.yaml: workflows.daily.steps[0] (id 'a').agent (line 5, column "));
  EXPECT_THAT(config.error().message, HasSubstr("unknown agent \"nobody\" (agents: researcher)"));
}

TEST(WorkflowsConfig, RejectsSubWorkflowCyclesAndMissingInputs) {
  auto config = Load(R"(
workflows:
  a: {steps: [{id: x, workflow: b}]}
  b: {steps: [{id: y, workflow: a}]}
)");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().message, HasSubstr("cycle (a -> b -> a)"));

  config = Load(R"(
workflows:
  a: {steps: [{id: x, workflow: b}]}
  b: {inputs: {topic: null}, steps: [{id: y, tool: t.x}]}
)");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().message, HasSubstr("requires input 'topic'"));
}

TEST(WorkflowsConfig, ReadsADefinitionFromAFileRelativeToTheConfig) {
  TempDir dir;
  dir.Write("flows/daily.yaml", "description: from a file\nsteps:\n  - {id: a, tool: web.fetch}\n");
  dir.Write("steward.yaml", "workflows:\n  daily: {file: \"${WF_DIR}/daily.yaml\"}\n");
  auto config = LoadConfigFile(dir.path() / "steward.yaml", [](const std::string& n) -> std::optional<std::string> {
    if (n == "WF_DIR") return std::string("flows");
    return std::nullopt;
  });
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  const auto& daily = config->workflows.at("daily");
  EXPECT_EQ(daily.description, "from a file");
  EXPECT_EQ(daily.source, (dir.path() / "flows/daily.yaml").lexically_normal());
}

TEST(WorkflowsConfig, FileErrorsNameTheWorkflowFile) {
  TempDir dir;
  dir.Write("flows/bad.yaml", "steps:\n  - {id: a, tool: web.fetch, timeout: soon}\n");
  auto config = Load("workflows:\n  bad: {file: flows/bad.yaml}\n", dir.path());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().ToString(),
              HasSubstr((dir.path() / "flows/bad.yaml").string() + ": workflows.bad.steps[0] (id 'a').timeout (line 2"));

  config = Load("workflows:\n  gone: {file: flows/missing.yaml}\n", dir.path());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().ToString(), HasSubstr("steward.yaml: workflows.gone.file"));
  EXPECT_THAT(config.error().message, HasSubstr("does not exist"));

  config = Load("workflows:\n  mixed: {file: flows/bad.yaml, steps: []}\n", dir.path());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().message, HasSubstr("has no other keys"));

  config = Load("workflows:\n  empty:\n", dir.path());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().message, HasSubstr("expected a workflow definition"));
}

}  // namespace
}  // namespace steward::app
