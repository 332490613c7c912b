#include "app/detail/workflows_config.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "engine/workflow_definition.hpp"

namespace steward::app::detail {
namespace {

namespace fs = std::filesystem;

bool IsFileReference(const YAML::Node& node) {
  if (!node.IsMap()) return false;
  for (const auto& pair : node) {
    if (pair.first.IsScalar() && pair.first.Scalar() == "file") return true;
  }
  return false;
}

// Reads `{file: PATH}` and parses the one definition the file holds.
Result<engine::WorkflowDefinition> ParseFromFile(const Mapping::Entry& e, const engine::WorkflowEnvironment& env) {
  static const Keys kKeys = {"file"};
  Result<Mapping> m = Mapping::Open(e.value, &kKeys);
  if (!m.ok()) {
    return e.value.Fail("a workflow given by file: has no other keys (put the definition in the file), " +
                        m.error().message);
  }
  const Field file_field = m->Get("file");
  std::string file;
  std::string shown;
  STEWARD_RETURN_IF_ERROR(GetString(file_field, file, &shown));
  if (file.empty()) return file_field.Fail("expected the path of a YAML file holding one workflow definition");
  fs::path path(file);
  if (path.is_relative()) path = file_field.ctx->base_dir / path;
  path = path.lexically_normal();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return file_field.Fail("workflow file " + Quote(path.string()) +
                           " does not exist (a relative path starts at the config file's directory)");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return file_field.Fail("cannot read workflow file " + Quote(path.string()) + " (check its permissions)");
  return engine::ParseWorkflow(text.str(), e.key, path, env);
}

}  // namespace

Status ParseWorkflowsSection(const Field& f, Config& config) {
  Result<Mapping> m = Mapping::Open(f, nullptr);
  if (!m.ok()) return m.error();
  engine::WorkflowEnvironment env;
  for (const auto& [name, agent] : config.agents) env.agents.push_back(name);
  for (const auto& route : config.models) env.models.push_back(route.name);
  for (const Mapping::Entry& e : m->entries()) env.workflows.push_back(e.key);

  std::map<std::string, engine::WorkflowDefinition> workflows;
  for (const Mapping::Entry& e : m->entries()) {
    STEWARD_RETURN_IF_ERROR(CheckName(e, "workflow"));
    if (!e.value.present()) {
      return e.value.Fail("expected a workflow definition (a mapping with steps:) or {file: PATH}, got nothing");
    }
    Result<engine::WorkflowDefinition> def =
        IsFileReference(e.value.node)
            ? ParseFromFile(e, env)
            : engine::ParseWorkflowNode(e.value.node, e.key, f.ctx->source, env, e.value.path);
    if (!def.ok()) return def.error();
    workflows.emplace(e.key, std::move(def).value());
  }
  STEWARD_RETURN_IF_ERROR(engine::ValidateWorkflowSet(workflows));
  config.workflows = std::move(workflows);
  return Status::Ok();
}

}  // namespace steward::app::detail
