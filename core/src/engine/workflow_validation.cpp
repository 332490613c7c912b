// ValidateWorkflowSet: what no single workflow definition can check alone.
#include "engine/workflow_definition.hpp"

#include <algorithm>
#include <functional>
#include <set>

#include "common/message_text.hpp"

namespace steward::engine {
namespace {

void VisitSteps(const std::vector<StepDefinition>& steps, const std::function<void(const StepDefinition&)>& fn) {
  for (const auto& s : steps) {
    fn(s);
    VisitSteps(s.body, fn);
    for (const auto& c : s.cases) VisitSteps(c.steps, fn);
    VisitSteps(s.otherwise, fn);
  }
}

}  // namespace

Status ValidateWorkflowSet(const std::map<std::string, WorkflowDefinition>& workflows) {
  for (const auto& [name, def] : workflows) {
    Status status;
    auto check = [&](const StepDefinition& s) {
      if (!status.ok() || s.kind != StepKind::kWorkflow) return;
      const std::string where = def.source.string() + ": workflows." + name + " step '" + s.id + "'";
      auto it = workflows.find(s.workflow);
      if (it == workflows.end()) {
        status = MakeError(ErrorCode::kConfig, "unknown workflow '" + s.workflow + "'", where);
        return;
      }
      const WorkflowDefinition& child = it->second;
      std::vector<std::string> declared;
      for (const auto& [k, v] : child.inputs) declared.push_back(k);
      for (auto in = s.input.begin(); in != s.input.end(); ++in) {
        if (child.inputs.count(in.key()) == 0) {
          status = MakeError(ErrorCode::kConfig,
                             "input '" + in.key() + "' is not declared by workflow '" + s.workflow + "'" +
                                 DidYouMean(in.key(), declared) + " (its inputs: " + JoinListOrNone(declared) + ")",
                             where + ".input");
          return;
        }
      }
      for (const auto& [k, v] : child.inputs) {
        if (v.is_null() && !s.input.contains(k)) {
          status = MakeError(ErrorCode::kConfig,
                             "workflow '" + s.workflow + "' requires input '" + k + "', which this step does not give",
                             where + ".input");
          return;
        }
      }
    };
    VisitSteps(def.steps, check);
    VisitSteps(def.handlers, check);
    STEWARD_RETURN_IF_ERROR(status);
  }
  // Cycles: depth-first over workflow -> sub-workflows, with the path for the message.
  std::map<std::string, int> state;  // 0 unvisited, 1 on the path, 2 done
  std::vector<std::string> path;
  std::function<Status(const std::string&)> dfs = [&](const std::string& name) -> Status {
    state[name] = 1;
    path.push_back(name);
    auto it = workflows.find(name);
    if (it != workflows.end()) {
      std::set<std::string> children;
      auto collect = [&](const StepDefinition& s) {
        if (s.kind == StepKind::kWorkflow) children.insert(s.workflow);
      };
      VisitSteps(it->second.steps, collect);
      VisitSteps(it->second.handlers, collect);
      for (const auto& child : children) {
        if (state[child] == 1) {
          std::string cycle;
          auto from = std::find(path.begin(), path.end(), child);
          for (auto p = from; p != path.end(); ++p) cycle += *p + " -> ";
          cycle += child;
          return MakeError(ErrorCode::kConfig,
                           "workflows call each other in a cycle (" + cycle + "); a sub-workflow may not call back",
                           it->second.source.string() + ": workflows." + name);
        }
        if (state[child] == 0) STEWARD_RETURN_IF_ERROR(dfs(child));
      }
    }
    path.pop_back();
    state[name] = 2;
    return Status::Ok();
  };
  for (const auto& [name, def] : workflows) {
    if (state[name] == 0) STEWARD_RETURN_IF_ERROR(dfs(name));
  }
  return Status::Ok();
}

}  // namespace steward::engine
