#pragma once
// `steward export windmill`: turns a workflow definition into a Windmill workspace folder, so a
// user with a Windmill server can run the same workflow there (`wmill sync push`):
//
//   DIR/wmill.yaml                                   minimal workspace settings (includes f/**)
//   DIR/f/<folder>/<name>.flow/flow.yaml             the flow, in Windmill's OpenFlow format
//   DIR/f/<folder>/<name>.flow/<step>.inline_script.py   one Python script per step, `def main(...)`
//   DIR/f/<folder>/<name>.schedule.yaml              when the workflow has a schedule
//   (and the same for every sub-workflow it calls, as flows of their own)
//
// Each script calls Steward's API (tool steps: JSON-RPC tools/call on /mcp; agent steps: POST
// /api/chat, reading the SSE stream; llm steps: POST /v1/chat/completions; workflows with a
// worker orchestrator: POST /api/workflows/NAME/runs) with the base URL and token from the
// Windmill variables f/<folder>/steward_url and f/<folder>/steward_token, or from the environment
// (STEWARD_URL, STEWARD_TOKEN) when those are not there. Step templates become Windmill
// JavaScript input transforms (inputs.x -> flow_input.x, steps.a.output -> results.a, item ->
// flow_input.iter.value); for_each -> forloopflow, branch -> branchone, approval -> a module with
// `suspend`, workflow -> a PathFlow, retry/timeout -> the module's retry/timeout, on_error ->
// the flow's failure_module. What OpenFlow cannot say is listed in `warnings`.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "engine/workflow_definition.hpp"

namespace steward::engine {

struct WindmillExportOptions {
  std::string folder = "steward";  // the Windmill folder: flows go to f/<folder>/
};

struct WindmillFile {
  std::string path;  // relative to the export directory, '/'-separated
  std::string content;
};

struct WindmillExport {
  std::vector<WindmillFile> files;
  std::vector<std::string> warnings;  // what the flow does differently from Steward's engine
  std::vector<std::string> flows;     // Windmill paths of the exported flows, e.g. f/steward/daily
};

// Builds the files for `workflow` (a key of `workflows`) and every sub-workflow it calls.
// Errors: kNotFound for an unknown workflow; kInvalidArgument for a template that cannot be
// expressed (should not happen for a validated definition).
[[nodiscard]] Result<WindmillExport> ExportWindmill(const std::string& workflow,
                                                    const std::map<std::string, WorkflowDefinition>& workflows,
                                                    const WindmillExportOptions& options = {});

// Writes the files under `dir` (created if missing; existing files of the same names are replaced).
[[nodiscard]] Status WriteWindmillExport(const WindmillExport& exported, const std::filesystem::path& dir);

// JSON as block-style YAML (strings quoted whenever a plain scalar could read differently).
[[nodiscard]] std::string JsonToYaml(const nlohmann::json& value);

}  // namespace steward::engine
