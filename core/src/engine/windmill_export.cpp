#include "engine/windmill_export.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <system_error>

#include "engine/detail/windmill_scripts.hpp"
#include "engine/detail/windmill_transforms.hpp"
#include "engine/detail/windmill_yaml.hpp"

namespace steward::engine {
namespace {

using ojson = nlohmann::ordered_json;
using nlohmann::json;
using detail::InputTransform;
using detail::StaticTransform;
using detail::WindmillScript;
using detail::WindmillScriptKind;

class Exporter {
 public:
  Exporter(const std::map<std::string, WorkflowDefinition>& all, const WindmillExportOptions& options)
      : all_(all), options_(options) {}

  Status ExportFlow(const std::string& name) {
    if (done_.count(name) > 0) return Status::Ok();
    done_.insert(name);
    auto it = all_.find(name);
    if (it == all_.end()) {
      std::string known;
      for (const auto& [k, v] : all_) known += (known.empty() ? "" : ", ") + k;
      return MakeError(ErrorCode::kNotFound, "no workflow named '" + name + "' (workflows: " +
                                                 (known.empty() ? "none" : known) + ")");
    }
    const WorkflowDefinition& wf = it->second;
    wf_ = &wf;
    dir_ = "f/" + options_.folder + "/" + name + ".flow/";
    scripts_.clear();
    pending_children_.clear();

    ojson modules = ojson::array();
    if (wf.orchestrator != "steward") {
      STEWARD_RETURN_IF_ERROR(GraphModule(wf, modules));
    } else {
      STEWARD_RETURN_IF_ERROR(Modules(wf.steps, "", modules));
    }
    ojson value = {{"modules", modules}};
    STEWARD_RETURN_IF_ERROR(FailureModule(wf, value));

    ojson flow;
    flow["summary"] = wf.description.empty() ? "Steward workflow " + name : wf.description;
    flow["description"] = "Exported from Steward (steward export windmill " + name + "). Workflow '" + name +
                          "', orchestrator " + wf.orchestrator + (wf.pattern.empty() ? "" : ", pattern " + wf.pattern) +
                          ". Scripts call Steward's API: set the variables f/" + options_.folder +
                          "/steward_url and f/" + options_.folder + "/steward_token.";
    flow["value"] = std::move(value);
    flow["schema"] = InputSchema(wf);
    out_.files.push_back({dir_ + "flow.yaml", detail::ToYaml(flow)});
    for (auto& f : scripts_) out_.files.push_back(std::move(f));
    out_.flows.push_back("f/" + options_.folder + "/" + name);
    if (wf.schedule) Schedule(wf);

    std::vector<std::string> children = pending_children_;
    for (const auto& child : children) STEWARD_RETURN_IF_ERROR(ExportFlow(child));
    return Status::Ok();
  }

  WindmillExport Take() {
    const ojson settings = {{"defaultTs", "bun"}, {"includes", ojson::array({"f/**"})}, {"excludes", ojson::array()},
                            {"includeSchedules", true}};
    out_.files.insert(out_.files.begin(),
                      WindmillFile{"wmill.yaml",
                                   detail::ToYaml(settings, "Windmill sync settings for the flows Steward exported.")});
    return std::move(out_);
  }

 private:
  void Warn(const std::string& text) { out_.warnings.push_back("workflow '" + wf_->name + "': " + text); }

  static ojson InputSchema(const WorkflowDefinition& wf) {
    ojson props = ojson::object();
    ojson required = ojson::array();
    ojson order = ojson::array();
    for (const auto& [name, def] : wf.inputs) {
      ojson p;
      if (def.is_boolean()) p["type"] = "boolean";
      else if (def.is_number_integer() || def.is_number_unsigned()) p["type"] = "integer";
      else if (def.is_number()) p["type"] = "number";
      else if (def.is_array()) p["type"] = "array";
      else if (def.is_object()) p["type"] = "object";
      else p["type"] = "string";
      p["description"] = def.is_null() ? "required" : "";
      if (def.is_null()) required.push_back(name);
      else p["default"] = ojson::parse(def.dump());
      props[name] = std::move(p);
      order.push_back(name);
    }
    return ojson{{"$schema", "https://json-schema.org/draft/2020-12/schema"},
                 {"type", "object"},
                 {"properties", props},
                 {"required", required},
                 {"order", order}};
  }

  Status Modules(const std::vector<StepDefinition>& steps, const std::string& prefix, ojson& out) {
    for (const auto& step : steps) {
      ojson m;
      STEWARD_RETURN_IF_ERROR(Module(step, prefix, m));
      out.push_back(std::move(m));
    }
    return Status::Ok();
  }

  // The script of a leaf step, its header naming the workflow, the step and `what` it calls.
  std::string StepScript(const StepDefinition& step, WindmillScriptKind kind, const std::string& what,
                         const std::string& target) const {
    return WindmillScript(kind, "workflow '" + wf_->name + "', step '" + step.id + "' (" + what + ").",
                          options_.folder, target);
  }

  // The rawscript value for a leaf step (tool, agent, llm, approval), its script file added.
  Result<ojson> RawScript(const StepDefinition& step, const std::string& prefix, const std::string& module_id) {
    ojson transforms = ojson::object();
    std::string script;
    auto add = [&](const char* name, const json& v) -> Status {
      auto t = InputTransform(v);
      if (!t.ok()) return MakeError(t.error().code, t.error().message, "step '" + step.id + "'." + name);
      transforms[name] = std::move(t).value();
      return Status::Ok();
    };
    switch (step.kind) {
      case StepKind::kTool: {
        STEWARD_RETURN_IF_ERROR(add("arguments", step.input));
        std::string key = step.idempotency_key;
        if (key.empty()) {
          // Steward's default: the run id and the step's path (iteration indices included).
          key = "${run.id}/" + prefix + step.id;
        }
        STEWARD_RETURN_IF_ERROR(add("idempotency_key", key));
        script = StepScript(step, WindmillScriptKind::kTool, "tool " + step.tool, step.tool);
        break;
      }
      case StepKind::kAgent:
        STEWARD_RETURN_IF_ERROR(add("message", step.message));
        script = StepScript(step, WindmillScriptKind::kAgent, "agent " + step.agent, step.agent);
        if (step.limits.cpu_seconds || step.limits.memory_mb) {
          Warn("step '" + step.id + "': limits (cpu_seconds, memory_mb) apply only in Steward's workers");
        }
        break;
      case StepKind::kLlm:
        STEWARD_RETURN_IF_ERROR(add("prompt", step.prompt));
        STEWARD_RETURN_IF_ERROR(add("system", step.system));
        script = StepScript(step, WindmillScriptKind::kLlm, "llm " + step.model, step.model);
        break;
      case StepKind::kApproval:
        STEWARD_RETURN_IF_ERROR(add("message", step.message));
        script = StepScript(step, WindmillScriptKind::kApproval, "approval", "");
        break;
      default:
        return MakeError(ErrorCode::kInternal, "not a leaf step", step.id);
    }
    const std::string file = module_id + ".inline_script.py";
    scripts_.push_back({dir_ + file, std::move(script)});
    return ojson{{"type", "rawscript"},
                 {"language", "python3"},
                 {"content", "!inline " + file},
                 {"input_transforms", transforms}};
  }

  void RetryAndTimeout(const StepDefinition& step, ojson& m) {
    const RetryPolicy& r = step.retry;
    if (r.max_attempts > 1) {
      const int retries = r.max_attempts - 1;
      const double initial_s = static_cast<double>(r.initial_backoff.count()) / 1000.0;
      if (r.multiplier <= 1.0) {
        m["retry"] = {{"constant", {{"attempts", retries}, {"seconds", std::max(1, static_cast<int>(std::ceil(initial_s)))}}}};
        if (std::fmod(initial_s, 1.0) != 0.0 || initial_s < 1) {
          Warn("step '" + step.id + "': retry backoff rounded to whole seconds (Windmill counts seconds)");
        }
      } else {
        // Windmill waits multiplier * seconds^n before retry n; Steward waits initial * m^(n-1).
        const int base = std::max(2, static_cast<int>(std::lround(r.multiplier)));
        const int factor = std::max(1, static_cast<int>(std::lround(initial_s / base)));
        m["retry"] = {{"exponential", {{"attempts", retries}, {"multiplier", factor}, {"seconds", base}}}};
        if (std::abs(initial_s - factor * base) > 1e-9 || std::abs(r.multiplier - base) > 1e-9) {
          Warn("step '" + step.id + "': exponential backoff approximated (Windmill waits multiplier*seconds^n with "
               "whole numbers: " + std::to_string(factor) + "*" + std::to_string(base) + "^n s)");
        }
      }
    }
    if (step.timeout) {
      const long long seconds = std::max<long long>(1, (step.timeout->count() + 999) / 1000);
      if (step.kind == StepKind::kApproval) {
        // For an approval the timeout is how long the owner has to answer.
        m["suspend"]["timeout"] = seconds;
      } else {
        m["timeout"] = StaticTransform(seconds);
      }
    }
  }

  Status Module(const StepDefinition& step, const std::string& prefix, ojson& m) {
    static const std::set<std::string> kReserved = {"failure", "preprocessor", "Input"};
    if (kReserved.count(step.id) > 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "step id '" + step.id + "' is reserved in Windmill flows (failure, preprocessor, Input); rename it",
                       "workflows." + wf_->name);
    }
    m["id"] = step.id;
    m["summary"] = step.description.empty() ? std::string(StepKindName(step.kind)) + " " + step.id : step.description;
    switch (step.kind) {
      case StepKind::kTool:
      case StepKind::kAgent:
      case StepKind::kLlm:
      case StepKind::kApproval: {
        auto v = RawScript(step, prefix, step.id);
        if (!v.ok()) return v.error();
        m["value"] = std::move(v).value();
        if (step.kind == StepKind::kApproval) {
          m["suspend"] = {{"required_events", 1}, {"timeout", 86400}};
        }
        break;
      }
      case StepKind::kForEach: {
        auto it = detail::TemplateToWindmillJs(step.items);
        if (!it.ok()) return MakeError(it.error().code, it.error().message, "step '" + step.id + "'.items");
        ojson body = ojson::array();
        STEWARD_RETURN_IF_ERROR(Modules(step.body, prefix + step.id + "/${index}/", body));
        ojson v = {{"type", "forloopflow"},
                   {"iterator", {{"type", "javascript"}, {"expr", *it}}},
                   {"skip_failures", false},
                   {"parallel", step.max_parallel > 1},
                   {"modules", body}};
        if (step.max_parallel > 1) v["parallelism"] = StaticTransform(step.max_parallel);
        m["value"] = std::move(v);
        break;
      }
      case StepKind::kBranch: {
        ojson branches = ojson::array();
        for (const auto& c : step.cases) {
          auto expr = detail::ConditionToWindmillJs(c.when);
          if (!expr.ok()) return MakeError(expr.error().code, expr.error().message, "step '" + step.id + "'.when");
          ojson mods = ojson::array();
          STEWARD_RETURN_IF_ERROR(Modules(c.steps, prefix, mods));
          branches.push_back({{"summary", c.when}, {"expr", *expr}, {"modules", mods}});
        }
        ojson otherwise = ojson::array();
        STEWARD_RETURN_IF_ERROR(Modules(step.otherwise, prefix, otherwise));
        m["value"] = {{"type", "branchone"}, {"branches", branches}, {"default", otherwise}};
        break;
      }
      case StepKind::kWorkflow: {
        ojson transforms = ojson::object();
        for (auto it = step.input.begin(); it != step.input.end(); ++it) {
          auto t = InputTransform(it.value());
          if (!t.ok()) return MakeError(t.error().code, t.error().message, "step '" + step.id + "'.input." + it.key());
          transforms[it.key()] = std::move(t).value();
        }
        m["value"] = {{"type", "flow"},
                      {"path", "f/" + options_.folder + "/" + step.workflow},
                      {"input_transforms", transforms}};
        pending_children_.push_back(step.workflow);
        break;
      }
    }
    RetryAndTimeout(step, m);
    if (!step.fallback.empty()) {
      Warn("step '" + step.id + "': fallback '" + step.fallback +
           "' is not exported (OpenFlow has no per-step fallback); in Windmill the step's failure fails the flow");
    }
    return Status::Ok();
  }

  // A worker-orchestrated workflow (e.g. langgraph) is one module that asks Steward to run it.
  Status GraphModule(const WorkflowDefinition& wf, ojson& modules) {
    json inputs = json::object();
    for (const auto& [name, def] : wf.inputs) inputs[name] = "${inputs." + name + "}";
    auto t = InputTransform(inputs);
    if (!t.ok()) return t.error();
    const std::string file = "run.inline_script.py";
    const std::string origin = "workflow '" + wf.name + "' (orchestrator " + wf.orchestrator + ", graph " + wf.graph +
                               "): Steward runs it in its workers.";
    scripts_.push_back(
        {dir_ + file, WindmillScript(WindmillScriptKind::kWorkflowRun, origin, options_.folder, wf.name)});
    modules.push_back({{"id", "run"},
                       {"summary", "run " + wf.name + " (" + wf.orchestrator + ") in Steward"},
                       {"value",
                        {{"type", "rawscript"},
                         {"language", "python3"},
                         {"content", "!inline " + file},
                         {"input_transforms", {{"inputs", *t}}}}}});
    return Status::Ok();
  }

  Status FailureModule(const WorkflowDefinition& wf, ojson& value) {
    std::vector<std::string> handlers;
    std::vector<std::string> without;
    std::function<void(const std::vector<StepDefinition>&)> walk = [&](const std::vector<StepDefinition>& steps) {
      for (const auto& s : steps) {
        if (!s.on_error.empty()) {
          if (std::find(handlers.begin(), handlers.end(), s.on_error) == handlers.end()) handlers.push_back(s.on_error);
        } else {
          without.push_back(s.id);
        }
        walk(s.body);
        for (const auto& c : s.cases) walk(c.steps);
        walk(s.otherwise);
      }
    };
    walk(wf.steps);
    if (handlers.empty()) return Status::Ok();
    const StepDefinition* handler = FindStep(wf, handlers.front());
    if (handler == nullptr) return MakeError(ErrorCode::kInternal, "handler '" + handlers.front() + "' not found");
    if (handlers.size() > 1) {
      Warn("several on_error handlers; Windmill has one failure module per flow, so '" + handlers.front() +
           "' handles every failure");
    }
    if (!without.empty()) {
      Warn("the failure module '" + handlers.front() + "' also runs when a step without on_error fails");
    }
    if (handler->kind != StepKind::kTool && handler->kind != StepKind::kAgent && handler->kind != StepKind::kLlm) {
      Warn("handler '" + handler->id + "' is a " + std::string(StepKindName(handler->kind)) +
           " step; a Windmill failure module must be a script, so it is not exported");
      return Status::Ok();
    }
    auto v = RawScript(*handler, "", "failure");
    if (!v.ok()) return v.error();
    value["failure_module"] = {{"id", "failure"},
                               {"summary", "on_error: " + handler->id},
                               {"value", std::move(v).value()}};
    return Status::Ok();
  }

  static std::string WindmillCron(const std::string& cron) {
    static const std::map<std::string, std::string> kMacros = {
        {"@yearly", "0 0 0 1 1 *"}, {"@annually", "0 0 0 1 1 *"}, {"@monthly", "0 0 0 1 * *"},
        {"@weekly", "0 0 0 * * 0"}, {"@daily", "0 0 0 * * *"},    {"@midnight", "0 0 0 * * *"},
        {"@hourly", "0 0 * * * *"}};
    if (auto it = kMacros.find(cron); it != kMacros.end()) return it->second;
    size_t fields = 0;
    bool in_field = false;
    for (char c : cron) {
      if (std::isspace(static_cast<unsigned char>(c))) {
        in_field = false;
      } else if (!in_field) {
        in_field = true;
        ++fields;
      }
    }
    return fields == 5 ? "0 " + cron : cron;  // Windmill's cron has seconds first
  }

  void Schedule(const WorkflowDefinition& wf) {
    const ScheduleDefinition& s = *wf.schedule;
    ojson args = ojson::object();
    for (const auto& [name, def] : wf.inputs) {
      if (def.is_null()) {
        Warn("the schedule passes no value for the required input '" + name + "'; set it in the schedule's args");
      } else {
        args[name] = ojson::parse(def.dump());
      }
    }
    if (s.missed == MissedRunPolicy::kCatchUp) {
      Warn("missed: catch_up is not exported (Windmill schedules do not run missed ticks)");
    }
    ojson schedule = {{"summary", "Steward schedule of " + wf.name},
                      {"schedule", WindmillCron(s.cron)},
                      {"timezone", s.timezone},
                      {"enabled", wf.trigger == "schedule"},
                      {"script_path", "f/" + options_.folder + "/" + wf.name},
                      {"is_flow", true},
                      {"args", args},
                      {"no_flow_overlap", false}};
    out_.files.push_back({"f/" + options_.folder + "/" + wf.name + ".schedule.yaml", detail::ToYaml(schedule)});
  }

  const std::map<std::string, WorkflowDefinition>& all_;
  WindmillExportOptions options_;
  WindmillExport out_;
  std::set<std::string> done_;
  const WorkflowDefinition* wf_ = nullptr;
  std::string dir_;
  std::vector<WindmillFile> scripts_;
  std::vector<std::string> pending_children_;
};

}  // namespace

std::string JsonToYaml(const nlohmann::json& value) { return detail::ToYaml(ojson::parse(value.dump())); }

Result<WindmillExport> ExportWindmill(const std::string& workflow,
                                      const std::map<std::string, WorkflowDefinition>& workflows,
                                      const WindmillExportOptions& options) {
  if (options.folder.empty() || !std::all_of(options.folder.begin(), options.folder.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
      })) {
    return MakeError(ErrorCode::kInvalidArgument, "expected a Windmill folder name (letters, digits, _ and -), got '" +
                                                      options.folder + "'", "folder");
  }
  Exporter exporter(workflows, options);
  STEWARD_RETURN_IF_ERROR(exporter.ExportFlow(workflow));
  return exporter.Take();
}

Status WriteWindmillExport(const WindmillExport& exported, const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  for (const auto& file : exported.files) {
    const fs::path path = dir / file.path;
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      return MakeError(ErrorCode::kUnavailable, "cannot create " + path.parent_path().string() + ": " + ec.message(),
                       dir.string());
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << file.content;
    out.close();
    if (!out) return MakeError(ErrorCode::kUnavailable, "cannot write " + path.string(), dir.string());
  }
  return Status::Ok();
}

}  // namespace steward::engine
