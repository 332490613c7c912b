#include "app/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string_view>
#include <utility>

#include "app/detail/config_mcp.hpp"
#include "app/detail/budgets_config.hpp"
#include "app/detail/config_reader.hpp"
#include "app/tool_servers.hpp"
#include "app/detail/memory_config.hpp"
#include "app/detail/policy_config.hpp"
#include "app/detail/telemetry_config.hpp"
#include "app/detail/tools_config.hpp"
#include "app/detail/workflows_config.hpp"

namespace steward::app {
namespace {

namespace fs = std::filesystem;
using detail::CheckName;
using detail::CheckReference;
using detail::Field;
using detail::GetChoice;
using detail::GetInt;
using detail::GetNumber;
using detail::GetString;
using detail::GetStringList;
using detail::JoinList;
using detail::Keys;
using detail::LoadContext;
using detail::Mapping;
using detail::Quote;
using detail::ReadScalar;
using detail::Scalar;

// Kept identical to the researcher in config/steward.example.yaml, so running with no file
// and running with the example behave the same.
constexpr std::string_view kResearcherPrompt =
    "You are Steward's researcher. Answer the user's question using the tools you have.\n"
    "Search memory (memory.search) and earlier conversations before the web or guessing;\n"
    "cite the memory items you used as [n] with their title and source.\n"
    "If you cannot finish with the tools you have, do what you can, say what is missing, and end\n"
    "your answer with a tool-gap report: a ```steward-tool-gap fenced block holding JSON {\"task\",\n"
    "\"missing_tools\": [{\"name\", \"description\", \"inputs\", \"outputs\", \"estimated_risk\"}],\n"
    "\"existing_tools_checked\": [{\"name\", \"evidence\"}], \"proposed_mcp_server\": {\"name\",\n"
    "\"description\", \"tools\"}} (docs/tool-gap-report.schema.json).\n"
    "A call may wait for the user's approval; if it is denied, do not retry it: say it was not done.\n";

constexpr std::string_view kOpenAiDefaultUrl = "https://api.openai.com/v1";
constexpr std::string_view kAnthropicDefaultUrl = "https://api.anthropic.com";
constexpr double kMaxTimeoutSeconds = 86'400;

// --- sections: one parse function each, called in kSections order ---------------------

Status ParseServer(const Field& f, Config& config) {
  static const Keys kKeys = {"listen"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  const Field listen = m->Get("listen");
  if (!listen.present()) return Status::Ok();
  Result<Scalar> s = ReadScalar(listen);
  if (!s.ok()) return s.error();
  const std::string& text = s->value;
  const size_t colon = text.rfind(':');
  std::string host = colon == std::string::npos ? "" : text.substr(0, colon);
  const std::string port_text = colon == std::string::npos ? "" : text.substr(colon + 1);
  int port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  const bool host_ok =
      !host.empty() && (bracketed || host.find_first_of(":[] ") == std::string::npos);
  if (!host_ok || port_text.empty() || ec != std::errc() ||
      end != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    return listen.Fail("expected HOST:PORT with a port between 1 and 65535 (e.g. 127.0.0.1:8377, "
                       "[::1]:8377), got " + Quote(s->shown));
  }
  config.server.listen = text;
  return Status::Ok();
}

Status ParseDatabase(const Field& f, Config& config) {
  static const Keys kKeys = {"url", "pool_size"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  const Field url = m->Get("url");
  STEWARD_RETURN_IF_ERROR(GetString(url, config.database.url));
  const std::string& u = config.database.url;
  // Either libpq form is fine; the value is not quoted back because it may hold a password.
  if (url.present() && u.rfind("postgresql://", 0) != 0 && u.rfind("postgres://", 0) != 0 &&
      u.find('=') == std::string::npos) {
    return url.Fail("expected a PostgreSQL connection URI (postgresql://USER@HOST:PORT/DB) or a "
                    "libpq key=value string; leave it out to use the embedded cluster");
  }
  return GetInt(m->Get("pool_size"), 1, 64, config.database.pool_size);
}

Status ParseWorkers(const Field& f, Config& config) {
  static const Keys kKeys = {"pool_size", "python", "start_timeout_s"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  STEWARD_RETURN_IF_ERROR(GetInt(m->Get("pool_size"), 1, 64, config.workers.pool_size));
  STEWARD_RETURN_IF_ERROR(GetString(m->Get("python"), config.workers.python));
  int start_timeout = static_cast<int>(config.workers.start_timeout.count());
  STEWARD_RETURN_IF_ERROR(GetInt(m->Get("start_timeout_s"), 1, 3600, start_timeout));
  config.workers.start_timeout = std::chrono::seconds(start_timeout);
  return Status::Ok();
}

Status GetTimeout(const Field& f, std::chrono::milliseconds& out) {
  double seconds = std::chrono::duration<double>(out).count();
  STEWARD_RETURN_IF_ERROR(GetNumber(f, 0.001, kMaxTimeoutSeconds,
                                    "a number of seconds between 0.001 and 86400", seconds));
  out = std::chrono::milliseconds(std::llround(seconds * 1000));
  return Status::Ok();
}

// Checks and normalises (no trailing "/") base_url for the HTTP provider kinds.
Status GetBaseUrl(const Field& f, const std::string& kind, std::string& out) {
  out = kind == "anthropic" ? kAnthropicDefaultUrl : kOpenAiDefaultUrl;
  if (!f.present()) return Status::Ok();
  Result<Scalar> s = ReadScalar(f);
  if (!s.ok()) return s.error();
  std::string url = s->value;
  while (!url.empty() && url.back() == '/') url.pop_back();
  const size_t scheme = url.rfind("https://", 0) == 0 ? 8 : url.rfind("http://", 0) == 0 ? 7 : 0;
  if (scheme == 0 || url.size() == scheme || url.find(' ') != std::string::npos) {
    return f.Fail("expected an http:// or https:// URL (e.g. " +
                  std::string(kind == "anthropic" ? kAnthropicDefaultUrl : kOpenAiDefaultUrl) +
                  "), got " + Quote(s->shown));
  }
  if (kind == "anthropic" && url.size() >= 3 && url.compare(url.size() - 3, 3, "/v1") == 0) {
    return f.Fail("expected the API root without /v1 (Steward adds /v1/messages), e.g. " +
                  std::string(kAnthropicDefaultUrl) + ", got " + Quote(s->shown));
  }
  out = std::move(url);
  return Status::Ok();
}

Status GetHeaders(const Field& f, std::map<std::string, std::string>& out) {
  Result<Mapping> m = Mapping::Open(f, nullptr);
  if (!m.ok()) return m.error();
  for (const Mapping::Entry& e : m->entries()) {
    if (e.key.empty() || e.key.find_first_of(": \t\r\n") != std::string::npos) {
      return e.value.Fail("invalid header name " + Quote(e.key) + " (expected e.g. X-Api-Version)");
    }
    std::string value;
    STEWARD_RETURN_IF_ERROR(GetString(e.value, value));
    if (value.find_first_of("\r\n") != std::string::npos) {
      return e.value.Fail("expected a header value on one line");
    }
    out[e.key] = std::move(value);
  }
  return Status::Ok();
}

Status ParseProvider(const Mapping::Entry& entry, models::ProviderConfig& p) {
  static const Keys kKeys = {"kind",     "base_url",          "api_key", "headers",
                             "timeout_s", "connect_timeout_s", "script", "circuit_breaker"};
  static const Keys kKinds = {"openai", "anthropic", "offline", "scripted"};
  Result<Mapping> m = Mapping::Open(entry.value, &kKeys);
  if (!m.ok()) return m.error();
  p.name = entry.key;
  const Field kind = m->Get("kind");
  if (!kind.present()) {
    return kind.Fail(
        "missing required key \"kind\" (expected openai, anthropic, offline or scripted)");
  }
  STEWARD_RETURN_IF_ERROR(GetChoice(kind, kKinds, "provider kind", p.kind));
  const bool http = p.kind == "openai" || p.kind == "anthropic";
  for (std::string_view key : {"base_url", "api_key", "headers", "connect_timeout_s"}) {
    if (!http && m->Get(key).present()) {
      return m->Get(key).Fail(std::string(key) + " is not used by kind " + Quote(p.kind) +
                              " (only openai and anthropic providers call a server)");
    }
  }
  if (p.kind != "scripted" && m->Get("script").present()) {
    return m->Get("script").Fail("script is only used by kind \"scripted\"");
  }
  STEWARD_RETURN_IF_ERROR(GetString(m->Get("api_key"), p.api_key));
  STEWARD_RETURN_IF_ERROR(GetHeaders(m->Get("headers"), p.headers));
  STEWARD_RETURN_IF_ERROR(GetTimeout(m->Get("timeout_s"), p.timeout));
  STEWARD_RETURN_IF_ERROR(GetTimeout(m->Get("connect_timeout_s"), p.connect_timeout));
  STEWARD_RETURN_IF_ERROR(detail::ParseCircuitBreaker(m->Get("circuit_breaker"), p));
  if (http) {
    STEWARD_RETURN_IF_ERROR(GetBaseUrl(m->Get("base_url"), p.kind, p.base_url));
    // The hosted APIs always need a key; local servers (Ollama, vLLM) usually do not.
    const bool hosted = p.base_url == kOpenAiDefaultUrl || p.base_url == kAnthropicDefaultUrl;
    if (hosted && p.api_key.empty()) {
      const std::string var = p.kind == "anthropic" ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY";
      return m->Get("api_key").Fail("an api_key is required for " + p.base_url +
                                    " (e.g. api_key: ${" + var +
                                    "}); set base_url for a local server that needs none");
    }
  }
  if (p.kind == "scripted") {
    const Field script = m->Get("script");
    if (!script.present()) {
      return script.Fail(
          "missing required key \"script\" (the YAML script a scripted provider replays)");
    }
    std::string shown;
    STEWARD_RETURN_IF_ERROR(GetString(script, p.script, &shown));
    fs::path path(p.script);
    if (path.is_relative()) path = entry.value.ctx->base_dir / path;
    path = path.lexically_normal();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      // The resolved path is only shown when it cannot carry a variable's value.
      const std::string looked = shown == p.script ? "looked for " + path.string() + "; " : "";
      return script.Fail("script file " + Quote(shown) + " does not exist (" + looked +
                         "relative paths start at the config file's directory)");
    }
    p.script = path.string();
  }
  return Status::Ok();
}

Status ParseProviders(const Field& f, Config& config) {
  if (!f.present()) return Status::Ok();
  Result<Mapping> m = Mapping::Open(f, nullptr);
  if (!m.ok()) return m.error();
  config.providers.clear();
  for (const Mapping::Entry& e : m->entries()) {
    STEWARD_RETURN_IF_ERROR(CheckName(e, "provider"));
    models::ProviderConfig provider;
    STEWARD_RETURN_IF_ERROR(ParseProvider(e, provider));
    config.providers.push_back(std::move(provider));
  }
  return Status::Ok();
}

Status ParseModel(const Mapping::Entry& entry, const Config& config, models::ModelRoute& route) {
  static const Keys kKeys = {"provider", "model", "price"};
  static const Keys kPriceKeys = {"input_per_mtok", "output_per_mtok"};
  Result<Mapping> m = Mapping::Open(entry.value, &kKeys);
  if (!m.ok()) return m.error();
  route.name = entry.key;
  const Field provider = m->Get("provider");
  if (!provider.present()) {
    return provider.Fail("missing required key \"provider\" (expected a name under providers:)");
  }
  std::string shown;
  STEWARD_RETURN_IF_ERROR(GetString(provider, route.provider, &shown));
  Keys providers;
  for (const auto& p : config.providers) providers.push_back(p.name);
  STEWARD_RETURN_IF_ERROR(
      CheckReference(provider, route.provider, shown, providers, "provider", "providers"));
  route.upstream_model = entry.key;  // the usual case: the same name upstream
  STEWARD_RETURN_IF_ERROR(GetString(m->Get("model"), route.upstream_model));
  if (route.upstream_model.empty()) return m->Get("model").Fail("expected a non-empty model name");
  Result<Mapping> price = Mapping::Open(m->Get("price"), &kPriceKeys);
  if (!price.ok()) return price.error();
  if (m->Get("price").present()) route.price_source = "config";
  constexpr double kInf = std::numeric_limits<double>::infinity();
  constexpr std::string_view kPrice = "a non-negative number (USD per million tokens)";
  STEWARD_RETURN_IF_ERROR(
      GetNumber(price->Get("input_per_mtok"), 0, kInf, kPrice, route.input_price_per_mtok));
  return GetNumber(price->Get("output_per_mtok"), 0, kInf, kPrice, route.output_price_per_mtok);
}

Status ParseModels(const Field& f, Config& config) {
  if (!f.present()) return Status::Ok();
  Result<Mapping> m = Mapping::Open(f, nullptr);
  if (!m.ok()) return m.error();
  config.models.clear();
  for (const Mapping::Entry& e : m->entries()) {
    STEWARD_RETURN_IF_ERROR(CheckName(e, "model"));
    models::ModelRoute route;
    STEWARD_RETURN_IF_ERROR(ParseModel(e, config, route));
    config.models.push_back(std::move(route));
  }
  return Status::Ok();
}

Status ParseAgent(const Mapping::Entry& entry, const Config& config, runners::AgentConfig& agent) {
  static const Keys kKeys = {"runner", "model",          "system_prompt", "temperature",
                             "max_retries", "tools", "risk_threshold", "description"};
  static const Keys kRiskTiers = {"low", "medium", "high"};
  Result<Mapping> m = Mapping::Open(entry.value, &kKeys);
  if (!m.ok()) return m.error();
  agent.name = entry.key;
  Keys model_names;
  for (const auto& route : config.models) model_names.push_back(route.name);
  // Agents and models share the `model` namespace of /v1, so one name must mean one thing.
  if (std::find(model_names.begin(), model_names.end(), entry.key) != model_names.end()) {
    Field at = entry.value;
    at.mark = entry.key_mark;
    return at.Fail("agent name " + Quote(entry.key) + " is also a model name under models:; both "
                   "are `model` names on /v1, so rename the agent or the model");
  }
  const Field runner = m->Get("runner");
  std::string shown = agent.runner;
  STEWARD_RETURN_IF_ERROR(GetString(runner, agent.runner, &shown));
  const auto runner_char = [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::islower(u) || std::isdigit(u) || c == '_';
  };
  if (agent.runner.empty() || !std::all_of(agent.runner.begin(), agent.runner.end(), runner_char)) {
    return runner.Fail("expected a runner name such as pydantic_ai, got " + Quote(shown));
  }
  const Field model = m->Get("model");
  if (!model.present()) {
    return model.Fail("missing required key \"model\" (expected a name under models:)");
  }
  STEWARD_RETURN_IF_ERROR(GetString(model, agent.model, &shown));
  STEWARD_RETURN_IF_ERROR(
      CheckReference(model, agent.model, shown, model_names, "model", "models"));
  STEWARD_RETURN_IF_ERROR(GetString(m->Get("system_prompt"), agent.system_prompt));
  STEWARD_RETURN_IF_ERROR(GetString(m->Get("description"), agent.description));
  const Field temperature = m->Get("temperature");
  if (temperature.present()) {
    double value = 0;
    STEWARD_RETURN_IF_ERROR(GetNumber(temperature, 0, 2, "a number between 0 and 2", value));
    agent.temperature = value;
  }
  STEWARD_RETURN_IF_ERROR(GetInt(m->Get("max_retries"), 0, 10, agent.max_retries));
  STEWARD_RETURN_IF_ERROR(GetStringList(m->Get("tools"), agent.tools));
  return GetChoice(m->Get("risk_threshold"), kRiskTiers, "risk threshold", agent.risk_threshold);
}

Status ParseAgents(const Field& f, Config& config) {
  if (f.present()) {
    Result<Mapping> m = Mapping::Open(f, nullptr);
    if (!m.ok()) return m.error();
    config.agents.clear();
    for (const Mapping::Entry& e : m->entries()) {
      STEWARD_RETURN_IF_ERROR(CheckName(e, "agent"));
      runners::AgentConfig agent;
      STEWARD_RETURN_IF_ERROR(ParseAgent(e, config, agent));
      config.agents.emplace(e.key, std::move(agent));
    }
  }
  if (config.agents.empty()) {
    return f.Fail("no agents are defined (expected at least one under agents:, e.g. researcher "
                  "as in config/steward.example.yaml)");
  }
  return Status::Ok();
}

// Without default_agent: `researcher` if defined, else the only agent there is.
Status ParseDefaultAgent(const Field& f, Config& config) {
  Keys names;
  for (const auto& [name, agent] : config.agents) names.push_back(name);
  if (!f.present()) {
    if (config.agents.count(config.default_agent) > 0) return Status::Ok();
    if (config.agents.size() == 1) {
      config.default_agent = config.agents.begin()->first;
      return Status::Ok();
    }
    return f.Fail("default_agent is not set and no agent is named " + Quote(config.default_agent) +
                  " (expected one of: " + JoinList(names) + ")");
  }
  std::string shown;
  STEWARD_RETURN_IF_ERROR(GetString(f, config.default_agent, &shown));
  return CheckReference(f, config.default_agent, shown, names, "agent", "agents");
}

// The top-level sections, parsed in this order (later ones refer to earlier ones). A null
// parser marks a section reserved for a feature not built yet: accepted and ignored.
struct Section {
  std::string_view key;
  Status (*parse)(const Field&, Config&);
};

constexpr Section kSections[] = {
    {"server", ParseServer},       {"database", ParseDatabase}, {"workers", ParseWorkers},
    {"providers", ParseProviders}, {"models", ParseModels}, {"prices", detail::ParsePricesSection},     {"agents", ParseAgents},
    {"default_agent", ParseDefaultAgent},
    {"tools", detail::ParseToolsSection},
    {"files", detail::ParseFiles}, {"mcp_servers", detail::ParseMcpServers},
    {"policy", detail::ParsePolicySection},           {"memory", detail::ParseMemorySection},
    {"budgets", detail::ParseBudgetsSection},          {"telemetry", detail::ParseTelemetrySection}, {"workflows", detail::ParseWorkflowsSection},
    {"schedules", nullptr},        {"ui", nullptr},
};

Result<Config> Parse(const YAML::Node& root, const LoadContext& ctx) {
  static const Keys kTopKeys = [] {
    Keys keys;
    for (const Section& s : kSections) keys.push_back(s.key);
    return keys;
  }();
  const Field top{&ctx, "", root, root.IsNull() ? YAML::Mark::null_mark() : root.Mark()};
  Result<Mapping> m = Mapping::Open(top, &kTopKeys);
  if (!m.ok()) return m.error();
  Config config = DefaultConfig();
  // A file that routes no models at all runs on the built-in offline setup; one that defines
  // any of the three is taken as written, with nothing added.
  if (m->Get("providers").present() || m->Get("models").present() || m->Get("agents").present()) {
    config.providers.clear();
    config.models.clear();
    config.agents.clear();
  }
  for (const Section& section : kSections) {
    if (section.parse == nullptr) continue;
    STEWARD_RETURN_IF_ERROR(section.parse(m->Get(section.key), config));
  }
  return config;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<Config> LoadConfigText(const std::string& text, const std::string& source_name,
                              const fs::path& base_dir, const EnvLookup& env) {
  const LoadContext ctx{source_name, base_dir, &env};
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    Field at{&ctx, "", YAML::Node(), e.mark};
    return at.Fail("invalid YAML: " + e.msg);
  }
  try {
    return Parse(root, ctx);
  } catch (const YAML::Exception& e) {
    // Reading a parsed tree should not throw; if yaml-cpp does, still say where.
    Field at{&ctx, "", YAML::Node(), e.mark};
    return at.Fail("could not read the configuration: " + e.msg);
  }
}

Result<Config> LoadConfigFile(const fs::path& path, const EnvLookup& env) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return MakeError(ErrorCode::kConfig,
                     "config file does not exist (expected a YAML file such as "
                     "config/steward.example.yaml)",
                     path.string());
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) {
    return MakeError(ErrorCode::kConfig, "cannot read the config file (check its permissions)",
                     path.string());
  }
  const fs::path absolute = fs::absolute(path, ec);
  Result<Config> config =
      LoadConfigText(text.str(), path.string(), (ec ? path : absolute).parent_path(), env);
  if (config.ok()) config->source = ec ? path : absolute;
  return config;
}

Config DefaultConfig() {
  Config config;
  models::ProviderConfig offline;
  offline.name = "offline";
  offline.kind = "offline";
  config.providers.push_back(offline);
  models::ModelRoute route;
  route.name = "offline";
  route.provider = "offline";
  route.upstream_model = "offline";
  config.models.push_back(route);
  runners::AgentConfig researcher;
  researcher.name = "researcher";
  researcher.runner = "pydantic_ai";
  researcher.model = "offline";
  researcher.system_prompt = std::string(kResearcherPrompt);
  researcher.temperature = 0.2;
  researcher.max_retries = 2;
  researcher.tools = {"memory.*"};
  researcher.risk_threshold = "low";
  config.agents.emplace(researcher.name, researcher);
  config.default_agent = researcher.name;
  if (auto files = FindBundledFilesServer()) config.mcp_servers.push_back(std::move(*files));
  return config;
}

}  // namespace steward::app
