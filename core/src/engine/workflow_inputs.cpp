// ResolveInputs: a run's inputs from what the caller gave and the workflow's defaults.
#include "engine/workflow_definition.hpp"

#include "common/message_text.hpp"

namespace steward::engine {

Result<nlohmann::json> ResolveInputs(const WorkflowDefinition& workflow, const nlohmann::json& given) {
  if (!given.is_null() && !given.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "workflow inputs must be a JSON object, got " + given.dump(),
                     "workflow " + workflow.name);
  }
  nlohmann::json out = nlohmann::json::object();
  std::vector<std::string> declared;
  for (const auto& [k, v] : workflow.inputs) declared.push_back(k);
  if (given.is_object()) {
    for (auto it = given.begin(); it != given.end(); ++it) {
      if (workflow.inputs.count(it.key()) == 0) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "workflow " + workflow.name + ": unknown input '" + it.key() + "'" + DidYouMean(it.key(), declared) + " (inputs: " + JoinListOrNone(declared) + ")",
                         "workflow " + workflow.name);
      }
      out[it.key()] = it.value();
    }
  }
  for (const auto& [k, v] : workflow.inputs) {
    if (out.contains(k)) continue;
    if (v.is_null()) {
      return MakeError(ErrorCode::kInvalidArgument, "workflow " + workflow.name + ": missing required input '" + k + "' (inputs: " + JoinListOrNone(declared) + ")",
                       "workflow " + workflow.name);
    }
    out[k] = v;
  }
  return out;
}

}  // namespace steward::engine
