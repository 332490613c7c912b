#include "engine/detail/template_references.hpp"

#include "common/message_text.hpp"
#include "engine/template.hpp"

namespace steward::engine::detail {
namespace {

const Names kReferenceRoots = {"inputs", "steps", "item", "index", "run"};

}  // namespace

Status CheckTemplateReferences(const PendingTemplate& p, const WorkflowDefinition& def,
                               const std::map<std::string, std::string>& step_ids) {
  auto refs = p.is_condition ? ParseConditionReferences(p.text) : ParseTemplateReferences(p.text);
  if (!refs.ok()) return p.where.Fail(refs.error().message);
  Names roots = kReferenceRoots;
  if (p.in_handler) roots.push_back("error");
  for (const TemplateReference& ref : *refs) {
    const std::string& root = ref.path[0];
    const std::string quoted = "'${" + ref.text + "}'";
    if (root == "inputs") {
      if (ref.path.size() >= 2 && def.inputs.count(ref.path[1]) == 0) {
        Names declared;
        for (const auto& [k, v] : def.inputs) declared.push_back(k);
        return p.where.Fail(quoted + " names input '" + ref.path[1] + "', which the workflow does not declare" +
                            DidYouMean(ref.path[1], declared) + " (inputs: " + JoinListOrNone(declared) + ")");
      }
    } else if (root == "steps") {
      if (ref.path.size() < 2) return p.where.Fail(quoted + ": expected steps.ID.output");
      const std::string& id = ref.path[1];
      if (ref.path.size() >= 3 && ref.path[2] != "output") {
        return p.where.Fail(quoted + ": expected steps." + id + ".output[...] (a step's result is under output)");
      }
      if (p.in_handler) {
        if (step_ids.count(id) == 0) {
          return p.where.Fail(quoted + " names step '" + id + "', which does not exist");
        }
        continue;
      }
      if (p.visible.count(id) > 0) continue;
      Names visible(p.visible.begin(), p.visible.end());
      if (id == p.self) {
        return p.where.Fail(quoted + " refers to this step's own output, which does not exist yet");
      }
      if (step_ids.count(id) > 0) {
        return p.where.Fail(quoted + " refers to step '" + id + "', which does not run before this point (steps "
                            "whose output is available here: " + JoinListOrNone(visible) + ")");
      }
      Names all;
      for (const auto& [k, v] : step_ids) all.push_back(k);
      return p.where.Fail(quoted + " refers to step '" + id + "', which does not exist" + DidYouMean(id, all) +
                          " (steps whose output is available here: " + JoinListOrNone(visible) + ")");
    } else if (root == "item" || root == "index") {
      if (!p.in_for_each) return p.where.Fail(quoted + ": " + root + " exists only inside a for_each step's steps");
      if (root == "index" && ref.path.size() > 1) return p.where.Fail(quoted + ": index is a number");
    } else if (root == "run") {
      if (ref.path.size() >= 2 && ref.path[1] != "id") return p.where.Fail(quoted + ": run has only id (${run.id})");
    } else if (root == "error" && p.in_handler) {
      if (ref.path.size() >= 2 && ref.path[1] != "step" && ref.path[1] != "code" && ref.path[1] != "message") {
        return p.where.Fail(quoted + ": error has step, code and message");
      }
    } else {
      return p.where.Fail(quoted + ": unknown name '" + root + "'" + DidYouMean(root, roots) +
                          " (expected one of: " + JoinList(roots) + ")");
    }
  }
  return Status::Ok();
}

}  // namespace steward::engine::detail
