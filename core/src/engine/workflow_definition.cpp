#include "engine/workflow_definition.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <set>
#include <utility>

#include "engine/cron_expression.hpp"
#include "engine/template.hpp"

namespace steward::engine {
namespace {

using nlohmann::json;
using Names = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// Small YAML reading helpers (engine cannot use app/detail/config_reader).

struct Where {
  const std::string* file = nullptr;
  std::string path;
  YAML::Mark mark = YAML::Mark::null_mark();

  [[nodiscard]] Where Key(std::string_view key, const YAML::Node& node) const {
    return Where{file, path.empty() ? std::string(key) : path + "." + std::string(key), MarkOf(node)};
  }
  [[nodiscard]] Where Index(size_t i, const YAML::Node& node) const {
    return Where{file, path + "[" + std::to_string(i) + "]", MarkOf(node)};
  }
  [[nodiscard]] YAML::Mark MarkOf(const YAML::Node& node) const {
    return node.IsDefined() && !node.Mark().is_null() ? node.Mark() : mark;
  }
  [[nodiscard]] Error Fail(std::string message) const {
    std::string where = *file;
    if (!path.empty()) where += ": " + path;
    if (!mark.is_null()) {
      where += " (line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) + ")";
    }
    return MakeError(ErrorCode::kConfig, std::move(message), std::move(where));
  }
};

bool Present(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

std::string Quote(std::string_view text) {
  constexpr size_t kMaxShown = 60;
  std::string shown(text.substr(0, kMaxShown));
  for (char& c : shown) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return "\"" + shown + (text.size() > kMaxShown ? "...\"" : "\"");
}

std::string Got(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar: return Quote(n.Scalar());
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    default: return "nothing";
  }
}

std::string Join(const Names& items, std::string_view last = ", ") {
  if (items.empty()) return "none";
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += (i + 1 == items.size()) ? last : std::string_view(", ");
    out += items[i];
  }
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string DidYouMean(std::string_view got, const Names& candidates) {
  const size_t limit = std::clamp<size_t>(got.size() / 3, 1, 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const std::string& c : candidates) {
    const size_t d = EditDistance(got, c);
    if (d < best_distance && d < got.size()) {
      best_distance = d;
      best = c;
    }
  }
  return best.empty() ? "" : "; did you mean \"" + best + "\"?";
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

bool Contains(const Names& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

Status RequireMap(const Where& w, const YAML::Node& n, std::string_view what) {
  if (!n.IsMap()) return w.Fail("expected " + std::string(what) + ", got " + Got(n));
  return Status::Ok();
}

// Rejects keys not in `allowed`, and duplicates.
Status CheckKeys(const Where& w, const YAML::Node& map, const Names& allowed, std::string_view what) {
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) return w.Fail("keys must be plain names, got " + Got(it->first));
    const std::string key = it->first.Scalar();
    Where at = w.Key(key, it->first);
    if (!seen.insert(key).second) return at.Fail("duplicate key " + Quote(key));
    if (!Contains(allowed, key)) {
      return at.Fail("unknown key " + Quote(key) + " in " + std::string(what) + DidYouMean(key, allowed) +
                     " (expected one of: " + Join(allowed) + ")");
    }
  }
  return Status::Ok();
}

Result<std::string> ReadString(const Where& w, const YAML::Node& n, std::string_view expected = "a string") {
  if (!n.IsScalar()) return w.Fail("expected " + std::string(expected) + ", got " + Got(n));
  return n.Scalar();
}

Status GetString(const Where& w, const YAML::Node& n, std::string& out, std::string_view expected = "a string") {
  if (!Present(n)) return Status::Ok();
  auto s = ReadString(w, n, expected);
  if (!s.ok()) return s.error();
  out = std::move(s).value();
  return Status::Ok();
}

Status GetInt(const Where& w, const YAML::Node& n, int lo, int hi, int& out) {
  if (!Present(n)) return Status::Ok();
  std::string expected = hi == INT_MAX ? "an integer >= " + std::to_string(lo)
                                       : "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  if (!n.IsScalar()) return w.Fail("expected " + expected + ", got " + Got(n));
  const std::string& text = n.Scalar();
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno != 0 || v < lo || v > hi) {
    return w.Fail("expected " + expected + ", got " + Quote(text));
  }
  out = static_cast<int>(v);
  return Status::Ok();
}

Status GetDouble(const Where& w, const YAML::Node& n, double lo, double hi, std::string_view expected, double& out) {
  if (!Present(n)) return Status::Ok();
  if (!n.IsScalar()) return w.Fail("expected " + std::string(expected) + ", got " + Got(n));
  const std::string& text = n.Scalar();
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v < lo || v > hi) {
    return w.Fail("expected " + std::string(expected) + ", got " + Quote(text));
  }
  out = v;
  return Status::Ok();
}

Status GetDuration(const Where& w, const YAML::Node& n, std::chrono::milliseconds& out) {
  if (!Present(n)) return Status::Ok();
  constexpr std::string_view kExpected = "a duration such as \"250ms\", \"30s\", \"5m\", \"2h\" or \"1m30s\"";
  if (!n.IsScalar()) return w.Fail("expected " + std::string(kExpected) + ", got " + Got(n));
  auto d = ParseDuration(n.Scalar());
  if (!d.ok()) return w.Fail("expected " + std::string(kExpected) + ", got " + Quote(n.Scalar()));
  out = *d;
  return Status::Ok();
}

Status GetStringList(const Where& w, const YAML::Node& n, Names& out) {
  if (!Present(n)) return Status::Ok();
  if (n.IsScalar()) {
    out = {n.Scalar()};
    return Status::Ok();
  }
  if (!n.IsSequence()) return w.Fail("expected a list of names, got " + Got(n));
  out.clear();
  for (size_t i = 0; i < n.size(); ++i) {
    auto s = ReadString(w.Index(i, n[i]), n[i], "a name");
    if (!s.ok()) return s.error();
    out.push_back(std::move(s).value());
  }
  return Status::Ok();
}

bool IsPlainNull(const std::string& s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

// YAML has no types of its own: a plain scalar that reads as a number, boolean or null becomes
// one; a quoted scalar is always a string.
json YamlToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : n) out.push_back(YamlToJson(item));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (auto it = n.begin(); it != n.end(); ++it) out[it->first.Scalar()] = YamlToJson(it->second);
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted
      if (IsPlainNull(s)) return nullptr;
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
      char* end = nullptr;
      errno = 0;
      long long i = std::strtoll(s.c_str(), &end, 10);
      if (end == s.c_str() + s.size() && errno == 0 && !s.empty() && s[0] != '+') return i;
      double d = std::strtod(s.c_str(), &end);
      bool numeric_start = std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '.';
      if (end == s.c_str() + s.size() && numeric_start && std::isfinite(d)) return d;
      return s;
    }
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Parsing one workflow.

constexpr std::string_view kKindNames[] = {"agent", "tool", "llm", "for_each", "branch", "approval", "workflow"};
const Names kReferenceRoots = {"inputs", "steps", "item", "index", "run"};

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
                              hint + DidYouMean(ref.handler, handler_ids) + " (handlers: " + Join(handler_ids) + ")");
      }
    }
    for (const auto& p : pending_) STEWARD_RETURN_IF_ERROR(CheckTemplate(p, def));
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
                       " (agents: " + Join(env_.agents) + ")");
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
          return mw.Fail("expected skip or catch_up, got " + Quote(missed) + DidYouMean(missed, {"skip", "catch_up"}));
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
                       DidYouMean(def.trigger, {"manual", "schedule"}));
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
    return w.Fail("unknown step kind " + Quote(name) + DidYouMean(name, kinds) + " (expected one of: " + Join(kinds) + ")");
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
                                                 " (agents: " + Join(env_.agents) + ")");
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
                                                 " (models: " + Join(env_.models) + ")");
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
                                                       Join(env_.workflows) + ")");
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

  Status CheckTemplate(const PendingTemplate& p, const WorkflowDefinition& def) {
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
                              DidYouMean(ref.path[1], declared) + " (inputs: " + Join(declared) + ")");
        }
      } else if (root == "steps") {
        if (ref.path.size() < 2) return p.where.Fail(quoted + ": expected steps.ID.output");
        const std::string& id = ref.path[1];
        if (ref.path.size() >= 3 && ref.path[2] != "output") {
          return p.where.Fail(quoted + ": expected steps." + id + ".output[...] (a step's result is under output)");
        }
        if (p.in_handler) {
          if (all_ids_.count(id) == 0) {
            return p.where.Fail(quoted + " names step '" + id + "', which does not exist");
          }
          continue;
        }
        if (p.visible.count(id) > 0) continue;
        Names visible(p.visible.begin(), p.visible.end());
        if (id == p.self) {
          return p.where.Fail(quoted + " refers to this step's own output, which does not exist yet");
        }
        if (all_ids_.count(id) > 0) {
          return p.where.Fail(quoted + " refers to step '" + id + "', which does not run before this point (steps "
                              "whose output is available here: " + Join(visible) + ")");
        }
        Names all;
        for (const auto& [k, v] : all_ids_) all.push_back(k);
        return p.where.Fail(quoted + " refers to step '" + id + "', which does not exist" + DidYouMean(id, all) +
                            " (steps whose output is available here: " + Join(visible) + ")");
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
                            " (expected one of: " + Join(roots) + ")");
      }
    }
    return Status::Ok();
  }

  std::string file_;
  const WorkflowEnvironment& env_;
  std::map<std::string, std::string> all_ids_;  // id -> key path of the step that has it
  std::vector<PendingTemplate> pending_;
  std::vector<PendingHandlerRef> handler_refs_;
};

void VisitSteps(const std::vector<StepDefinition>& steps, const std::function<void(const StepDefinition&)>& fn) {
  for (const auto& s : steps) {
    fn(s);
    VisitSteps(s.body, fn);
    for (const auto& c : s.cases) VisitSteps(c.steps, fn);
    VisitSteps(s.otherwise, fn);
  }
}

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
      Names declared;
      for (const auto& [k, v] : child.inputs) declared.push_back(k);
      for (auto in = s.input.begin(); in != s.input.end(); ++in) {
        if (child.inputs.count(in.key()) == 0) {
          status = MakeError(ErrorCode::kConfig,
                             "input '" + in.key() + "' is not declared by workflow '" + s.workflow + "'" +
                                 DidYouMean(in.key(), declared) + " (its inputs: " + Join(declared) + ")",
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

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto fail = [&]() {
    return MakeError(ErrorCode::kInvalidArgument, "expected a duration such as \"250ms\", \"30s\", \"5m\", \"2h\" or "
                                                  "\"1m30s\", got \"" + std::string(text) + "\"");
  };
  if (text.empty()) return fail();
  long long total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (start == i || i - start > 12) return fail();
    long long n = std::stoll(std::string(text.substr(start, i - start)));
    size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(ustart, i - ustart);
    long long ms = 0;
    if (unit == "ms") {
      ms = 1;
    } else if (unit == "s") {
      ms = 1000;
    } else if (unit == "m") {
      ms = 60'000;
    } else if (unit == "h") {
      ms = 3'600'000;
    } else if (unit == "d") {
      ms = 86'400'000;
    } else {
      return fail();
    }
    total += n * ms;
    if (total > 365LL * 86'400'000 * 100) return fail();
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  long long ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  const std::pair<long long, const char*> units[] = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& [size, name] : units) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return out;
}

const StepDefinition* FindStep(const WorkflowDefinition& workflow, std::string_view id) {
  if (const auto* s = FindIn(workflow.steps, id)) return s;
  return FindIn(workflow.handlers, id);
}

Result<nlohmann::json> ResolveInputs(const WorkflowDefinition& workflow, const nlohmann::json& given) {
  if (!given.is_null() && !given.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "workflow inputs must be a JSON object, got " + given.dump(),
                     "workflow " + workflow.name);
  }
  json out = json::object();
  Names declared;
  for (const auto& [k, v] : workflow.inputs) declared.push_back(k);
  if (given.is_object()) {
    for (auto it = given.begin(); it != given.end(); ++it) {
      if (workflow.inputs.count(it.key()) == 0) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "workflow " + workflow.name + ": unknown input '" + it.key() + "'" + DidYouMean(it.key(), declared) + " (inputs: " + Join(declared) + ")",
                         "workflow " + workflow.name);
      }
      out[it.key()] = it.value();
    }
  }
  for (const auto& [k, v] : workflow.inputs) {
    if (out.contains(k)) continue;
    if (v.is_null()) {
      return MakeError(ErrorCode::kInvalidArgument, "workflow " + workflow.name + ": missing required input '" + k + "' (inputs: " + Join(declared) + ")",
                       "workflow " + workflow.name);
    }
    out[k] = v;
  }
  return out;
}

}  // namespace steward::engine
