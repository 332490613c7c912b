#pragma once
// The `workflows:` section of steward.yaml (engine/workflow_definition.hpp): each entry is a
// workflow definition written inline, or `{file: path}` naming a YAML file (relative to the
// config file) that holds exactly one definition.

#include "app/config.hpp"
#include "app/detail/config_reader.hpp"
#include "common/result.hpp"

namespace steward::app::detail {

// Parses `workflows: {NAME: DEFINITION | {file: PATH}, ...}` into config.workflows, checking
// agents, models and sub-workflows against the rest of config (so it runs after agents: and
// models:). `${...}` inside a definition is a workflow template (inputs, steps, ...), not an
// environment variable; only the `file:` path takes ${ENV}. Then checks the set as a whole
// (sub-workflow inputs, cycles).
[[nodiscard]] Status ParseWorkflowsSection(const Field& f, Config& config);

}  // namespace steward::app::detail
