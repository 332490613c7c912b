#pragma once
// steward.yaml: one file holding every setting, validated at start-up. Loading resolves
// ${ENV} references and reports the first problem as an Error naming the file, the key path
// and what was expected.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "engine/workflow_definition.hpp"
#include "memory/memory_config.hpp"
#include "models/budget_policy.hpp"
#include "models/provider_config.hpp"
#include "runners/agent_config.hpp"
#include "telemetry/telemetry_config.hpp"
#include "tools/builtin/builtin_config.hpp"
#include "tools/mcp_server_config.hpp"
#include "tools/risk_policy.hpp"

namespace steward::app {

struct ServerConfig {
  std::string listen = "127.0.0.1:8377";  // HOST:PORT; overridden by `serve --listen`
};

struct DatabaseConfig {
  std::string url;  // empty: run the embedded cluster in $STEWARD_HOME/postgres
  int pool_size = 8;
};

struct WorkersConfig {
  int pool_size = 2;    // warm worker processes
  std::string python;   // interpreter with steward_worker installed; empty: auto-detect
  std::chrono::seconds start_timeout{60};
};

struct FilesConfig {
  // Folders the file tools may touch (the filesystem MCP server's allowed directories).
  // Empty: $STEWARD_HOME/files, created at start.
  std::vector<std::string> roots;
};

struct Config {
  std::filesystem::path source;  // the file it came from; empty for built-in defaults
  ServerConfig server;
  DatabaseConfig database;
  WorkersConfig workers;
  std::vector<models::ProviderConfig> providers;
  std::vector<models::ModelRoute> models;
  std::map<std::string, runners::AgentConfig> agents;
  ::steward::tools::builtin::BuiltinToolsConfig tools;  // the `tools:` section (web, email)
  ::steward::telemetry::TelemetryConfig telemetry;      // the `telemetry:` section
  FilesConfig files;                                    // the `files:` section
  ::steward::memory::MemoryConfig memory;               // the `memory:` section
  ::steward::tools::RiskPolicyConfig policy;            // the `policy:` section
  ::steward::models::BudgetConfig budgets;              // the `budgets:` section (prices: go into `models`)
  // The `mcp_servers:` section, in file order. A file lists exactly its servers; with no file,
  // DefaultConfig() adds the bundled filesystem server `fs` when node and it are installed.
  std::vector<::steward::tools::McpServerConfig> mcp_servers;
  // Absent in the file: `researcher` if defined, else the only agent; always a key of `agents`.
  std::string default_agent = "researcher";
  // The `workflows:` section (app/detail/workflows_config.hpp), validated against agents and
  // models; keyed by workflow name.
  std::map<std::string, ::steward::engine::WorkflowDefinition> workflows;
};

// Looks up an environment variable; std::nullopt when unset. Injected so tests need not
// touch the process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// Parses and validates a config file. Relative paths inside (scripted provider scripts) are
// resolved against the file's directory; `source` is the file's absolute path. A file that
// defines none of providers/models/agents gets DefaultConfig()'s; one that defines any of them
// gets exactly what it defines. Unknown keys are errors, except in the top-level sections
// reserved for later features (schedules, ui), which are accepted and ignored for now.
[[nodiscard]] Result<Config> LoadConfigFile(const std::filesystem::path& path, const EnvLookup& env);

// Same, from text; `source_name` is used in error messages and `base_dir` for relative paths.
// `source` is left empty.
[[nodiscard]] Result<Config> LoadConfigText(const std::string& text, const std::string& source_name,
                                            const std::filesystem::path& base_dir, const EnvLookup& env);

// The configuration used when no file is given: the offline provider and model, and the
// `researcher` agent on it. Runs with no key and no network.
[[nodiscard]] Config DefaultConfig();

}  // namespace steward::app
