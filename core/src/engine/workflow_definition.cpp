#include "engine/workflow_definition.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <set>
#include <utility>

#include "common/message_text.hpp"
#include "engine/cron_expression.hpp"
#include "engine/detail/template_references.hpp"
#include "engine/detail/yaml_reader.hpp"
#include "engine/template.hpp"

namespace steward::engine {
namespace {

using nlohmann::json;
using namespace detail;  // the YAML reading helpers (Where, Get*, CheckKeys, ...) and PendingTemplate

constexpr std::string_view kKindNames[] = {"agent", "tool", "llm", "for_each", "branch", "approval", "workflow"};

struct PendingHandlerRef {
  Where where;
  std::string handler;
  std::string field;  // "on_error" | "fallback"
};

struct Scope {
  std::set<std::string> visible;
  bool in_for_each = false;
  bool in_handler = false;
};

class WorkflowParser {
 public:
  WorkflowParser(std::string file, const WorkflowEnvironment& env) : file_(std::move(file)), env_(env) {}

  Result<WorkflowDefinition> Parse(const YAML::Node& node, const std::string& name, const std::string& key_path) {
    Where w{&file_, key_path, node.IsDefined() ? node.Mark() : YAML::Mark::null_mark()};
    if (!IsIdentifier(name)) {
      return w.Fail("invalid workflow name " + Quote(name) + " (expected letters, digits, _ and -, starting with a letter)");
    }
    STEWARD_RETURN_IF_ERROR(RequireMap(w, node, "a workflow definition (a mapping with steps:)"));
    static const Names kKeys = {"description", "pattern", "orchestrator", "graph",   "agents", "schedule",
                                "trigger",     "inputs",  "steps",        "handlers", "output"};
    STEWARD_RETURN_IF_ERROR(CheckKeys(w, node, kKeys, "a workflow"));

    WorkflowDefinition def;
    def.name = name;
    STEWARD_RETURN_IF_ERROR(GetString(w.Key("description", node["description"]), node["description"], def.description));
    STEWARD_RETURN_IF_ERROR(GetString(w.Key("pattern", node["pattern"]), node["pattern"], def.pattern));
    STEWARD_RETURN_IF_ERROR(ParseOrchestrator(w, node, def));
    STEWARD_RETURN_IF_ERROR(ParseAgents(w.Key("agents", node["agents"]), node["agents"], def));
    STEWARD_RETURN_IF_ERROR(ParseInputs(w.Key("inputs", node["inputs"]), node["inputs"], def));
    STEWARD_RETURN_IF_ERROR(ParseScheduleAndTrigger(w, node, def));

    const YAML::Node steps = node["steps"];
    if (def.orchestrator == "steward") {
      if (!Present(steps)) {
        return w.Key("steps", steps).Fail("missing steps (expected a list of steps, e.g. - {id: fetch, tool: web.fetch})");
      }
      Scope top;
      STEWARD_RETURN_IF_ERROR(ParseStepList(w.Key("steps", steps), steps, top, def.steps, /*allow_empty=*/false));
    } else if (Present(steps)) {
      return w.Key("steps", steps).Fail("orchestrator " + Quote(def.orchestrator) +
                                        " runs the whole workflow in a worker, so steps: are not allowed (use "
                                        "orchestrator: steward to have Steward run steps)");
    }

    const YAML::Node handlers = node["handlers"];
    if (Present(handlers)) {
      Scope hs;
      hs.in_handler = true;
      STEWARD_RETURN_IF_ERROR(ParseStepList(w.Key("handlers", handlers), handlers, hs, def.handlers, true));
    }

    const YAML::Node output = node["output"];
    if (Present(output)) {
      Where ow = w.Key("output", output);
      STEWARD_RETURN_IF_ERROR(GetString(ow, output, def.output, "a template such as \"${steps.send.output}\""));
      PendingTemplate p{ow, def.output, false, {}, false, false, ""};
      for (const auto& s : def.steps) p.visible.insert(s.id);
      pending_.push_back(std::move(p));
    }

    // Now every id is known.
    Names handler_ids;
    for (const auto& h : def.handlers) handler_ids.push_back(h.id);
    for (const auto& ref : handler_refs_) {
      if (!Contains(handler_ids, ref.handler)) {
        std::string hint = all_ids_.count(ref.handler) > 0 ? " ('" + ref.handler + "' is a step, not a handler)" : "";
        return ref.where.Fail(ref.field + " names " + Quote(ref.handler) + ", which is not a step under handlers:" +
                              hint + DidYouMean(ref.handler, handler_ids) + " (handlers: " + JoinListOrNone(handler_ids) + ")");
      }
    }
    for (const auto& p : pending_) STEWARD_RETURN_IF_ERROR(CheckTemplateReferences(p, def, all_ids_));
    def.source = file_;
    return def;
  }

 private:
  Status ParseOrchestrator(const Where& w, const YAML::Node& node, WorkflowDefinition& def) {
    Where ow = w.Key("orchestrator", node["orchestrator"]);
    STEWARD_RETURN_IF_ERROR(GetString(ow, node["orchestrator"], def.orchestrator, "an orchestrator name"));
    if (def.orchestrator == "windmill") {
      return ow.Fail("Windmill cannot run inside Steward; use orchestrator: steward and export the workflow with "
                     "`steward export windmill " + def.name + " DIR` to run it on a Windmill server");
    }
    if (!IsIdentifier(def.orchestrator)) {
      return ow.Fail("expected \"steward\" or a worker runner name such as \"langgraph\", got " + Quote(def.orchestrator));
    }
    Where gw = w.Key("graph", node["graph"]);
    STEWARD_RETURN_IF_ERROR(GetString(gw, node["graph"], def.graph, "a graph name"));
    if (def.orchestrator == "steward") {
      if (!def.graph.empty()) {
        return gw.Fail("graph: applies only to worker orchestrators (e.g. orchestrator: langgraph); steward runs steps:");
      }
    } else if (def.graph.empty()) {
      return gw.Fail("orchestrator " + Quote(def.orchestrator) +
                     " needs graph: naming the graph or program its runner runs (e.g. graph: research)");
    }
    return Status::Ok();
  }

  Status ParseAgents(const Where& w, const YAML::Node& n, WorkflowDefinition& def) {
    STEWARD_RETURN_IF_ERROR(GetStringList(w, n, def.agents));
    for (size_t i = 0; i < def.agents.size(); ++i) {
      if (!Contains(env_.agents, def.agents[i])) {
        Where at = n.IsSequence() ? w.Index(i, n[i]) : w;
        return at.Fail("unknown agent " + Quote(def.agents[i]) + DidYouMean(def.agents[i], env_.agents) +
                       " (agents: " + JoinListOrNone(env_.agents) + ")");
      }
    }
    return Status::Ok();
  }

  Status ParseInputs(const Where& w, const YAML::Node& n, WorkflowDefinition& def) {
    if (!Present(n)) return Status::Ok();
    STEWARD_RETURN_IF_ERROR(RequireMap(w, n, "a mapping of input names to defaults (null: required)"));
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      Where at = w.Key(key, it->first);
      if (!IsIdentifier(key)) return at.Fail("invalid input name " + Quote(key) + " (expected letters, digits, _ and -)");
      if (def.inputs.count(key) > 0) return at.Fail("duplicate input " + Quote(key));
      def.inputs[key] = YamlToJson(it->second);
    }
    return Status::Ok();
  }

  Status ParseScheduleAndTrigger(const Where& w, const YAML::Node& node, WorkflowDefinition& def) {
    const YAML::Node sn = node["schedule"];
    Where sw = w.Key("schedule", sn);
    if (Present(sn)) {
      ScheduleDefinition sched;
      if (sn.IsScalar()) {
        sched.cron = sn.Scalar();
      } else if (sn.IsMap()) {
        STEWARD_RETURN_IF_ERROR(CheckKeys(sw, sn, {"cron", "timezone", "missed", "max_catch_up"}, "schedule"));
        if (!Present(sn["cron"])) return sw.Key("cron", sn["cron"]).Fail("missing cron (expected e.g. \"0 8 * * *\")");
        STEWARD_RETURN_IF_ERROR(GetString(sw.Key("cron", sn["cron"]), sn["cron"], sched.cron, "a cron expression"));
        STEWARD_RETURN_IF_ERROR(
            GetString(sw.Key("timezone", sn["timezone"]), sn["timezone"], sched.timezone, "an IANA time zone name"));
        std::string missed = "skip";
        Where mw = sw.Key("missed", sn["missed"]);
        STEWARD_RETURN_IF_ERROR(GetString(mw, sn["missed"], missed, "skip or catch_up"));
        if (missed == "skip") {
          sched.missed = MissedRunPolicy::kSkip;
        } else if (missed == "catch_up") {
          sched.missed = MissedRunPolicy::kCatchUp;
        } else {
          return mw.Fail("expected skip or catch_up, got " + Quote(missed) + DidYouMean(missed, Names{"skip", "catch_up"}));
        }
        Where cw = sw.Key("max_catch_up", sn["max_catch_up"]);
        STEWARD_RETURN_IF_ERROR(GetInt(cw, sn["max_catch_up"], 1, 10000, sched.max_catch_up));
        if (Present(sn["max_catch_up"]) && sched.missed != MissedRunPolicy::kCatchUp) {
          return cw.Fail("max_catch_up applies only with missed: catch_up");
        }
      } else {
        return sw.Fail("expected a cron string such as \"0 8 * * *\" or a mapping {cron, timezone, missed, "
                       "max_catch_up}, got " + Got(sn));
      }
      Where cron_where = sn.IsMap() ? sw.Key("cron", sn["cron"]) : sw;
      auto parsed = CronExpression::Parse(sched.cron, sched.timezone);
      if (!parsed.ok()) return cron_where.Fail(parsed.error().message);
      def.schedule = std::move(sched);
    }
    Where tw = w.Key("trigger", node["trigger"]);
    if (Present(node["trigger"])) {
      STEWARD_RETURN_IF_ERROR(GetString(tw, node["trigger"], def.trigger, "manual or schedule"));
      if (def.trigger != "manual" && def.trigger != "schedule") {
        return tw.Fail("expected manual or schedule, got " + Quote(def.trigger) +
                       DidYouMean(def.trigger, Names{"manual", "schedule"}));
      }
      if (def.trigger == "schedule" && !def.schedule) {
        return tw.Fail("trigger: schedule needs a schedule: (e.g. schedule: \"0 8 * * *\")");
      }
      if (def.trigger == "manual" && def.schedule) {
        return tw.Fail("trigger: manual conflicts with schedule: (remove the schedule, or set trigger: schedule)");
      }
    } else {
      def.trigger = def.schedule ? "schedule" : "manual";
    }
    return Status::Ok();
  }

  Status ParseStepList(const Where& w, const YAML::Node& n, const Scope& outer, std::vector<StepDefinition>& out,
                       bool allow_empty) {
    if (!n.IsSequence()) return w.Fail("expected a list of steps, got " + Got(n));
    if (n.size() == 0 && !allow_empty) return w.Fail("expected at least one step, got an empty list");
    Scope scope = outer;
    for (size_t i = 0; i < n.size(); ++i) {
      StepDefinition step;
      STEWARD_RETURN_IF_ERROR(ParseStep(w, i, n[i], scope, step));
      // Later siblings see this step's output; a handler's siblings are not run before it.
      if (!scope.in_handler) scope.visible.insert(step.id);
      out.push_back(std::move(step));
    }
    return Status::Ok();
  }

  static Result<StepKind> KindFromName(const Where& w, const std::string& name) {
    for (size_t i = 0; i < std::size(kKindNames); ++i) {
      if (kKindNames[i] == name) return static_cast<StepKind>(i);
    }
    Names kinds(std::begin(kKindNames), std::end(kKindNames));
    return w.Fail("unknown step kind " + Quote(name) + DidYouMean(name, kinds) + " (expected one of: " + JoinList(kinds) + ")");
  }

  Status ParseStep(const Where& list, size_t index, const YAML::Node& n, const Scope& scope, StepDefinition& step) {
    Where w = list.Index(index, n);
    if (!n.IsMap()) return w.Fail("expected a step (a mapping with id: and kind:), got " + Got(n));

    // The id first, so every later message can name it.
    const YAML::Node idn = n["id"];
    if (!Present(idn)) return w.Key("id", idn).Fail("missing id (every step needs a unique id, e.g. id: fetch)");
    auto id = ReadString(w.Key("id", idn), idn, "a step id");
    if (!id.ok()) return id.error();
    step.id = std::move(id).value();
    if (!IsIdentifier(step.id)) {
      return w.Key("id", idn).Fail("invalid step id " + Quote(step.id) +
                                   " (expected letters, digits, _ and -, starting with a letter)");
    }
    w.path += " (id '" + step.id + "')";
    if (auto [it, inserted] = all_ids_.emplace(step.id, w.path); !inserted) {
      return w.Key("id", idn).Fail("duplicate step id " + Quote(step.id) + " (already used by " + it->second +
                                   "; ids must be unique in the workflow, nested steps and handlers included)");
    }

    // The kind: explicit, or implied by the one key that only that kind has.
    const YAML::Node kn = n["kind"];
    if (Present(kn)) {
      auto name = ReadString(w.Key("kind", kn), kn, "a step kind");
      if (!name.ok()) return name.error();
      auto kind = KindFromName(w.Key("kind", kn), *name);
      if (!kind.ok()) return kind.error();
      step.kind = *kind;
    } else {
      static const std::pair<std::string_view, StepKind> kImplied[] = {
          {"agent", StepKind::kAgent},   {"tool", StepKind::kTool},         {"model", StepKind::kLlm},
          {"prompt", StepKind::kLlm},    {"for_each", StepKind::kForEach},  {"items", StepKind::kForEach},
          {"cases", StepKind::kBranch},  {"workflow", StepKind::kWorkflow},
      };
      std::vector<std::pair<std::string, StepKind>> found;
      for (const auto& [key, kind] : kImplied) {
        if (n[std::string(key)].IsDefined()) {
          bool dup = std::any_of(found.begin(), found.end(), [&](const auto& f) { return f.second == kind; });
          if (!dup) found.emplace_back(std::string(key), kind);
        }
      }
      if (found.empty()) {
        return w.Key("kind", kn).Fail("missing kind (expected kind: agent, tool, llm, for_each, branch, approval or "
                                      "workflow)");
      }
      if (found.size() > 1) {
        return w.Fail("cannot tell the step's kind: it has both '" + found[0].first + "' and '" + found[1].first +
                      "' (add kind: " + std::string(StepKindName(found[0].second)) + " or kind: " +
                      std::string(StepKindName(found[1].second)) + ")");
      }
      step.kind = found[0].second;
    }

    Names keys = {"id", "kind", "description", "retry", "timeout"};
    if (!scope.in_handler) keys.insert(keys.end(), {"on_error", "fallback"});
    switch (step.kind) {
      case StepKind::kAgent: keys.insert(keys.end(), {"agent", "message", "limits"}); break;
      case StepKind::kTool: keys.insert(keys.end(), {"tool", "input", "idempotency_key"}); break;
      case StepKind::kLlm: keys.insert(keys.end(), {"model", "prompt", "system", "input", "limits"}); break;
      case StepKind::kForEach: keys.insert(keys.end(), {"items", "for_each", "max_parallel", "steps"}); break;
      case StepKind::kBranch: keys.insert(keys.end(), {"cases", "otherwise"}); break;
      case StepKind::kApproval: keys.insert(keys.end(), {"message"}); break;
      case StepKind::kWorkflow: keys.insert(keys.end(), {"workflow", "input", "limits"}); break;
    }
    STEWARD_RETURN_IF_ERROR(CheckKeys(w, n, keys, std::string("a ") + std::string(StepKindName(step.kind)) + " step"));

    STEWARD_RETURN_IF_ERROR(GetString(w.Key("description", n["description"]), n["description"], step.description));
    STEWARD_RETURN_IF_ERROR(ParseRetry(w.Key("retry", n["retry"]), n["retry"], step.retry));
    if (Present(n["timeout"])) {
      std::chrono::milliseconds t{0};
      Where tw = w.Key("timeout", n["timeout"]);
      STEWARD_RETURN_IF_ERROR(GetDuration(tw, n["timeout"], t));
      if (t.count() <= 0) return tw.Fail("expected a positive duration, got " + Quote(n["timeout"].Scalar()));
      step.timeout = t;
    }
    for (const char* field : {"on_error", "fallback"}) {
      const YAML::Node fn = n[field];
      if (!Present(fn)) continue;
      Where fw = w.Key(field, fn);
      std::string& target = std::string_view(field) == "on_error" ? step.on_error : step.fallback;
      STEWARD_RETURN_IF_ERROR(GetString(fw, fn, target, "the id of a step under handlers:"));
      handler_refs_.push_back(PendingHandlerRef{fw, target, field});
    }
    if (Present(n["limits"])) STEWARD_RETURN_IF_ERROR(ParseLimits(w.Key("limits", n["limits"]), n["limits"], step.limits));

    auto require = [&](const char* key, std::string& out, std::string_view expected) -> Status {
      Where kw = w.Key(key, n[key]);
      if (!Present(n[key])) {
        const std::string_view kind = StepKindName(step.kind);
        const char* article = (kind[0] == 'a' || kind[0] == 'l') ? "an " : "a ";
        return kw.Fail("missing " + std::string(key) + " (" + article + std::string(kind) + " step needs " +
                       std::string(expected) + ")");
      }
      STEWARD_RETURN_IF_ERROR(GetString(kw, n[key], out, expected));
      if (out.empty()) return kw.Fail("expected " + std::string(expected) + ", got an empty string");
      return Status::Ok();
    };
    auto templ = [&](const char* key, const std::string& text, bool is_condition = false) {
      PendingTemplate p{w.Key(key, n[key]), text, is_condition, scope.visible, scope.in_for_each, scope.in_handler, step.id};
      pending_.push_back(std::move(p));
    };
    auto input = [&]() -> Status {
      const YAML::Node in = n["input"];
      if (!Present(in)) return Status::Ok();
      Where iw = w.Key("input", in);
      STEWARD_RETURN_IF_ERROR(RequireMap(iw, in, "a mapping of argument names to values"));
      step.input = YamlToJson(in);
      CollectJsonTemplates(iw, step.input, scope, step.id);
      return Status::Ok();
    };

    switch (step.kind) {
      case StepKind::kAgent: {
        STEWARD_RETURN_IF_ERROR(require("agent", step.agent, "an agent name from agents:"));
        if (!Contains(env_.agents, step.agent)) {
          return w.Key("agent", n["agent"]).Fail("unknown agent " + Quote(step.agent) + DidYouMean(step.agent, env_.agents) +
                                                 " (agents: " + JoinListOrNone(env_.agents) + ")");
        }
        STEWARD_RETURN_IF_ERROR(require("message", step.message, "the message the agent gets"));
        templ("message", step.message);
        break;
      }
      case StepKind::kTool: {
        STEWARD_RETURN_IF_ERROR(require("tool", step.tool, "a hub tool name such as email.send"));
        if (std::any_of(step.tool.begin(), step.tool.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
          return w.Key("tool", n["tool"]).Fail("expected a tool name such as email.send, got " + Quote(step.tool));
        }
        STEWARD_RETURN_IF_ERROR(input());
        if (Present(n["idempotency_key"])) {
          STEWARD_RETURN_IF_ERROR(require("idempotency_key", step.idempotency_key, "a template such as \"${run.id}/send\""));
          templ("idempotency_key", step.idempotency_key);
        }  // else empty: the engine uses "<run id>/<step path>", unique per for_each iteration
        break;
      }
      case StepKind::kLlm: {
        STEWARD_RETURN_IF_ERROR(require("model", step.model, "a model name from models:"));
        if (!Contains(env_.models, step.model)) {
          return w.Key("model", n["model"]).Fail("unknown model " + Quote(step.model) + DidYouMean(step.model, env_.models) +
                                                 " (models: " + JoinListOrNone(env_.models) + ")");
        }
        STEWARD_RETURN_IF_ERROR(require("prompt", step.prompt, "the prompt (the user message)"));
        templ("prompt", step.prompt);
        STEWARD_RETURN_IF_ERROR(GetString(w.Key("system", n["system"]), n["system"], step.system));
        if (!step.system.empty()) templ("system", step.system);
        STEWARD_RETURN_IF_ERROR(input());
        break;
      }
      case StepKind::kForEach: {
        const bool has_items = n["items"].IsDefined();
        const bool has_for_each = n["for_each"].IsDefined();
        if (has_items && has_for_each) {
          return w.Key("for_each", n["for_each"]).Fail("give the list either as for_each: or as items:, not both");
        }
        const char* key = has_for_each ? "for_each" : "items";
        STEWARD_RETURN_IF_ERROR(require(key, step.items, "a template yielding a list, e.g. \"${steps.fetch.output.items}\""));
        if (!HasPlaceholders(step.items)) {
          return w.Key(key, n[key]).Fail("expected a template yielding a list, e.g. \"${steps.fetch.output.items}\", got " +
                                         Quote(step.items));
        }
        templ(key, step.items);
        STEWARD_RETURN_IF_ERROR(GetInt(w.Key("max_parallel", n["max_parallel"]), n["max_parallel"], 1, INT_MAX, step.max_parallel));
        const YAML::Node body = n["steps"];
        if (!Present(body)) return w.Key("steps", body).Fail("missing steps (a for_each step needs the steps to run per item)");
        Scope inner = scope;
        inner.in_for_each = true;
        STEWARD_RETURN_IF_ERROR(ParseStepList(w.Key("steps", body), body, inner, step.body, false));
        break;
      }
      case StepKind::kBranch: {
        const YAML::Node cases = n["cases"];
        Where cw = w.Key("cases", cases);
        if (!Present(cases)) return cw.Fail("missing cases (a branch step needs a list of {when, steps})");
        if (!cases.IsSequence() || cases.size() == 0) return cw.Fail("expected a non-empty list of {when, steps}, got " + Got(cases));
        for (size_t i = 0; i < cases.size(); ++i) {
          const YAML::Node c = cases[i];
          Where ci = cw.Index(i, c);
          STEWARD_RETURN_IF_ERROR(RequireMap(ci, c, "a case {when, steps}"));
          STEWARD_RETURN_IF_ERROR(CheckKeys(ci, c, {"when", "steps"}, "a branch case"));
          BranchCase bc;
          Where ww = ci.Key("when", c["when"]);
          if (!Present(c["when"])) return ww.Fail("missing when (a condition such as \"${steps.fetch.output.count} > 0\")");
          STEWARD_RETURN_IF_ERROR(GetString(ww, c["when"], bc.when, "a condition"));
          pending_.push_back(PendingTemplate{ww, bc.when, true, scope.visible, scope.in_for_each, scope.in_handler, step.id});
          Where sw = ci.Key("steps", c["steps"]);
          if (!Present(c["steps"])) return sw.Fail("missing steps (the steps run when the case holds)");
          STEWARD_RETURN_IF_ERROR(ParseStepList(sw, c["steps"], scope, bc.steps, false));
          step.cases.push_back(std::move(bc));
        }
        if (Present(n["otherwise"])) {
          STEWARD_RETURN_IF_ERROR(ParseStepList(w.Key("otherwise", n["otherwise"]), n["otherwise"], scope, step.otherwise, true));
        }
        break;
      }
      case StepKind::kApproval: {
        STEWARD_RETURN_IF_ERROR(require("message", step.message, "the question the owner is asked"));
        templ("message", step.message);
        break;
      }
      case StepKind::kWorkflow: {
        STEWARD_RETURN_IF_ERROR(require("workflow", step.workflow, "a workflow name from workflows:"));
        if (!Contains(env_.workflows, step.workflow)) {
          return w.Key("workflow", n["workflow"]).Fail("unknown workflow " + Quote(step.workflow) +
                                                       DidYouMean(step.workflow, env_.workflows) + " (workflows: " +
                                                       JoinListOrNone(env_.workflows) + ")");
        }
        STEWARD_RETURN_IF_ERROR(input());
        break;
      }
    }
    return Status::Ok();
  }

  void CollectJsonTemplates(const Where& w, const json& v, const Scope& scope, const std::string& self) {
    if (v.is_string()) {
      pending_.push_back(PendingTemplate{w, v.get<std::string>(), false, scope.visible, scope.in_for_each, scope.in_handler, self});
    } else if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        Where kw = w;
        kw.path += "." + it.key();
        CollectJsonTemplates(kw, it.value(), scope, self);
      }
    } else if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) {
        Where iw = w;
        iw.path += "[" + std::to_string(i) + "]";
        CollectJsonTemplates(iw, v[i], scope, self);
      }
    }
  }

  Status ParseRetry(const Where& w, const YAML::Node& n, RetryPolicy& retry) {
    if (!Present(n)) return Status::Ok();
    if (n.IsScalar()) return GetInt(w, n, 1, INT_MAX, retry.max_attempts);  // retry: 3
    if (!n.IsMap()) return w.Fail("expected an attempt count or a mapping {max_attempts, backoff, multiplier, max_backoff}, got " + Got(n));
    STEWARD_RETURN_IF_ERROR(CheckKeys(w, n, {"max_attempts", "backoff", "initial_backoff", "multiplier", "max_backoff"}, "retry"));
    STEWARD_RETURN_IF_ERROR(GetInt(w.Key("max_attempts", n["max_attempts"]), n["max_attempts"], 1, INT_MAX, retry.max_attempts));
    if (n["backoff"].IsDefined() && n["initial_backoff"].IsDefined()) {
      return w.Key("initial_backoff", n["initial_backoff"]).Fail("give either backoff: or initial_backoff:, not both");
    }
    const char* bkey = n["initial_backoff"].IsDefined() ? "initial_backoff" : "backoff";
    STEWARD_RETURN_IF_ERROR(GetDuration(w.Key(bkey, n[bkey]), n[bkey], retry.initial_backoff));
    STEWARD_RETURN_IF_ERROR(GetDouble(w.Key("multiplier", n["multiplier"]), n["multiplier"], 1.0, 100.0,
                                      "a number from 1 to 100", retry.multiplier));
    Where mw = w.Key("max_backoff", n["max_backoff"]);
    STEWARD_RETURN_IF_ERROR(GetDuration(mw, n["max_backoff"], retry.max_backoff));
    if (retry.max_backoff < retry.initial_backoff) {
      if (Present(n["max_backoff"])) {
        return mw.Fail("max_backoff (" + FormatDuration(retry.max_backoff) + ") is shorter than the initial backoff (" +
                       FormatDuration(retry.initial_backoff) + ")");
      }
      retry.max_backoff = retry.initial_backoff;
    }
    return Status::Ok();
  }

  Status ParseLimits(const Where& w, const YAML::Node& n, ResourceLimits& limits) {
    STEWARD_RETURN_IF_ERROR(RequireMap(w, n, "a mapping {cpu_seconds, memory_mb}"));
    STEWARD_RETURN_IF_ERROR(CheckKeys(w, n, {"cpu_seconds", "memory_mb"}, "limits"));
    if (Present(n["cpu_seconds"])) {
      int v = 0;
      STEWARD_RETURN_IF_ERROR(GetInt(w.Key("cpu_seconds", n["cpu_seconds"]), n["cpu_seconds"], 1, INT_MAX, v));
      limits.cpu_seconds = v;
    }
    if (Present(n["memory_mb"])) {
      int v = 0;
      STEWARD_RETURN_IF_ERROR(GetInt(w.Key("memory_mb", n["memory_mb"]), n["memory_mb"], 16, INT_MAX, v));
      limits.memory_mb = v;
    }
    return Status::Ok();
  }

  std::string file_;
  const WorkflowEnvironment& env_;
  std::map<std::string, std::string> all_ids_;  // id -> key path of the step that has it
  std::vector<PendingTemplate> pending_;
  std::vector<PendingHandlerRef> handler_refs_;
};

const StepDefinition* FindIn(const std::vector<StepDefinition>& steps, std::string_view id) {
  for (const auto& s : steps) {
    if (s.id == id) return &s;
    if (const auto* f = FindIn(s.body, id)) return f;
    for (const auto& c : s.cases) {
      if (const auto* f = FindIn(c.steps, id)) return f;
    }
    if (const auto* f = FindIn(s.otherwise, id)) return f;
  }
  return nullptr;
}

}  // namespace

std::string_view StepKindName(StepKind kind) {
  const auto i = static_cast<size_t>(kind);
  return i < std::size(kKindNames) ? kKindNames[i] : "unknown";
}

Result<WorkflowDefinition> ParseWorkflowNode(const YAML::Node& node, const std::string& name,
                                             const std::filesystem::path& file, const WorkflowEnvironment& env,
                                             const std::string& key_path) {
  WorkflowParser parser(file.string(), env);
  try {
    return parser.Parse(node, name, key_path.empty() ? "workflows." + name : key_path);
  } catch (const YAML::Exception& e) {
    std::string where = file.string() + ": " + (key_path.empty() ? "workflows." + name : key_path);
    return MakeError(ErrorCode::kConfig, "could not read the workflow: " + e.msg, where);
  }
}

Result<WorkflowDefinition> ParseWorkflow(const std::string& yaml_text, const std::string& name,
                                         const std::filesystem::path& file, const WorkflowEnvironment& env) {
  YAML::Node node;
  try {
    node = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    std::string where = file.string() + ": workflows." + name;
    if (!e.mark.is_null()) {
      where += " (line " + std::to_string(e.mark.line + 1) + ", column " + std::to_string(e.mark.column + 1) + ")";
    }
    return MakeError(ErrorCode::kConfig, "invalid YAML: " + e.msg, where);
  }
  return ParseWorkflowNode(node, name, file, env);
}

const StepDefinition* FindStep(const WorkflowDefinition& workflow, std::string_view id) {
  if (const auto* s = FindIn(workflow.steps, id)) return s;
  return FindIn(workflow.handlers, id);
}

}  // namespace steward::engine
