#include "engine/windmill_export.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <system_error>

#include "engine/template.hpp"

namespace steward::engine {
namespace {

using ojson = nlohmann::ordered_json;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// YAML output

bool IsPlainSafe(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  if (!std::isalpha(static_cast<unsigned char>(s[0])) && s[0] != '_' && s[0] != '/') return false;
  if (s.back() == ' ') return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' && c != '/' && c != ' ') {
      return false;
    }
  }
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::set<std::string> kReserved = {"true", "false", "null", "yes", "no", "on", "off", "y", "n",
                                                  "~",    ".inf",  ".nan"};
  return kReserved.count(lower) == 0;
}

std::string YamlScalar(const ojson& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    // YAML's double-quoted style accepts JSON string escapes.
    return IsPlainSafe(s) ? s : v.dump();
  }
  if (v.is_object()) return "{}";
  if (v.is_array()) return "[]";
  return v.dump();
}

bool IsBlock(const ojson& v) { return (v.is_object() || v.is_array()) && !v.empty(); }

void EmitYaml(const ojson& v, int indent, std::string& out) {
  const std::string pad(indent, ' ');
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      out += pad + YamlScalar(ojson(it.key())) + ":";
      if (IsBlock(it.value())) {
        out += "\n";
        EmitYaml(it.value(), indent + 2, out);
      } else {
        out += " " + YamlScalar(it.value()) + "\n";
      }
    }
  } else if (v.is_array()) {
    for (const auto& item : v) {
      if (IsBlock(item)) {
        std::string inner;
        EmitYaml(item, indent + 2, inner);
        // The first line of the item's block goes after the dash.
        out += pad + "- " + inner.substr(indent + 2);
      } else {
        out += pad + "- " + YamlScalar(item) + "\n";
      }
    }
  } else {
    out += pad + YamlScalar(v) + "\n";
  }
}

// ---------------------------------------------------------------------------------------------
// Templates -> Windmill JavaScript expressions

constexpr std::string_view kRunIdMark = "{{steward:run_id}}";

bool IsJsIdentifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; });
}

std::string Accessor(const std::vector<std::string>& path, size_t from) {
  std::string out;
  for (size_t i = from; i < path.size(); ++i) {
    const std::string& seg = path[i];
    const bool digits = !seg.empty() && std::all_of(seg.begin(), seg.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c));
    });
    if (digits) {
      out += "[" + seg + "]";
    } else if (IsJsIdentifier(seg)) {
      out += "." + seg;
    } else {
      out += "[" + json(seg).dump() + "]";
    }
  }
  return out;
}

Result<std::string> MapReference(const TemplateReference& ref) {
  const auto& p = ref.path;
  const std::string& root = p[0];
  if (root == "inputs") return "flow_input" + Accessor(p, 1);
  if (root == "steps") {
    if (p.size() < 2) return MakeError(ErrorCode::kInvalidArgument, "'" + ref.text + "': expected steps.ID.output");
    std::vector<std::string> id = {p[1]};
    return "results" + Accessor(id, 0) + Accessor(p, 3);
  }
  if (root == "item") return "flow_input.iter.value" + Accessor(p, 1);
  if (root == "index") return std::string("flow_input.iter.index");
  if (root == "run") return json(std::string(kRunIdMark)).dump();
  if (root == "error") {
    if (p.size() >= 2 && p[1] == "step") return std::string("error.step_id");
    if (p.size() >= 2 && p[1] == "message") return std::string("error.message");
    if (p.size() >= 2 && p[1] == "code") return std::string("error.name");
    return std::string("error");
  }
  return MakeError(ErrorCode::kInvalidArgument, "'" + ref.text + "' has no Windmill equivalent");
}

bool ContainsPlaceholders(const json& v) {
  if (v.is_string()) return HasPlaceholders(v.get_ref<const std::string&>());
  if (v.is_object() || v.is_array()) {
    for (const auto& item : v) {
      if (ContainsPlaceholders(item)) return true;
    }
  }
  return false;
}

// `$${` is a literal `${` for Steward; a static Windmill value has no escapes.
json Unescape(const json& v) {
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    for (size_t pos = 0; (pos = s.find("$${", pos)) != std::string::npos;) {
      s.erase(pos, 1);
      pos += 2;
    }
    return s;
  }
  if (v.is_object()) {
    json out = json::object();
    for (auto it = v.begin(); it != v.end(); ++it) out[it.key()] = Unescape(it.value());
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& item : v) out.push_back(Unescape(item));
    return out;
  }
  return v;
}

Result<std::string> JsValue(const json& v) {
  if (v.is_string()) return TemplateToJavaScript(v.get_ref<const std::string&>(), MapReference);
  if (v.is_object()) {
    std::string out = "({";
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      auto item = JsValue(it.value());
      if (!item.ok()) return item;
      out += (first ? "" : ", ") + json(it.key()).dump() + ": " + *item;
      first = false;
    }
    return out + "})";
  }
  if (v.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      auto item = JsValue(v[i]);
      if (!item.ok()) return item;
      out += (i ? ", " : "") + *item;
    }
    return out + "]";
  }
  return v.dump();
}

// A static transform when nothing is templated, else a JavaScript one.
Result<ojson> Transform(const json& v) {
  if (!ContainsPlaceholders(v)) return ojson{{"type", "static"}, {"value", ojson::parse(Unescape(v).dump())}};
  auto js = JsValue(v);
  if (!js.ok()) return js.error();
  return ojson{{"type", "javascript"}, {"expr", *js}};
}

ojson Static(const json& v) { return ojson{{"type", "static"}, {"value", ojson::parse(v.dump())}}; }

// ---------------------------------------------------------------------------------------------
// Python scripts

constexpr std::string_view kPrelude = R"py(from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

RUN_ID_MARK = "{{steward:run_id}}"


def _setting(variable: str, env: str) -> str:
    """A Windmill variable when Windmill runs this script, else the environment variable."""
    if os.environ.get("WM_WORKSPACE"):
        try:
            import wmill  # type: ignore[import-not-found]  # noqa: PLC0415 - only inside Windmill

            value = wmill.get_variable(variable)
            if value:
                return str(value)
        except Exception:  # no such variable: fall back to the environment
            pass
    return os.environ.get(env, "")


def _base_url() -> str:
    return (_setting(URL_VARIABLE, "STEWARD_URL") or "http://127.0.0.1:8377").rstrip("/")


def _token() -> str:
    token = _setting(TOKEN_VARIABLE, "STEWARD_TOKEN")
    if not token:
        raise RuntimeError(
            f"no Steward token: set the Windmill variable {TOKEN_VARIABLE} or STEWARD_TOKEN "
            "to the owner token ($STEWARD_HOME/token)"
        )
    return token


def _run_id() -> str:
    for name in ("WM_ROOT_FLOW_JOB_ID", "WM_FLOW_JOB_ID", "WM_JOB_ID", "STEWARD_RUN_ID"):
        if os.environ.get(name):
            return os.environ[name]
    return "local"


def _fill(value: Any) -> Any:
    """Puts this run's id where the flow wrote ${run.id}."""
    if isinstance(value, str):
        return value.replace(RUN_ID_MARK, _run_id())
    if isinstance(value, list):
        return [_fill(v) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v) for k, v in value.items()}
    return value


def _post(path: str, body: Any, headers: dict[str, str] | None = None, timeout: float = 3600) -> Any:
    request = urllib.request.Request(
        _base_url() + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {_token()}", "Content-Type": "application/json"} | (headers or {}),
    )
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace")
        raise RuntimeError(f"Steward answered {e.code} to POST {path}: {detail}") from None


def _events(response: Any) -> Iterator[tuple[str, Any]]:
    """Server-sent events as (event, JSON data) pairs."""
    event, data = "message", []
    for raw in response:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                text = "\n".join(data)
                try:
                    yield event, json.loads(text)
                except ValueError:
                    yield event, {"raw": text}
            event, data = "message", []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
)py";

constexpr std::string_view kToolMain = R"py(

def _mcp(session: str | None, method: str, params: dict[str, Any]) -> tuple[Any, str | None]:
    headers = {"Accept": "application/json, text/event-stream"}
    if session:
        headers["Mcp-Session-Id"] = session
    message = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    with _post("/mcp", message, headers) as response:
        session = response.headers.get("Mcp-Session-Id") or session
        body = json.loads(response.read() or b"{}")
    if body.get("error"):
        raise RuntimeError(f"{method} {TOOL}: {body['error'].get('message')}")
    return body.get("result") or {}, session


def main(arguments: dict[str, Any], idempotency_key: str = "") -> Any:
    """Calls the Steward tool TOOL through the core's /mcp (its risk policy and approvals apply)."""
    args = _fill(dict(arguments or {}))
    key = _fill(idempotency_key)
    info = {"name": "steward-windmill-export", "version": "1"}
    hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": info}
    _, session = _mcp(None, "initialize", hello)
    if key and "idempotency_key" not in args:
        # Side-effecting tools that take a key get the step's, as in Steward's own engine.
        listed, _ = _mcp(session, "tools/list", {})
        for tool in listed.get("tools", []):
            properties = tool.get("inputSchema", {}).get("properties", {})
            if tool.get("name") == TOOL and "idempotency_key" in properties:
                args["idempotency_key"] = key
    result, _ = _mcp(session, "tools/call", {"name": TOOL, "arguments": args})
    text = "".join(c.get("text", "") for c in result.get("content", []) if c.get("type") == "text")
    if result.get("isError"):
        raise RuntimeError(f"{TOOL} failed: {text or 'no details'}")
    structured = result.get("structuredContent")
    if isinstance(structured, (dict, list)):
        return structured
    return {"text": text}
)py";

constexpr std::string_view kAgentMain = R"py(

def main(message: str) -> dict[str, Any]:
    """Runs one chat turn of the Steward agent AGENT (POST /api/chat) and returns its answer."""
    text: list[str] = []
    body = {"agent": AGENT, "message": _fill(message)}
    with _post("/api/chat", body, {"Accept": "text/event-stream"}) as response:
        for event, data in _events(response):
            if event == "token":
                text.append(data.get("text", ""))
            elif event == "error":
                raise RuntimeError(f"agent {AGENT}: {data.get('code')}: {data.get('message')}")
            elif event == "done":
                return {"text": "".join(text), "data": None}
    raise RuntimeError(f"agent {AGENT}: the stream ended without a done event")
)py";

constexpr std::string_view kLlmMain = R"py(

def main(prompt: str, system: str = "") -> dict[str, Any]:
    """One call of the Steward model MODEL (POST /v1/chat/completions)."""
    messages = [{"role": "system", "content": _fill(system)}] if system else []
    messages.append({"role": "user", "content": _fill(prompt)})
    with _post("/v1/chat/completions", {"model": MODEL, "messages": messages}) as response:
        body = json.loads(response.read())
    usage = body.get("usage") or {}
    return {
        "text": body["choices"][0]["message"].get("content") or "",
        "usage": {
            "prompt_tokens": usage.get("prompt_tokens", 0),
            "completion_tokens": usage.get("completion_tokens", 0),
        },
    }
)py";

constexpr std::string_view kApprovalMain = R"py(

def main(message: str) -> dict[str, Any]:
    """The question for the approver. Windmill suspends the flow after this step (see `suspend` in
    flow.yaml) until it is approved; a denial cancels the flow, so later steps see approved: true."""
    return {"approved": True, "message": _fill(message)}
)py";

constexpr std::string_view kGraphMain = R"py(

def main(inputs: dict[str, Any]) -> Any:
    """Runs the Steward workflow WORKFLOW (its orchestrator runs in Steward's workers) and returns
    its output (POST /api/workflows/WORKFLOW/runs, streamed)."""
    body = {"inputs": _fill(dict(inputs or {})), "stream": True}
    with _post(f"/api/workflows/{WORKFLOW}/runs", body, {"Accept": "text/event-stream"}) as response:
        for event, data in _events(response):
            if event == "error":
                raise RuntimeError(f"workflow {WORKFLOW}: {data.get('code')}: {data.get('message')}")
            if event == "done":
                return data.get("output")
    raise RuntimeError(f"workflow {WORKFLOW}: the stream ended without a done event")
)py";

std::string PyString(const std::string& s) { return json(s).dump(); }  // a JSON string is a Python literal

std::string Script(const std::string& header, const std::string& folder,
                   const std::vector<std::pair<std::string, std::string>>& constants, std::string_view main_part) {
  // The constants go right after RUN_ID_MARK, before the helpers that read them.
  constexpr std::string_view kAnchor = "RUN_ID_MARK = \"{{steward:run_id}}\"\n";
  const size_t split = kPrelude.find(kAnchor) + kAnchor.size();
  std::string out = header;
  out += kPrelude.substr(0, split);
  out += "URL_VARIABLE = " + PyString("f/" + folder + "/steward_url") + "\n";
  out += "TOKEN_VARIABLE = " + PyString("f/" + folder + "/steward_token") + "\n";
  for (const auto& [name, value] : constants) out += name + " = " + PyString(value) + "\n";
  out += kPrelude.substr(split);
  out += main_part;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Flows

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
    out_.files.push_back({dir_ + "flow.yaml", JsonToYamlOrdered(flow)});
    for (auto& f : scripts_) out_.files.push_back(std::move(f));
    out_.flows.push_back("f/" + options_.folder + "/" + name);
    if (wf.schedule) Schedule(wf);

    std::vector<std::string> children = pending_children_;
    for (const auto& child : children) STEWARD_RETURN_IF_ERROR(ExportFlow(child));
    return Status::Ok();
  }

  WindmillExport Take() {
    out_.files.insert(out_.files.begin(),
                      WindmillFile{"wmill.yaml", "# Windmill sync settings for the flows Steward exported.\n"
                                                 "defaultTs: bun\nincludes:\n  - f/**\nexcludes: []\n"
                                                 "includeSchedules: true\n"});
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

  std::string Header(const StepDefinition& step, const std::string& what) const {
    return "# Generated by `steward export windmill` from workflow '" + wf_->name + "', step '" + step.id + "' (" +
           what + ").\n# Base URL and token: the Windmill variables f/" + options_.folder + "/steward_url and f/" +
           options_.folder + "/steward_token,\n# or the environment variables STEWARD_URL and STEWARD_TOKEN.\n";
  }

  // The rawscript value for a leaf step (tool, agent, llm, approval), its script file added.
  Result<ojson> RawScript(const StepDefinition& step, const std::string& prefix, const std::string& module_id) {
    ojson transforms = ojson::object();
    std::string script;
    auto add = [&](const char* name, const json& v) -> Status {
      auto t = Transform(v);
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
        script = Script(Header(step, "tool " + step.tool), options_.folder, {{"TOOL", step.tool}}, kToolMain);
        break;
      }
      case StepKind::kAgent:
        STEWARD_RETURN_IF_ERROR(add("message", step.message));
        script = Script(Header(step, "agent " + step.agent), options_.folder, {{"AGENT", step.agent}}, kAgentMain);
        if (step.limits.cpu_seconds || step.limits.memory_mb) {
          Warn("step '" + step.id + "': limits (cpu_seconds, memory_mb) apply only in Steward's workers");
        }
        break;
      case StepKind::kLlm:
        STEWARD_RETURN_IF_ERROR(add("prompt", step.prompt));
        STEWARD_RETURN_IF_ERROR(add("system", step.system));
        script = Script(Header(step, "llm " + step.model), options_.folder, {{"MODEL", step.model}}, kLlmMain);
        break;
      case StepKind::kApproval:
        STEWARD_RETURN_IF_ERROR(add("message", step.message));
        script = Script(Header(step, "approval"), options_.folder, {}, kApprovalMain);
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
        m["timeout"] = Static(seconds);
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
        auto it = TemplateToJavaScript(step.items, MapReference);
        if (!it.ok()) return MakeError(it.error().code, it.error().message, "step '" + step.id + "'.items");
        ojson body = ojson::array();
        STEWARD_RETURN_IF_ERROR(Modules(step.body, prefix + step.id + "/${index}/", body));
        ojson v = {{"type", "forloopflow"},
                   {"iterator", {{"type", "javascript"}, {"expr", *it}}},
                   {"skip_failures", false},
                   {"parallel", step.max_parallel > 1},
                   {"modules", body}};
        if (step.max_parallel > 1) v["parallelism"] = Static(step.max_parallel);
        m["value"] = std::move(v);
        break;
      }
      case StepKind::kBranch: {
        ojson branches = ojson::array();
        for (const auto& c : step.cases) {
          auto expr = ConditionToJavaScript(c.when, MapReference);
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
          auto t = Transform(it.value());
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
    auto t = Transform(inputs);
    if (!t.ok()) return t.error();
    const std::string file = "run.inline_script.py";
    std::string header = "# Generated by `steward export windmill` from workflow '" + wf.name + "' (orchestrator " +
                         wf.orchestrator + ", graph " + wf.graph +
                         "): Steward runs it in its workers.\n# Base URL and token: the Windmill variables f/" +
                         options_.folder + "/steward_url and f/" + options_.folder +
                         "/steward_token,\n# or the environment variables STEWARD_URL and STEWARD_TOKEN.\n";
    scripts_.push_back({dir_ + file, Script(header, options_.folder, {{"WORKFLOW", wf.name}}, kGraphMain)});
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
    out_.files.push_back({"f/" + options_.folder + "/" + wf.name + ".schedule.yaml", JsonToYamlOrdered(schedule)});
  }

  static std::string JsonToYamlOrdered(const ojson& v) {
    std::string out;
    EmitYaml(v, 0, out);
    return out;
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

std::string JsonToYaml(const nlohmann::json& value) {
  std::string out;
  EmitYaml(ojson::parse(value.dump()), 0, out);
  return out;
}

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
