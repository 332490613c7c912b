#pragma once
// An agent as defined under `agents:` in steward.yaml: what a runner needs to build it.

#include <optional>
#include <string>
#include <vector>

namespace steward::runners {

struct AgentConfig {
  std::string name;                    // key under `agents:`; also its model name on /v1
  std::string runner = "pydantic_ai";  // which worker runner hosts it
  std::string model;                   // a key under `models:`
  std::string system_prompt;
  std::optional<double> temperature;
  int max_retries = 2;
  std::vector<std::string> tools;      // globs over namespaced tool names, e.g. "memory.*"
  std::string risk_threshold = "low";  // "low" | "medium" | "high": highest tier run without approval
  std::string description;             // shown by /v1/models and `steward doctor`
};

}  // namespace steward::runners
