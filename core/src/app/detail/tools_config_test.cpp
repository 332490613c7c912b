#include "app/detail/tools_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <map>

namespace steward::app {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

Result<Config> Load(const std::string& yaml, std::map<std::string, std::string> env = {},
                    const fs::path& base_dir = "/nonexistent-steward-dir") {
  EnvLookup lookup = [env = std::move(env)](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  return LoadConfigText(yaml, "steward.yaml", base_dir, lookup);
}

TEST(ToolsConfig, DefaultsToTheLocalCorpusAndNoEmail) {
  auto config = Load("server: {listen: 127.0.0.1:1}\n");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_TRUE(config->tools.web.enabled);
  EXPECT_EQ(config->tools.web.search_backend, "local");
  EXPECT_FALSE(config->tools.web.allow_private);
  EXPECT_TRUE(config->tools.email.smtp_url.empty());
}

TEST(ToolsConfig, ParsesWebAndEmailWithSecretsFromTheEnvironment) {
  const fs::path dir = fs::temp_directory_path() / ("steward-tools-config-" + std::to_string(::getpid()));
  fs::create_directories(dir / "docs");
  std::ofstream(dir / "hn.json") << "[]";
  auto config = Load(R"(
tools:
  web:
    search_backend: searxng
    searxng_url: http://127.0.0.1:8888/
    corpus: docs
    allow_private: yes
    allow_hosts: ["127.0.0.1:8080", "[::1]", "*.lan"]
    timeout_s: 2.5
    max_bytes: 100000
    max_text_bytes: 5000
    offline: true
    hn_fixture: hn.json
  email:
    smtp_url: smtps://smtp.example.com:465
    from: "Steward <steward@example.com>"
    username: me
    password: ${SMTP_PASSWORD}
    starttls: false
    allow_recipients: ["*@example.com"]
)",
                     {{"SMTP_PASSWORD", "hunter2-secret"}}, dir);
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  const auto& web = config->tools.web;
  EXPECT_EQ(web.search_backend, "searxng");
  EXPECT_EQ(web.searxng_url, "http://127.0.0.1:8888");
  EXPECT_EQ(web.corpus, dir / "docs");
  EXPECT_TRUE(web.allow_private);
  EXPECT_EQ(web.allow_hosts.size(), 3u);
  EXPECT_EQ(web.timeout.count(), 2500);
  EXPECT_EQ(web.max_bytes, 100000u);
  EXPECT_EQ(web.max_text_bytes, 5000u);
  EXPECT_TRUE(web.offline);
  EXPECT_EQ(web.hn_fixture, dir / "hn.json");
  const auto& email = config->tools.email;
  EXPECT_EQ(email.smtp_url, "smtps://smtp.example.com:465");
  EXPECT_EQ(email.password, "hunter2-secret");
  EXPECT_EQ(email.allow_recipients, std::vector<std::string>{"*@example.com"});
  fs::remove_all(dir);
}

struct BadCase {
  const char* yaml;
  const char* message;
};

class ToolsConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ToolsConfigErrors, NameTheKeyAndWhatWasExpected) {
  auto config = Load(GetParam().yaml, {{"PW", "x"}});
  ASSERT_FALSE(config.ok()) << GetParam().yaml;
  EXPECT_EQ(config.error().code, ErrorCode::kConfig);
  EXPECT_THAT(config.error().ToString(), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ToolsConfigErrors,
    ::testing::Values(
        BadCase{"tools: {web: {serch_backend: local}}", "serch_backend"},
        BadCase{"tools: {web: {search_backend: google}}", "expected local or searxng"},
        BadCase{"tools: {web: {search_backend: searxng}}", "needs searxng_url"},
        BadCase{"tools: {web: {searxng_url: ftp://x}}", "http:// or https://"},
        BadCase{"tools: {web: {corpus: nowhere}}", "does not exist"},
        BadCase{"tools: {web: {allow_private: maybe}}", "true or false"},
        BadCase{"tools: {web: {allow_hosts: [\"http://10.0.0.1/\"]}}", "host:port"},
        BadCase{"tools: {web: {max_bytes: 2000, max_text_bytes: 5000}}", "cannot exceed max_bytes"},
        BadCase{"tools: {email: {smtp_url: http://mail}}", "smtp://"},
        BadCase{"tools: {email: {smtp_url: smtp://mail:25}}", "from is required"},
        BadCase{"tools: {email: {smtp_url: smtp://mail:25, from: not-an-address}}", "tools.email.from"},
        BadCase{"tools: {email: {password: \"${MISSING}\"}}", "MISSING is not set"},
        BadCase{"tools: {sms: {}}", "sms"}));

}  // namespace
}  // namespace steward::app
