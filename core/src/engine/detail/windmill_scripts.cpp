#include "engine/detail/windmill_scripts.hpp"

#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "engine/detail/windmill_transforms.hpp"

namespace steward::engine::detail {
namespace {

// Everything before main(). WindmillScript puts the constants main() reads (URL_VARIABLE,
// TOKEN_VARIABLE, TOOL, ...) right after RUN_ID_MARK.
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

constexpr std::string_view kWorkflowRunMain = R"py(

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

std::string PyString(const std::string& s) { return nlohmann::json(s).dump(); }  // a JSON string is a Python literal

// The name main() knows its target by, and main() itself.
std::pair<std::string_view, std::string_view> MainPart(WindmillScriptKind kind) {
  switch (kind) {
    case WindmillScriptKind::kTool:
      return {"TOOL", kToolMain};
    case WindmillScriptKind::kAgent:
      return {"AGENT", kAgentMain};
    case WindmillScriptKind::kLlm:
      return {"MODEL", kLlmMain};
    case WindmillScriptKind::kApproval:
      return {"", kApprovalMain};
    case WindmillScriptKind::kWorkflowRun:
      return {"WORKFLOW", kWorkflowRunMain};
  }
  return {"", ""};
}

}  // namespace

std::string WindmillScript(WindmillScriptKind kind, const std::string& origin, const std::string& folder,
                           const std::string& target) {
  const auto [constant, main_part] = MainPart(kind);
  const std::string anchor = "RUN_ID_MARK = " + PyString(std::string(kRunIdMark)) + "\n";
  const size_t split = kPrelude.find(anchor) + anchor.size();
  std::string out = "# Generated by `steward export windmill` from " + origin +
                    "\n# Base URL and token: the Windmill variables f/" + folder + "/steward_url and f/" + folder +
                    "/steward_token,\n# or the environment variables STEWARD_URL and STEWARD_TOKEN.\n";
  out += kPrelude.substr(0, split);
  out += "URL_VARIABLE = " + PyString("f/" + folder + "/steward_url") + "\n";
  out += "TOKEN_VARIABLE = " + PyString("f/" + folder + "/steward_token") + "\n";
  if (!constant.empty()) out += std::string(constant) + " = " + PyString(target) + "\n";
  out += kPrelude.substr(split);
  out += main_part;
  return out;
}

}  // namespace steward::engine::detail
