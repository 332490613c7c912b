#include "app/detail/budgets_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace steward::app {
namespace {

using ::testing::HasSubstr;

Result<Config> Load(const std::string& yaml) {
  const EnvLookup lookup = [](const std::string&) -> std::optional<std::string> { return "sk-test"; };
  return LoadConfigText(yaml, "steward.yaml", "/etc/steward", lookup);
}

TEST(BudgetsConfig, NoSectionMeansNoBudgets) {
  const Result<Config> config = Load("server: {listen: 127.0.0.1:8377}\n");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_FALSE(config->budgets.enabled());
  EXPECT_DOUBLE_EQ(config->budgets.warn_at, 0.7);
  EXPECT_DOUBLE_EQ(config->budgets.approve_at, 0.9);
  EXPECT_FALSE(DefaultConfig().budgets.enabled());
}

TEST(BudgetsConfig, ReadsLimitsAndThresholds) {
  const Result<Config> config = Load(R"(
budgets:
  per_run_usd: 0.5
  per_workflow_usd: 5
  per_user_daily_usd: 20
  per_run_tokens: 200000
  warn_at: 0.5
  approve_at: 1
)");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  const auto& b = config->budgets;
  EXPECT_TRUE(b.enabled());
  EXPECT_DOUBLE_EQ(*b.per_run_usd, 0.5);
  EXPECT_DOUBLE_EQ(*b.per_workflow_usd, 5);
  EXPECT_DOUBLE_EQ(*b.per_user_daily_usd, 20);
  EXPECT_EQ(*b.per_run_tokens, 200000);
  EXPECT_DOUBLE_EQ(b.warn_at, 0.5);
  EXPECT_DOUBLE_EQ(b.approve_at, 1);
}

TEST(BudgetsConfig, ErrorsNameTheKeyAndWhatWasExpected) {
  struct Case {
    const char* yaml;
    const char* where;
    const char* what;
  };
  const Case cases[] = {
      {"budgets: {per_run_usd: 0}\n", "budgets.per_run_usd", "positive amount of US dollars"},
      {"budgets: {per_user_daily_usd: -3}\n", "budgets.per_user_daily_usd", "positive amount of US dollars"},
      {"budgets: {per_run_usd: lots}\n", "budgets.per_run_usd", "positive amount of US dollars"},
      {"budgets: {per_run_tokens: 1.5}\n", "budgets.per_run_tokens", "whole number of tokens"},
      {"budgets: {warn_at: 1.5}\n", "budgets.warn_at", "share of the limit between 0 and 1"},
      {"budgets: {approve_at: 0}\n", "budgets.approve_at", "use 1 to never ask"},
      {"budgets: {warn_at: 0.95}\n", "budgets.warn_at", "above approve_at"},
      {"budgets: {per_day_usd: 1}\n", "budgets.per_day_usd", "unknown key"},
      {"prices: {gpt-4o: {input: 1}}\n", "prices.gpt-4o.input", "unknown key"},
      {"prices: {gpt-4o: {output_per_mtok: -1}}\n", "prices.gpt-4o.output_per_mtok", "non-negative number"},
      {"providers: {p: {kind: offline, circuit_breaker: {failures: 0}}}\nmodels: {m: {provider: p}}\n"
       "agents: {a: {model: m}}\n",
       "providers.p.circuit_breaker.failures", ""},
      {"providers: {p: {kind: offline, circuit_breaker: {open: 3}}}\nmodels: {m: {provider: p}}\n"
       "agents: {a: {model: m}}\n",
       "providers.p.circuit_breaker.open", "unknown key"},
  };
  for (const Case& c : cases) {
    const Result<Config> config = Load(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.error().code, ErrorCode::kConfig);
    EXPECT_THAT(config.error().ToString(), HasSubstr(c.where)) << c.yaml;
    EXPECT_THAT(config.error().ToString(), HasSubstr(c.what)) << c.yaml;
  }
}

TEST(BudgetsConfig, PricesComeFromTheRouteThenThePricesSectionThenTheBuiltInTable) {
  const Result<Config> config = Load(R"(
providers:
  openai: {kind: openai, api_key: "${OPENAI_API_KEY}"}
  claude: {kind: anthropic, api_key: "${ANTHROPIC_API_KEY}"}
  local: {kind: openai, base_url: "http://127.0.0.1:11434/v1"}
  offline: {kind: offline}
  replay: {kind: offline, circuit_breaker: {failures: 2, window_s: 5, open_s: 0.5}}
models:
  own: {provider: openai, model: gpt-4o, price: {input_per_mtok: 1, output_per_mtok: 2}}
  mini: {provider: openai, model: gpt-4o-mini}
  sonnet: {provider: claude, model: claude-sonnet-4-5-20250929}
  llama: {provider: local, model: "llama3.1:8b"}
  offline: {provider: offline}
  replay: {provider: replay}
prices:
  gpt-4o-mini: {input_per_mtok: 0.2, output_per_mtok: 0.8}
  replay: {output_per_mtok: 1000}
agents:
  a: {model: offline}
)");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  const auto& m = config->models;
  ASSERT_EQ(m.size(), 6u);
  EXPECT_EQ(m[0].price_source, "config");
  EXPECT_DOUBLE_EQ(m[0].input_price_per_mtok, 1);
  EXPECT_EQ(m[1].price_source, "prices");
  EXPECT_DOUBLE_EQ(m[1].output_price_per_mtok, 0.8);
  EXPECT_EQ(m[2].price_source, "default");
  EXPECT_DOUBLE_EQ(m[2].input_price_per_mtok, 3);
  EXPECT_DOUBLE_EQ(m[2].output_price_per_mtok, 15);
  EXPECT_EQ(m[3].price_source, "free");
  EXPECT_EQ(m[4].price_source, "free");
  EXPECT_DOUBLE_EQ(m[4].output_price_per_mtok, 0);
  EXPECT_EQ(m[5].price_source, "prices");
  EXPECT_DOUBLE_EQ(m[5].output_price_per_mtok, 1000);
  const auto& replay = config->providers[4];
  EXPECT_EQ(replay.breaker_failures, 2);
  EXPECT_EQ(replay.breaker_window, std::chrono::milliseconds(5000));
  EXPECT_EQ(replay.breaker_open_for, std::chrono::milliseconds(500));
  EXPECT_EQ(config->providers[0].breaker_failures, 5);  // the default
}

}  // namespace
}  // namespace steward::app
