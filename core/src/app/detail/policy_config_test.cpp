#include "app/detail/policy_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace steward::app {
namespace {

using ::testing::HasSubstr;
using tools::Tier;

Result<Config> Load(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  const EnvLookup lookup = [env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  return LoadConfigText(yaml, "steward.yaml", "/etc/steward", lookup);
}

TEST(PolicyConfig, DefaultsWaitFiveMinutesWithNoTiersAndTheHomeScratchFolder) {
  const Result<Config> config = Load("server: {listen: 127.0.0.1:8377}\n");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_TRUE(config->policy.tiers.empty());
  EXPECT_EQ(config->policy.approval_timeout, std::chrono::minutes(5));
  EXPECT_TRUE(config->policy.scratch_dir.empty());  // the server fills in $STEWARD_HOME/scratch
  EXPECT_TRUE(DefaultConfig().policy.tiers.empty());
}

TEST(PolicyConfig, ReadsTiersInFileOrderTimeoutAndScratchDir) {
  const Result<Config> config = Load(R"(
policy:
  tiers: {"email.send": high, "web.*": medium, "memory.*": low}
  approval_timeout_s: 2.5
  scratch_dir: scratch/here
)");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  const auto& tiers = config->policy.tiers;
  ASSERT_EQ(tiers.size(), 3u);
  EXPECT_EQ(tiers[0], std::make_pair(std::string("email.send"), Tier::kHigh));
  EXPECT_EQ(tiers[1], std::make_pair(std::string("web.*"), Tier::kMedium));
  EXPECT_EQ(tiers[2], std::make_pair(std::string("memory.*"), Tier::kLow));
  EXPECT_EQ(config->policy.approval_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(config->policy.scratch_dir, std::filesystem::path("/etc/steward/scratch/here"));
}

TEST(PolicyConfig, ReadsTheOwnersAddresses) {
  const Result<Config> config = Load("policy: {owner_addresses: [me@example.com, \"*@me.example\"]}\n");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->policy.owner_addresses, (std::vector<std::string>{"me@example.com", "*@me.example"}));
  EXPECT_TRUE(DefaultConfig().policy.owner_addresses.empty());
}

TEST(PolicyConfig, ScratchDirMayComeFromTheEnvironment) {
  const Result<Config> config = Load("policy: {scratch_dir: \"${SCRATCH}\"}\n", {{"SCRATCH", "/tmp/s/../t"}});
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->policy.scratch_dir, std::filesystem::path("/tmp/t"));
}

struct BadCase {
  const char* yaml;
  const char* message;
  const char* context;
};

TEST(PolicyConfig, MistakesNameTheKeyAndWhatWasExpected) {
  const BadCase cases[] = {
      {"policy: {tiers: {email.send: extreme}}", "unknown risk tier \"extreme\" (expected low, medium or high)", "policy.tiers.email.send"},
      {"policy: {tiers: {email.send: }}", "expected low, medium or high", "policy.tiers.email.send"},
      {"policy: {tiers: [email.send]}", "", "policy.tiers"},
      {"policy: {approval_timeout_s: 0}", "between 0.1 and 86400", "policy.approval_timeout_s"},
      {"policy: {approval_timeout_s: soon}", "between 0.1 and 86400", "policy.approval_timeout_s"},
      {"policy: {scratch_dir: \"\"}", "expected a directory path", "policy.scratch_dir"},
      {"policy: {default: deny}", "unknown key \"default\"", "policy"},
      {"policy: {owner_addresses: [\"Me <me@x.org>\"]}", "expected email addresses or globs", "policy.owner_addresses"},
      {"policy: {owner_addresses: me}", "", "policy.owner_addresses"},
  };
  for (const auto& c : cases) {
    const Result<Config> config = Load(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.error().code, ErrorCode::kConfig) << c.yaml;
    EXPECT_THAT(config.error().message, HasSubstr(c.message)) << c.yaml;
    EXPECT_THAT(config.error().context, HasSubstr(c.context)) << c.yaml;
  }
}

}  // namespace
}  // namespace steward::app
