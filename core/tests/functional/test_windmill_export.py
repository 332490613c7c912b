"""`steward export windmill`: the exported workspace folder validates against Windmill's OpenFlow schema
(windmill-cli's own `wmill lint`, pinned in tools/package.json), and the flow runs locally against a
running core: a small stand-in for Windmill's executor walks flow.yaml, evaluates each input transform's
JavaScript with node (as Windmill does) and calls each generated script's `main()` in-process.

What is not tested here (no Windmill server runs): pushing with `wmill sync push`, Windmill's own
scheduling, suspend/resume (approval steps are treated as approved), retries and timeouts as Windmill
applies them, and reading the Windmill variables (the scripts fall back to STEWARD_URL / STEWARD_TOKEN).
"""

from __future__ import annotations

import email.message
import email.policy
import importlib.util
import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from steward_harness import REPO, STEWARD_BIN, ServerSpec, StewardServer, base_config

WMILL = REPO / "tools" / "node_modules" / ".bin" / "wmill"
HN_FIXTURE = REPO / "config" / "feeds" / "hn_top.json"
NODE = shutil.which("node") or "node"

SCRIPT = {
    "responses": [
        {"match": "Summarize the digest", "content": "SUMMARY: two stories about assistants."},
        {"match": "Write the digest", "content": "DIGEST-BODY for the owner."},
        {"content": "no scripted answer"},
    ]
}

WORKFLOWS: dict[str, Any] = {
    "digest": {
        "description": "Top stories, saved and mailed",
        "schedule": {"cron": "0 8 * * *", "timezone": "Europe/Berlin"},
        "inputs": {"limit": 2, "to": "me@x.org"},
        "steps": [
            {
                "id": "top",
                "tool": "web.hn_top",
                "input": {"limit": "${inputs.limit}"},
                "retry": {"max_attempts": 2, "backoff": "1s", "multiplier": 1},
                "timeout": "30s",
                "on_error": "alert",
            },
            {
                "id": "each",
                "for_each": "${steps.top.output.stories}",
                "max_parallel": 2,
                "steps": [
                    {
                        "id": "save",
                        "tool": "memory.remember",
                        "input": {
                            "content": "HN story ${index}: ${item.title} (${item.url})",
                            "title": "${item.title}",
                        },
                    }
                ],
            },
            {
                "id": "ask",
                "agent": "scripty",
                "message": "Summarize the digest of ${length(steps.each.output)} stories",
            },
            {
                "id": "gate",
                "cases": [
                    {
                        "when": "length(steps.top.output.stories) >= 2 and not inputs.to == ''",
                        "steps": [
                            {
                                "id": "ok",
                                "kind": "approval",
                                "message": "Mail ${length(steps.top.output.stories)} stories"
                                " to ${inputs.to}?",
                            }
                        ],
                    }
                ],
                "otherwise": [{"id": "skipped", "model": "scripted", "prompt": "nothing to send"}],
            },
            {
                "id": "write",
                "model": "scripted",
                "prompt": "Write the digest: ${steps.ask.output.text}",
                "system": "Be brief",
            },
            {
                "id": "send",
                "tool": "email.send",
                "input": {"to": ["${inputs.to}"], "subject": "Digest", "body": "${steps.write.output.text}"},
            },
            {"id": "lookup", "workflow": "find", "input": {"query": "${steps.top.output.stories[0].title}"}},
        ],
        "handlers": [
            {
                "id": "alert",
                "tool": "memory.remember",
                "input": {"content": "failed ${error.step}: ${error.message}"},
            }
        ],
        "output": "${steps.send.output}",
    },
    "find": {
        "inputs": {"query": None},
        "steps": [
            {"id": "search", "tool": "memory.search", "input": {"query": "${inputs.query}", "limit": 3}}
        ],
    },
}


@dataclass
class SmtpSink:
    messages: list[email.message.EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port  # type: ignore[attr-defined]
    yield sink
    controller.stop()


@pytest.fixture(scope="module")
def steward_spec(smtp: SmtpSink) -> ServerSpec:
    config = base_config(None)
    config["providers"]["replay"] = {"kind": "scripted", "script": "replay.yaml", "timeout_s": 30}
    config["models"]["scripted"] = {"provider": "replay", "model": "replay"}
    config["agents"]["scripty"] = {"runner": "pydantic_ai", "model": "scripted", "tools": []}
    config["tools"] = {
        "web": {"hn_fixture": str(HN_FIXTURE), "offline": True},
        "email": {
            "smtp_url": f"smtp://127.0.0.1:{smtp.port}",  # type: ignore[attr-defined]
            "from": "Steward <steward@example.com>",
            "allow_recipients": ["me@x.org"],
            "timeout_s": 10,
        },
    }
    config["policy"] = {"tiers": {"email.*": "low", "web.*": "low"}}
    config["workflows"] = WORKFLOWS
    return ServerSpec(config, {"replay.yaml": SCRIPT})


def export(steward: StewardServer, workflow: str, out: Path) -> subprocess.CompletedProcess[str]:
    assert steward.config_path is not None
    return subprocess.run(
        [STEWARD_BIN, "export", "windmill", workflow, str(out), "--config", str(steward.config_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "STEWARD_HOME": str(steward.home)},
    )


@pytest.fixture(scope="module")
def exported(steward: StewardServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("windmill") / "workspace"
    done = export(steward, "digest", out)
    assert done.returncode == 0, done.stderr
    assert "Exported digest" in done.stdout, done.stdout
    return out


def lint(directory: Path) -> subprocess.CompletedProcess[str]:
    if not WMILL.exists():
        pytest.fail(f"{WMILL} is missing: run scripts/setup.sh (it installs tools/package.json)")
    return subprocess.run(
        [str(WMILL), "lint", "--json", "."],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- a stand-in for Windmill's flow executor ------------------------------------------------------------

NODE_EVAL = """
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const {expr, flow_input, results, error} = JSON.parse(input);
  const evaluate = new Function('flow_input', 'results', 'error', 'return (' + expr + ');');
  const value = evaluate(flow_input, results, error);
  process.stdout.write(JSON.stringify(value === undefined ? null : value));
});
"""


def js(expr: str, flow_input: dict[str, Any], results: dict[str, Any], error: Any = None) -> Any:
    payload = json.dumps({"expr": expr, "flow_input": flow_input, "results": results, "error": error})
    done = subprocess.run(
        [NODE, "-e", NODE_EVAL], input=payload, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, f"{expr}: {done.stderr}"
    return json.loads(done.stdout)


def transform(
    t: dict[str, Any], flow_input: dict[str, Any], results: dict[str, Any], error: Any = None
) -> Any:
    if t["type"] == "static":
        return t.get("value")
    assert t["type"] == "javascript", t
    return js(t["expr"], flow_input, results, error)


class LocalWindmill:
    """Runs an exported flow the way Windmill would, calling each script's main() in this process."""

    def __init__(self, workspace: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.workspace = workspace
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("WM_WORKSPACE", raising=False)
        self.calls: list[str] = []  # script paths in the order their main() ran

    def load(self, flow_dir: Path, module: dict[str, Any]) -> ModuleType:
        content = module["value"]["content"]
        assert content.startswith("!inline "), content
        path = flow_dir / content.split(" ", 1)[1]
        spec = importlib.util.spec_from_file_location(
            f"wm_{flow_dir.name}_{path.stem}".replace(".", "_"), path
        )
        assert spec is not None
        assert spec.loader is not None
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = loaded
        spec.loader.exec_module(loaded)
        return loaded

    def run_flow(self, path: str, args: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        flow_dir = self.workspace / (path + ".flow")
        flow = yaml.safe_load((flow_dir / "flow.yaml").read_text())
        flow_input = {
            **{k: v["default"] for k, v in flow["schema"]["properties"].items() if "default" in v},
            **args,
        }
        results: dict[str, Any] = {}
        last = self.run_modules(flow_dir, flow["value"]["modules"], flow_input, results)
        return last, results

    def run_modules(
        self,
        flow_dir: Path,
        modules: list[dict[str, Any]],
        flow_input: dict[str, Any],
        results: dict[str, Any],
    ) -> Any:
        last: Any = None
        for module in modules:
            last = self.run_module(flow_dir, module, flow_input, results)
            results[module["id"]] = last
        return last

    def run_module(
        self, flow_dir: Path, module: dict[str, Any], flow_input: dict[str, Any], results: dict[str, Any]
    ) -> Any:
        value = module["value"]
        kind = value["type"]
        if kind == "rawscript":
            assert value["language"] == "python3"
            kwargs = {k: transform(t, flow_input, results) for k, t in value["input_transforms"].items()}
            self.calls.append(f"{flow_dir.name}/{module['id']}")
            return self.load(flow_dir, module).main(**kwargs)  # suspend: treated as approved
        if kind == "forloopflow":
            items = transform(value["iterator"], flow_input, results)
            assert isinstance(items, list), items
            out = []
            for index, item in enumerate(items):
                inner = {**flow_input, "iter": {"value": item, "index": index}}
                out.append(self.run_modules(flow_dir, value["modules"], inner, results))
            return out
        if kind == "branchone":
            for branch in value["branches"]:
                if js(branch["expr"], flow_input, results) is True:
                    return self.run_modules(flow_dir, branch["modules"], flow_input, results)
            return self.run_modules(flow_dir, value["default"], flow_input, results)
        if kind == "flow":
            args = {k: transform(t, flow_input, results) for k, t in value["input_transforms"].items()}
            child_last, _ = self.run_flow(value["path"], args)
            return child_last
        raise AssertionError(f"unexpected module type {kind}")


# --- tests -------------------------------------------------------------------------------------------


def test_export_writes_a_windmill_workspace(exported: Path) -> None:
    flow_dir = exported / "f" / "steward" / "digest.flow"
    names = sorted(p.name for p in flow_dir.iterdir())
    assert names == sorted(
        [
            "flow.yaml",
            "top.inline_script.py",
            "save.inline_script.py",
            "ask.inline_script.py",
            "ok.inline_script.py",
            "skipped.inline_script.py",
            "write.inline_script.py",
            "send.inline_script.py",
            "failure.inline_script.py",
        ]
    )
    assert (exported / "f" / "steward" / "find.flow" / "search.inline_script.py").exists()
    assert (exported / "wmill.yaml").exists()
    flow = yaml.safe_load((flow_dir / "flow.yaml").read_text())
    kinds = [(m["id"], m["value"]["type"]) for m in flow["value"]["modules"]]
    assert kinds == [
        ("top", "rawscript"),
        ("each", "forloopflow"),
        ("ask", "rawscript"),
        ("gate", "branchone"),
        ("write", "rawscript"),
        ("send", "rawscript"),
        ("lookup", "flow"),
    ]
    top = flow["value"]["modules"][0]
    assert top["retry"] == {"constant": {"attempts": 1, "seconds": 1}}
    assert top["timeout"] == {"type": "static", "value": 30}
    assert flow["value"]["modules"][1]["value"]["parallelism"] == {"type": "static", "value": 2}
    assert (
        flow["value"]["modules"][3]["value"]["branches"][0]["modules"][0]["suspend"]["required_events"] == 1
    )
    assert flow["value"]["failure_module"]["id"] == "failure"
    assert flow["schema"]["properties"]["limit"] == {"type": "integer", "description": "", "default": 2}
    schedule = yaml.safe_load((exported / "f" / "steward" / "digest.schedule.yaml").read_text())
    assert schedule["schedule"] == "0 0 8 * * *"
    assert schedule["timezone"] == "Europe/Berlin"
    assert schedule["script_path"] == "f/steward/digest"
    assert schedule["is_flow"] is True
    for script in flow_dir.glob("*.py"):
        compile(script.read_text(), str(script), "exec")


def test_exported_flows_validate_against_the_openflow_schema(exported: Path, tmp_path: Path) -> None:
    done = lint(exported)
    report = json.loads(done.stdout[done.stdout.index("{") :])
    assert done.returncode == 0, done.stdout + done.stderr
    assert report["success"], report
    # flow.yaml of digest and find, and the schedule.
    assert report["validatedFiles"] == 3, report
    assert report["validFiles"] == 3, report

    # The linter does check: a module without its language is rejected.
    broken = tmp_path / "broken"
    shutil.copytree(exported, broken)
    flow_path = broken / "f" / "steward" / "digest.flow" / "flow.yaml"
    flow = yaml.safe_load(flow_path.read_text())
    del flow["value"]["modules"][0]["value"]["language"]
    flow_path.write_text(yaml.safe_dump(flow))
    done = lint(broken)
    assert done.returncode != 0, done.stdout
    assert "language" in done.stdout, done.stdout


def test_each_script_runs_against_the_core(
    exported: Path, steward: StewardServer, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent_before = len(smtp.messages)
    runner = LocalWindmill(
        exported,
        {"STEWARD_URL": steward.url, "STEWARD_TOKEN": steward.token, "STEWARD_RUN_ID": "wm-run-1"},
        monkeypatch,
    )
    last, results = runner.run_flow("f/steward/digest", {})

    fixture = json.loads(HN_FIXTURE.read_text())["stories"]
    assert [s["title"] for s in results["top"]["stories"]] == [s["title"] for s in fixture[:2]]
    assert len(results["each"]) == 2  # one memory.remember result per story
    assert results["ask"] == {"text": "SUMMARY: two stories about assistants.", "data": None}
    assert results["gate"] == {"approved": True, "message": "Mail 2 stories to me@x.org?"}
    assert results["write"]["text"] == "DIGEST-BODY for the owner."
    assert results["write"]["usage"]["completion_tokens"] >= 0
    # The sub-flow searched memory for the first story, which the for-each had saved.
    found = json.dumps(last)
    assert fixture[0]["title"] in found, found
    assert runner.calls == [
        "digest.flow/top",
        "digest.flow/save",
        "digest.flow/save",
        "digest.flow/ask",
        "digest.flow/ok",
        "digest.flow/write",
        "digest.flow/send",
        "find.flow/search",
    ]

    # One mail, with the LLM step's text; the step's idempotency key is the run id and step path.
    assert len(smtp.messages) == sent_before + 1
    mail = smtp.messages[-1]
    assert mail["Subject"] == "Digest"
    assert "DIGEST-BODY for the owner." in mail.get_content()
    rows = steward.query("SELECT idempotency_key, status FROM email_outbox WHERE subject = 'Digest'")
    assert rows == [{"idempotency_key": "wm-run-1/send", "status": "sent"}], rows

    # Windmill retrying the send step with the same run id does not mail twice.
    flow_dir = exported / "f" / "steward" / "digest.flow"
    flow = yaml.safe_load((flow_dir / "flow.yaml").read_text())
    send = next(m for m in flow["value"]["modules"] if m["id"] == "send")
    kwargs = {
        k: transform(t, {"limit": 2, "to": "me@x.org"}, results)
        for k, t in send["value"]["input_transforms"].items()
    }
    runner.load(flow_dir, send).main(**kwargs)
    assert len(smtp.messages) == sent_before + 1


def test_the_failure_module_runs_the_on_error_handler(
    exported: Path, steward: StewardServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = LocalWindmill(
        exported, {"STEWARD_URL": steward.url, "STEWARD_TOKEN": steward.token}, monkeypatch
    )
    flow_dir = exported / "f" / "steward" / "digest.flow"
    flow = yaml.safe_load((flow_dir / "flow.yaml").read_text())
    failure = flow["value"]["failure_module"]
    error = {"step_id": "top", "message": "boom-7f3", "name": "Error"}
    kwargs = {
        k: transform(t, {"limit": 2, "to": "me@x.org"}, {}, error)
        for k, t in failure["value"]["input_transforms"].items()
    }
    assert kwargs["arguments"] == {"content": "failed top: boom-7f3"}
    runner.load(flow_dir, failure).main(**kwargs)
    rows = steward.query("SELECT count(*) AS n FROM memory_item WHERE content LIKE '%failed top: boom-7f3%'")
    assert rows == [{"n": 1}], rows


def test_scripts_report_steward_errors(
    exported: Path, steward: StewardServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow_dir = exported / "f" / "steward" / "digest.flow"
    flow = yaml.safe_load((flow_dir / "flow.yaml").read_text())
    top = flow["value"]["modules"][0]
    runner = LocalWindmill(
        exported, {"STEWARD_URL": steward.url, "STEWARD_TOKEN": "wrong-token"}, monkeypatch
    )
    with pytest.raises(RuntimeError, match="401"):
        runner.load(flow_dir, top).main(arguments={"limit": 1})
    monkeypatch.delenv("STEWARD_TOKEN")
    with pytest.raises(RuntimeError, match="no Steward token"):
        runner.load(flow_dir, top).main(arguments={"limit": 1})


def test_export_errors_name_the_workflow(steward: StewardServer, tmp_path: Path) -> None:
    done = export(steward, "nope", tmp_path / "x")
    assert done.returncode == 1
    assert "no workflow named 'nope' (workflows: digest, find)" in done.stderr, done.stderr
    assert not (tmp_path / "x").exists()
