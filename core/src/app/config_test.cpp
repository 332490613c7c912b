#include "app/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace steward::app {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

using Vars = std::map<std::string, std::string>;

EnvLookup FakeEnv(Vars vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Result<Config> Load(const std::string& yaml, const Vars& env = {},
                    const fs::path& base_dir = "/nonexistent-steward-dir") {
  return LoadConfigText(yaml, "steward.yaml", base_dir, FakeEnv(env));
}

const fs::path kExampleFile =
    fs::path(STEWARD_SOURCE_DIR) / "config" / "steward.example.yaml";

// A scratch directory removed at the end of the test.
class TempDir final {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("steward-config-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }
  void Write(const fs::path& relative, const std::string& text) const {
    fs::create_directories((path_ / relative).parent_path());
    std::ofstream(path_ / relative) << text;
  }

 private:
  fs::path path_;
};

// Field by field, so a mismatch names the field.
void ExpectSameModelsAndAgents(const Config& got, const Config& want) {
  ASSERT_EQ(got.providers.size(), want.providers.size());
  for (size_t i = 0; i < want.providers.size(); ++i) {
    const auto& g = got.providers[i];
    const auto& w = want.providers[i];
    EXPECT_EQ(g.name, w.name);
    EXPECT_EQ(g.kind, w.kind);
    EXPECT_EQ(g.base_url, w.base_url);
    EXPECT_EQ(g.api_key, w.api_key);
    EXPECT_EQ(g.headers, w.headers);
    EXPECT_EQ(g.timeout, w.timeout);
    EXPECT_EQ(g.connect_timeout, w.connect_timeout);
    EXPECT_EQ(g.script, w.script);
  }
  ASSERT_EQ(got.models.size(), want.models.size());
  for (size_t i = 0; i < want.models.size(); ++i) {
    const auto& g = got.models[i];
    const auto& w = want.models[i];
    EXPECT_EQ(g.name, w.name);
    EXPECT_EQ(g.provider, w.provider);
    EXPECT_EQ(g.upstream_model, w.upstream_model);
    EXPECT_EQ(g.input_price_per_mtok, w.input_price_per_mtok);
    EXPECT_EQ(g.output_price_per_mtok, w.output_price_per_mtok);
  }
  ASSERT_EQ(got.agents.size(), want.agents.size());
  for (const auto& [name, w] : want.agents) {
    ASSERT_EQ(got.agents.count(name), 1u) << name;
    const auto& g = got.agents.at(name);
    EXPECT_EQ(g.name, w.name);
    EXPECT_EQ(g.runner, w.runner);
    EXPECT_EQ(g.model, w.model);
    EXPECT_EQ(g.system_prompt, w.system_prompt);
    EXPECT_EQ(g.temperature, w.temperature);
    EXPECT_EQ(g.max_retries, w.max_retries);
    EXPECT_EQ(g.tools, w.tools);
    EXPECT_EQ(g.risk_threshold, w.risk_threshold);
    EXPECT_EQ(g.description, w.description);
  }
  EXPECT_EQ(got.default_agent, want.default_agent);
}

TEST(DefaultConfig, RunsTheResearcherOnTheOfflineModel) {
  const Config config = DefaultConfig();
  EXPECT_TRUE(config.source.empty());
  EXPECT_EQ(config.server.listen, "127.0.0.1:8377");
  EXPECT_TRUE(config.database.url.empty());
  ASSERT_EQ(config.providers.size(), 1u);
  EXPECT_EQ(config.providers[0].name, "offline");
  EXPECT_EQ(config.providers[0].kind, "offline");
  EXPECT_TRUE(config.providers[0].api_key.empty());
  ASSERT_EQ(config.models.size(), 1u);
  EXPECT_EQ(config.models[0].name, "offline");
  EXPECT_EQ(config.models[0].provider, "offline");
  EXPECT_EQ(config.default_agent, "researcher");
  ASSERT_EQ(config.agents.count("researcher"), 1u);
  const auto& researcher = config.agents.at("researcher");
  EXPECT_EQ(researcher.name, "researcher");
  EXPECT_EQ(researcher.model, "offline");
  EXPECT_EQ(researcher.runner, "pydantic_ai");
  EXPECT_THAT(researcher.system_prompt, StartsWith("You are Steward's researcher."));
  EXPECT_THAT(researcher.tools, ElementsAre("memory.*"));
  EXPECT_EQ(researcher.risk_threshold, "low");
}

TEST(LoadConfig, ExampleFileLoadsAndMatchesTheBuiltInDefaults) {
  const Result<Config> config = LoadConfigFile(kExampleFile, FakeEnv({}));
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_TRUE(config->source.is_absolute());
  EXPECT_EQ(config->source.filename(), "steward.example.yaml");
  EXPECT_EQ(config->server.listen, "127.0.0.1:8377");
  EXPECT_TRUE(config->database.url.empty());
  EXPECT_EQ(config->database.pool_size, 8);
  EXPECT_EQ(config->workers.pool_size, 2);
  EXPECT_EQ(config->workers.start_timeout, std::chrono::seconds(60));
  const auto& researcher = config->agents.at("researcher");
  EXPECT_EQ(researcher.temperature, 0.2);
  EXPECT_EQ(researcher.max_retries, 2);
  EXPECT_THAT(researcher.system_prompt, HasSubstr("cite the memory items you used as [n]"));
  // On top of the defaults, the example ships the daily_research workflow and its two agents.
  ASSERT_EQ(config->workflows.count("daily_research"), 1u);
  EXPECT_EQ(config->workflows.at("daily_research").schedule->cron, "0 8 * * *");
  EXPECT_EQ(config->agents.at("trend_researcher").runner, "langgraph");
  EXPECT_EQ(config->agents.at("digest_formatter").runner, "formatter");
  Config defaults_part = *config;
  defaults_part.agents.erase("trend_researcher");
  defaults_part.agents.erase("digest_formatter");
  ExpectSameModelsAndAgents(defaults_part, DefaultConfig());
}

TEST(LoadConfig, FileWithoutModelSectionsGetsTheDefaults) {
  for (const std::string yaml : {"", "server:\n  listen: 0.0.0.0:9000\n", "providers:\nmodels: ~\n"}) {
    const Result<Config> config = Load(yaml);
    ASSERT_TRUE(config.ok()) << yaml << ": " << config.error().ToString();
    ExpectSameModelsAndAgents(*config, DefaultConfig());
  }
}

TEST(LoadConfig, ReadsEveryField) {
  TempDir dir;
  dir.Write("replay.yaml", "turns: []\n");
  const Result<Config> config = Load(R"(
server: {listen: "[::1]:9001"}
database: {url: "postgresql://steward@127.0.0.1:5432/steward", pool_size: 16}
workers: {pool_size: 4, python: /opt/venv/bin/python, start_timeout_s: 30}
providers:
  openai:
    kind: openai
    api_key: ${OPENAI_API_KEY}
    headers: {OpenAI-Organization: org-1}
    timeout_s: 1.5
    connect_timeout_s: 2
  local:
    kind: openai
    base_url: http://127.0.0.1:11434/v1/
  claude:
    kind: anthropic
    api_key: ${ANTHROPIC_API_KEY}
  replay: {kind: scripted, script: replay.yaml}
models:
  gpt-4o: {provider: openai, price: {input_per_mtok: 2.5, output_per_mtok: 10}}
  llama: {provider: local, model: "llama3.1:8b"}
  sonnet: {provider: claude, model: claude-sonnet-4-5}
agents:
  helper:
    runner: pydantic_ai
    model: sonnet
    system_prompt: Be brief.
    temperature: 0
    max_retries: 0
    tools: ["memory.*", "web.search"]
    risk_threshold: high
    description: Answers briefly.
  coder: {model: llama}
default_agent: helper
)",
                                      {{"OPENAI_API_KEY", "sk-1"}, {"ANTHROPIC_API_KEY", "sk-ant"}},
                                      dir.path());
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->server.listen, "[::1]:9001");
  EXPECT_EQ(config->database.url, "postgresql://steward@127.0.0.1:5432/steward");
  EXPECT_EQ(config->database.pool_size, 16);
  EXPECT_EQ(config->workers.pool_size, 4);
  EXPECT_EQ(config->workers.python, "/opt/venv/bin/python");
  EXPECT_EQ(config->workers.start_timeout, std::chrono::seconds(30));

  ASSERT_EQ(config->providers.size(), 4u);  // file order, no offline provider added
  const auto& openai = config->providers[0];
  EXPECT_EQ(openai.name, "openai");
  EXPECT_EQ(openai.base_url, "https://api.openai.com/v1");
  EXPECT_EQ(openai.api_key, "sk-1");
  EXPECT_EQ(openai.headers, (std::map<std::string, std::string>{{"OpenAI-Organization", "org-1"}}));
  EXPECT_EQ(openai.timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(openai.connect_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(config->providers[1].base_url, "http://127.0.0.1:11434/v1");  // trailing / dropped
  EXPECT_EQ(config->providers[1].timeout, std::chrono::milliseconds(120'000));
  EXPECT_EQ(config->providers[2].kind, "anthropic");
  EXPECT_EQ(config->providers[2].base_url, "https://api.anthropic.com");
  EXPECT_EQ(config->providers[3].script, (dir.path() / "replay.yaml").string());

  ASSERT_EQ(config->models.size(), 3u);
  EXPECT_EQ(config->models[0].upstream_model, "gpt-4o");  // defaults to the model's name
  EXPECT_EQ(config->models[0].input_price_per_mtok, 2.5);
  EXPECT_EQ(config->models[0].output_price_per_mtok, 10);
  EXPECT_EQ(config->models[1].upstream_model, "llama3.1:8b");
  EXPECT_EQ(config->models[1].input_price_per_mtok, 0);

  const auto& helper = config->agents.at("helper");
  EXPECT_EQ(helper.name, "helper");
  EXPECT_EQ(helper.model, "sonnet");
  EXPECT_EQ(helper.system_prompt, "Be brief.");
  EXPECT_EQ(helper.temperature, 0.0);
  EXPECT_EQ(helper.max_retries, 0);
  EXPECT_THAT(helper.tools, ElementsAre("memory.*", "web.search"));
  EXPECT_EQ(helper.risk_threshold, "high");
  EXPECT_EQ(helper.description, "Answers briefly.");
  const auto& coder = config->agents.at("coder");
  EXPECT_EQ(coder.runner, "pydantic_ai");
  EXPECT_FALSE(coder.temperature.has_value());
  EXPECT_TRUE(coder.tools.empty());
  EXPECT_EQ(config->default_agent, "helper");
}

TEST(LoadConfig, ReservedSectionsAreAcceptedAndIgnored) {
  // Sections that later features will own; those already parsed (mcp_servers, memory, policy,
  // telemetry, tools, budgets) have their own tests.
  const Result<Config> config = Load(R"(
workflows: {}
schedules: ~
ui: {theme: dark}
)");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  ExpectSameModelsAndAgents(*config, DefaultConfig());
}

TEST(LoadConfig, DefaultAgentIsTheOnlyAgentWhenNotSet) {
  const Result<Config> config = Load(R"(
providers: {p: {kind: offline}}
models: {m: {provider: p}}
agents: {helper: {model: m}}
)");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->default_agent, "helper");
  ASSERT_EQ(config->providers.size(), 1u);
  EXPECT_EQ(config->providers[0].name, "p");
}

struct ErrorCase {
  std::string name;
  std::string yaml;
  std::string context;  // expected prefix of Error::context
  std::vector<std::string> message_parts;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class LoadConfigError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(LoadConfigError, NamesTheKeyAndWhatWasExpected) {
  const ErrorCase& c = GetParam();
  TempDir dir;
  const Result<Config> config = Load(c.yaml, {}, dir.path());
  ASSERT_FALSE(config.ok()) << "loaded without error:\n" << c.yaml;
  EXPECT_EQ(config.error().code, ErrorCode::kConfig);
  EXPECT_THAT(config.error().context, StartsWith(c.context));
  for (const std::string& part : c.message_parts) {
    EXPECT_THAT(config.error().message, HasSubstr(part));
  }
}

// Valid surroundings for the cases that test one agent or model field.
const std::string kOneModel = "providers: {p: {kind: offline}}\nmodels: {m: {provider: p}}\n";
std::string Agent(const std::string& fields) {
  return kOneModel + "agents:\n  a: {model: m" + (fields.empty() ? "" : ", " + fields) + "}\n";
}
std::string Provider(const std::string& fields) {
  return "providers:\n  p: {" + fields + "}\nmodels: {m: {provider: p}}\nagents: {a: {model: m}}\n";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LoadConfigError,
    ::testing::Values(
        ErrorCase{"YamlSyntax", "server: [1, 2\nworkers: 3\n", "steward.yaml (line 2",
                  {"invalid YAML"}},
        ErrorCase{"TopLevelNotAMapping", "- a\n- b\n", "steward.yaml", {"expected a mapping", "a list"}},
        ErrorCase{"UnknownTopLevelKey", "provider: {}\n", "steward.yaml: provider (line 1, column 1)",
                  {"unknown key \"provider\"", "did you mean \"providers\"?"}},
        ErrorCase{"UnknownAgentKey", Agent("temprature: 1"), "steward.yaml: agents.a.temprature",
                  {"unknown key \"temprature\"", "expected one of: runner, model, system_prompt",
                   "did you mean \"temperature\"?"}},
        ErrorCase{"UnknownKeyFarFromAny", Agent("colour: red"), "steward.yaml: agents.a.colour",
                  {"unknown key \"colour\""}},
        ErrorCase{"DuplicateKey", "workers:\n  pool_size: 2\n  pool_size: 3\n",
                  "steward.yaml: workers.pool_size (line 3", {"duplicate key", "line 2"}},
        ErrorCase{"TemperatureNotANumber", Agent("temperature: hot"),
                  "steward.yaml: agents.a.temperature",
                  {"expected a number between 0 and 2, got \"hot\""}},
        ErrorCase{"TemperatureTooHigh", Agent("temperature: 2.5"), "steward.yaml: agents.a.temperature",
                  {"between 0 and 2", "\"2.5\""}},
        ErrorCase{"MaxRetriesNegative", Agent("max_retries: -1"), "steward.yaml: agents.a.max_retries",
                  {"whole number between 0 and 10"}},
        ErrorCase{"RiskThreshold", Agent("risk_threshold: extreme"),
                  "steward.yaml: agents.a.risk_threshold",
                  {"unknown risk threshold \"extreme\"", "low, medium or high"}},
        ErrorCase{"ToolsNotAList", Agent("tools: memory.*"), "steward.yaml: agents.a.tools",
                  {"expected a list of strings"}},
        ErrorCase{"ToolsItemNotAString", Agent("tools: [memory.*, [web]]"),
                  "steward.yaml: agents.a.tools[1]", {"expected a string", "a list"}},
        ErrorCase{"RunnerName", Agent("runner: Pydantic AI"), "steward.yaml: agents.a.runner",
                  {"expected a runner name"}},
        ErrorCase{"AgentWithoutModel", kOneModel + "agents: {a: {runner: pydantic_ai}}\n",
                  "steward.yaml: agents.a.model", {"missing required key \"model\""}},
        ErrorCase{"AgentUsesUndefinedModel", kOneModel + "agents: {a: {model: gpt-5}}\n",
                  "steward.yaml: agents.a.model", {"model \"gpt-5\" is not defined", "defined: m"}},
        ErrorCase{"AgentNamedLikeAModel", kOneModel + "agents: {m: {model: m}}\n",
                  "steward.yaml: agents.m", {"also a model name", "/v1"}},
        ErrorCase{"NoAgents", kOneModel, "steward.yaml: agents", {"no agents are defined"}},
        ErrorCase{"AgentsMappingEmpty", kOneModel + "agents: {}\n", "steward.yaml: agents",
                  {"no agents are defined"}},
        ErrorCase{"DefaultAgentUndefined", Agent("") + "default_agent: ghost\n",
                  "steward.yaml: default_agent", {"agent \"ghost\" is not defined", "defined: a"}},
        ErrorCase{"DefaultAgentAmbiguous", kOneModel + "agents: {a: {model: m}, b: {model: m}}\n",
                  "steward.yaml: default_agent", {"default_agent is not set", "a, b"}},
        ErrorCase{"ModelUsesUndefinedProvider",
                  "providers: {p: {kind: offline}}\nmodels: {m: {provider: q}}\n",
                  "steward.yaml: models.m.provider", {"provider \"q\" is not defined", "defined: p"}},
        ErrorCase{"NoOfflineProviderAddedToAFileWithModels",
                  "models: {m: {provider: offline}}\nagents: {a: {model: m}}\n",
                  "steward.yaml: models.m.provider",
                  {"provider \"offline\" is not defined", "defined: none"}},
        ErrorCase{"ModelWithoutProvider", "models: {m: {model: x}}\n", "steward.yaml: models.m.provider",
                  {"missing required key \"provider\""}},
        ErrorCase{"NegativePrice",
                  "providers: {p: {kind: offline}}\n"
                  "models: {m: {provider: p, price: {input_per_mtok: -1}}}\n",
                  "steward.yaml: models.m.price.input_per_mtok",
                  {"expected a non-negative number", "\"-1\""}},
        ErrorCase{"UnknownPriceKey",
                  "providers: {p: {kind: offline}}\nmodels: {m: {provider: p, price: {input: 1}}}\n",
                  "steward.yaml: models.m.price.input", {"unknown key \"input\"", "input_per_mtok"}},
        ErrorCase{"UnknownProviderKind", Provider("kind: opena"), "steward.yaml: providers.p.kind",
                  {"unknown provider kind \"opena\" (expected openai, anthropic, offline or scripted)",
                   "did you mean \"openai\"?"}},
        ErrorCase{"ProviderWithoutKind", Provider("base_url: http://x"), "steward.yaml: providers.p.kind",
                  {"missing required key \"kind\""}},
        ErrorCase{"MissingEnvVar", Provider("kind: openai, api_key: \"${OPENAI_API_KEY}\""),
                  "steward.yaml: providers.p.api_key",
                  {"environment variable OPENAI_API_KEY is not set", "needed by providers.p.api_key"}},
        ErrorCase{"HostedOpenAiWithoutKey", Provider("kind: openai"), "steward.yaml: providers.p.api_key",
                  {"api_key is required", "https://api.openai.com/v1", "base_url"}},
        ErrorCase{"HostedAnthropicWithoutKey", Provider("kind: anthropic"),
                  "steward.yaml: providers.p.api_key", {"api_key is required", "ANTHROPIC_API_KEY"}},
        ErrorCase{"BaseUrlNotAUrl", Provider("kind: openai, base_url: localhost:11434"),
                  "steward.yaml: providers.p.base_url", {"expected an http:// or https:// URL"}},
        ErrorCase{"AnthropicBaseUrlWithV1",
                  Provider("kind: anthropic, base_url: https://api.anthropic.com/v1, api_key: k"),
                  "steward.yaml: providers.p.base_url", {"without /v1"}},
        ErrorCase{"BaseUrlOnOffline", Provider("kind: offline, base_url: http://x"),
                  "steward.yaml: providers.p.base_url", {"not used by kind \"offline\""}},
        ErrorCase{"ScriptOnOpenAi", Provider("kind: openai, base_url: http://x, script: s.yaml"),
                  "steward.yaml: providers.p.script", {"only used by kind \"scripted\""}},
        ErrorCase{"ScriptedWithoutScript", Provider("kind: scripted"), "steward.yaml: providers.p.script",
                  {"missing required key \"script\""}},
        ErrorCase{"ScriptedScriptMissing", Provider("kind: scripted, script: nowhere.yaml"),
                  "steward.yaml: providers.p.script",
                  {"\"nowhere.yaml\" does not exist", "/nowhere.yaml;"}},
        ErrorCase{"TimeoutZero", Provider("kind: openai, base_url: http://x, timeout_s: 0"),
                  "steward.yaml: providers.p.timeout_s", {"number of seconds"}},
        ErrorCase{"HeaderValueNotAString",
                  Provider("kind: openai, base_url: http://x, headers: {X-A: [1]}"),
                  "steward.yaml: providers.p.headers.X-A", {"expected a string"}},
        ErrorCase{"ProviderNameWithSpace", "providers: {\"my provider\": {kind: offline}}\n",
                  "steward.yaml: providers.my provider", {"invalid provider name"}},
        ErrorCase{"ListenWithoutPort", "server: {listen: localhost}\n", "steward.yaml: server.listen",
                  {"expected HOST:PORT", "\"localhost\""}},
        ErrorCase{"ListenPortZero", "server: {listen: \"127.0.0.1:0\"}\n", "steward.yaml: server.listen",
                  {"between 1 and 65535"}},
        ErrorCase{"ListenPortTooHigh", "server: {listen: \"127.0.0.1:65536\"}\n",
                  "steward.yaml: server.listen", {"between 1 and 65535"}},
        ErrorCase{"ListenPortNotANumber", "server: {listen: \"127.0.0.1:http\"}\n",
                  "steward.yaml: server.listen", {"HOST:PORT"}},
        ErrorCase{"ListenNoHost", "server: {listen: \":8377\"}\n", "steward.yaml: server.listen",
                  {"HOST:PORT"}},
        ErrorCase{"ListenBareIpv6", "server: {listen: \"::1:8377\"}\n", "steward.yaml: server.listen",
                  {"[::1]:8377"}},
        ErrorCase{"DatabasePoolZero", "database: {pool_size: 0}\n", "steward.yaml: database.pool_size",
                  {"whole number between 1 and 64", "\"0\""}},
        ErrorCase{"DatabasePoolTooBig", "database: {pool_size: 65}\n", "steward.yaml: database.pool_size",
                  {"between 1 and 64"}},
        ErrorCase{"WorkersPoolNotANumber", "workers: {pool_size: lots}\n",
                  "steward.yaml: workers.pool_size", {"between 1 and 64", "\"lots\""}},
        ErrorCase{"WorkersPoolTooBig", "workers: {pool_size: 100}\n", "steward.yaml: workers.pool_size",
                  {"between 1 and 64"}},
        ErrorCase{"WorkersStartTimeout", "workers: {start_timeout_s: 0}\n",
                  "steward.yaml: workers.start_timeout_s", {"between 1 and 3600"}},
        ErrorCase{"DatabaseUrlNotPostgres", "database: {url: \"mysql://x\"}\n",
                  "steward.yaml: database.url",
                  {"PostgreSQL connection URI"}},
        ErrorCase{"SectionNotAMapping", "workers: 3\n", "steward.yaml: workers",
                  {"expected a mapping with keys pool_size, python, start_timeout_s"}},
        ErrorCase{"UnterminatedSubstitution", "workers: {python: \"${PY\"}\n",
                  "steward.yaml: workers.python",
                  {"unterminated", "$$"}},
        ErrorCase{"BadVariableName", "workers: {python: \"${1PY}\"}\n", "steward.yaml: workers.python",
                  {"invalid environment variable name \"1PY\""}}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

TEST(LoadConfig, ErrorContextHasLineAndColumnOfTheValue) {
  const Result<Config> config = Load(kOneModel + "agents:\n  a:\n    model: m\n    temperature: hot\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().context, "steward.yaml: agents.a.temperature (line 6, column 18)");
  EXPECT_EQ(config.error().ToString(),
            "steward.yaml: agents.a.temperature (line 6, column 18): expected a number between 0 "
            "and 2, got \"hot\"");
}

TEST(LoadConfig, UnknownKeyFarFromAnyKnownKeyGetsNoSuggestion) {
  const Result<Config> config = Load(Agent("colour: red"));
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().message, Not(HasSubstr("did you mean")));
}

TEST(EnvSubstitution, ReplacesVariablesDefaultsAndEscapes) {
  struct Case {
    std::string written;
    Vars env;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"${PY}", {{"PY", "/usr/bin/python3"}}, "/usr/bin/python3"},
      {"${PY:-/opt/python}", {}, "/opt/python"},
      {"${PY:-/opt/python}", {{"PY", "/set"}}, "/set"},
      {"${PY:-/opt/python}", {{"PY", ""}}, "/opt/python"},  // as in sh: empty takes the default
      {"${PY:-}", {}, ""},
      {"${PY}", {{"PY", ""}}, ""},
      {"/opt/${DIR}/bin/${EXE}", {{"DIR", "venv"}, {"EXE", "python"}}, "/opt/venv/bin/python"},
      {"cost$$5", {}, "cost$5"},
      {"$${PY}", {{"PY", "x"}}, "${PY}"},
      {"a$b$", {}, "a$b$"},
      {"${PY}", {{"PY", "${OTHER}"}}, "${OTHER}"},  // values are not expanded again
  };
  for (const Case& c : cases) {
    const Result<Config> config = Load("workers:\n  python: \"" + c.written + "\"\n", c.env);
    ASSERT_TRUE(config.ok()) << c.written << ": " << config.error().ToString();
    EXPECT_EQ(config->workers.python, c.expected) << c.written;
  }
}

TEST(EnvSubstitution, AppliesToNumbersListsAndHeaders) {
  const Result<Config> config = Load(R"(
workers: {pool_size: "${POOL:-3}"}
providers:
  p:
    kind: openai
    base_url: ${URL}
    headers: {Authorization: "Bearer ${TOKEN}"}
models: {m: {provider: p}}
agents: {a: {model: m, tools: ["${NS:-memory}.*"], temperature: "${TEMP}"}}
)",
                                      {{"URL", "http://gpu:8000/v1"}, {"TOKEN", "t0k"}, {"TEMP", "0.7"}});
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->workers.pool_size, 3);
  EXPECT_EQ(config->providers[0].base_url, "http://gpu:8000/v1");
  EXPECT_EQ(config->providers[0].headers.at("Authorization"), "Bearer t0k");
  EXPECT_THAT(config->agents.at("a").tools, ElementsAre("memory.*"));
  EXPECT_EQ(config->agents.at("a").temperature, 0.7);
}

TEST(EnvSubstitution, KeysAreNotSubstituted) {
  const Result<Config> config =
      Load("providers: {\"${NAME}\": {kind: offline}}\nmodels: {m: {provider: \"${NAME}\"}}\n"
           "agents: {a: {model: m}}\n",
           {{"NAME", "p"}});
  ASSERT_FALSE(config.ok());  // the provider is literally named ${NAME}; the model asks for "p"
  EXPECT_THAT(config.error().context, StartsWith("steward.yaml: models.m.provider"));
}

// Every message that quotes a value quotes what was written, never what the variable held.
TEST(EnvSubstitution, SecretsNeverAppearInErrors) {
  const std::string kSecret = "sk-SECRET-7f3a";
  // Messages about database.url quote nothing: a URL written in the file may hold a password.
  const std::vector<std::pair<std::string, bool /*quotes the value*/>> files = {
      {Agent("temperature: \"${SECRET}\""), true},
      {Agent("risk_threshold: \"${SECRET}\""), true},
      {Agent("runner: \"${SECRET}\""), true},
      {kOneModel + "agents: {a: {model: \"${SECRET}\"}}\n", true},
      {Provider("kind: \"${SECRET}\""), true},
      {Provider("kind: openai, base_url: \"${SECRET}\""), true},
      {Provider("kind: openai, base_url: \"https://x/${SECRET}\", timeout_s: \"${SECRET}\""), true},
      {Provider("kind: scripted, script: \"${SECRET}\""), true},
      {"providers: {p: {kind: offline}}\nmodels: {m: {provider: \"${SECRET}\"}}\n", true},
      {"server: {listen: \"${SECRET}\"}\n", true},
      {"database: {pool_size: \"${SECRET}\"}\n", true},
      {Agent("") + "default_agent: \"${SECRET}\"\n", true},
      {"database: {url: \"mysql://u:${SECRET}@h/db\"}\n", false},
  };
  for (const auto& [yaml, quotes_value] : files) {
    const Result<Config> config = Load(yaml, {{"SECRET", kSecret}});
    ASSERT_FALSE(config.ok()) << yaml;
    EXPECT_THAT(config.error().ToString(), Not(HasSubstr("SECRET-7f3a"))) << yaml;
    if (quotes_value) {
      EXPECT_THAT(config.error().message, HasSubstr("${SECRET}")) << yaml;
    }
  }
}

TEST(LoadConfigFile, ResolvesScriptPathsAgainstTheFilesDirectory) {
  TempDir dir;
  dir.Write("etc/scripts/replay.yaml", "turns: []\n");
  dir.Write("etc/steward.yaml", R"(
providers: {replay: {kind: scripted, script: scripts/replay.yaml}}
models: {m: {provider: replay}}
agents: {a: {model: m}}
)");
  const Result<Config> config = LoadConfigFile(dir.path() / "etc" / "steward.yaml", FakeEnv({}));
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->providers[0].script, (dir.path() / "etc" / "scripts" / "replay.yaml").string());
  EXPECT_EQ(config->source, dir.path() / "etc" / "steward.yaml");
}

TEST(LoadConfigFile, AbsoluteScriptPathIsKept) {
  TempDir dir;
  dir.Write("replay.yaml", "turns: []\n");
  const std::string script = (dir.path() / "replay.yaml").string();
  const Result<Config> config =
      Load("providers: {r: {kind: scripted, script: \"" + script + "\"}}\nmodels: {m: {provider: r}}\n"
           "agents: {a: {model: m}}\n");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->providers[0].script, script);
}

TEST(LoadConfigFile, ErrorsNameTheFileAsGiven) {
  TempDir dir;
  dir.Write("steward.yaml", "workers: {pool_size: 0}\n");
  const fs::path path = dir.path() / "steward.yaml";
  const Result<Config> config = LoadConfigFile(path, FakeEnv({}));
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().context, StartsWith(path.string() + ": workers.pool_size (line 1"));
}

TEST(LoadConfigFile, MissingFileIsAConfigError) {
  const Result<Config> config = LoadConfigFile("/nonexistent/steward.yaml", FakeEnv({}));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ErrorCode::kConfig);
  EXPECT_EQ(config.error().context, "/nonexistent/steward.yaml");
  EXPECT_THAT(config.error().message, HasSubstr("does not exist"));
}

TEST(ProcessEnv, ReadsTheProcessEnvironment) {
  ASSERT_EQ(::setenv("STEWARD_CONFIG_TEST_VAR", "value-1", 1), 0);
  const EnvLookup env = ProcessEnv();
  EXPECT_EQ(env("STEWARD_CONFIG_TEST_VAR"), "value-1");
  ::unsetenv("STEWARD_CONFIG_TEST_VAR");
  EXPECT_EQ(env("STEWARD_CONFIG_TEST_VAR"), std::nullopt);
}

}  // namespace
}  // namespace steward::app
