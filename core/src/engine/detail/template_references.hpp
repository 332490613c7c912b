#pragma once
// The workflow parser's check of the ${...} references in a workflow's templates and conditions,
// made once the whole workflow is read (a reference may name a step defined further down).

#include <map>
#include <set>
#include <string>

#include "common/result.hpp"
#include "engine/detail/yaml_reader.hpp"
#include "engine/workflow_definition.hpp"

namespace steward::engine::detail {

// A template (or condition) to check once every step id is known.
struct PendingTemplate {
  Where where;
  std::string text;
  bool is_condition = false;
  std::set<std::string> visible;  // step ids whose output exists when this is evaluated
  bool in_for_each = false;
  bool in_handler = false;
  std::string self;  // the step this template belongs to ("" for the workflow's output)
};

// Fails, at p.where, unless every reference in p.text names something that exists when it is
// evaluated: a declared input, the output of a step that ran before it (any step, in a
// handler), item/index inside for_each, run.id, and error.* in a handler. `step_ids` maps every
// step id of `def` (nested steps and handlers included) to its key path.
[[nodiscard]] Status CheckTemplateReferences(const PendingTemplate& p, const WorkflowDefinition& def,
                                             const std::map<std::string, std::string>& step_ids);

}  // namespace steward::engine::detail
