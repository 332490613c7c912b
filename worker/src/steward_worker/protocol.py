"""Message models of the runner protocol (docs/runner-protocol.md): one JSON object per line.

Every message that crosses stdin/stdout is one of the models below; nothing else is parsed or written.
Incoming models ignore unknown keys so the core can add fields without breaking older workers.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError

from .errors import ErrorCode, ProtocolError

__all__ = [
    "AgentSpec",
    "CancelMessage",
    "CoreEndpoint",
    "DoneEvent",
    "EmbedErrorEvent",
    "EmbedMessage",
    "EmbeddingsEvent",
    "ErrorEvent",
    "HistoryMessage",
    "IncomingMessage",
    "OutgoingMessage",
    "PingMessage",
    "PongEvent",
    "ProtocolErrorEvent",
    "ReadyEvent",
    "RunEvent",
    "RunInput",
    "RunLimits",
    "RunMessage",
    "RunStats",
    "ShutdownMessage",
    "SpansEvent",
    "StatusEvent",
    "TokenEvent",
    "TraceContext",
    "encode",
    "parse_line",
]


class _Incoming(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Outgoing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------------------- core → worker


class AgentSpec(_Incoming):
    """The agent a run uses, as configured in the core's YAML."""

    name: str
    system_prompt: str = ""
    model: str = Field(min_length=1)
    temperature: float | None = None
    max_retries: int = Field(default=1, ge=0)
    tools: list[str] = Field(default_factory=list)
    risk_threshold: str | None = None


class HistoryMessage(_Incoming):
    """One earlier turn of the conversation."""

    role: Literal["user", "assistant"]
    content: str


class RunInput(_Incoming):
    """What the run works on.

    A chat turn (and an `agent` step of a workflow): the new user message and the conversation before it
    (oldest first, without the new message). A workflow run by a worker orchestrator (`langgraph`): `graph`
    names the graph, `inputs` are the workflow's inputs, and `thread_id` (the workflow run's id, stable
    across resumes) keys its checkpoints; an agent step may pass `thread_id` too.
    """

    message: str = ""
    history: list[HistoryMessage] = Field(default_factory=list)
    graph: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    thread_id: str | None = Field(default=None, min_length=1)


class CoreEndpoint(_Incoming):
    """Where the run reaches models (`{base_url}/v1`) and tools (`{base_url}/mcp`), and with which token."""

    base_url: str = Field(pattern=r"^https?://")
    token: SecretStr

    def url(self, path: str) -> str:
        """Returns `base_url` joined with `path` (which starts with '/')."""
        return self.base_url.rstrip("/") + path


class TraceContext(_Incoming):
    """W3C trace context to forward on every HTTP call of the run."""

    traceparent: str | None = None


class PingMessage(_Incoming):
    """Health check; answered by `pong` with the same id."""

    type: Literal["ping"]
    id: int


class RunLimits(_Incoming):
    """Resource limits of a workflow step's run. With `cpu_seconds` or `memory_mb` set, the run gets a process
    of its own that enforces them (`steward_worker.isolation`); `wall_seconds` is the core's to enforce."""

    cpu_seconds: int | None = Field(default=None, ge=1)
    memory_mb: int | None = Field(default=None, ge=1)
    wall_seconds: int | None = Field(default=None, ge=1)

    @property
    def isolating(self) -> bool:
        """Whether the run must run in a process of its own to hold these limits."""
        return self.cpu_seconds is not None or self.memory_mb is not None


class RunMessage(_Incoming):
    """Start a run."""

    type: Literal["run"]
    run_id: str = Field(min_length=1)
    runner: str
    agent: AgentSpec
    input: RunInput
    core: CoreEndpoint
    trace: TraceContext = Field(default_factory=TraceContext)
    limits: RunLimits | None = None


class CancelMessage(_Incoming):
    """Cancel a run; answered by `error` code `cancelled`, or nothing if the run already ended."""

    type: Literal["cancel"]
    run_id: str


class ShutdownMessage(_Incoming):
    """Stop: cancel what is in flight and exit 0."""

    type: Literal["shutdown"]


class EmbedMessage(_Incoming):
    """Embed texts with the local sentence-embedding model; answered by `embeddings` (or `embed_error`)."""

    type: Literal["embed"]
    id: int
    texts: list[str] = Field(max_length=1024)


IncomingMessage = Annotated[
    PingMessage | RunMessage | CancelMessage | ShutdownMessage | EmbedMessage, Field(discriminator="type")
]
_INCOMING: TypeAdapter[IncomingMessage] = TypeAdapter(IncomingMessage)


# ---------------------------------------------------------------------------------------------- worker → core


class ReadyEvent(_Outgoing):
    """Written once, after every runner's framework is imported and warmed up."""

    type: Literal["ready"] = "ready"
    pid: int
    runners: list[str]
    versions: dict[str, str]


class PongEvent(_Outgoing):
    """Answer to `ping`."""

    type: Literal["pong"] = "pong"
    id: int


class StatusEvent(_Outgoing):
    """A progress line for the user."""

    type: Literal["status"] = "status"
    run_id: str
    text: str
    node: str | None = None
    """The graph node reporting (runners that run graphs, e.g. langgraph); left out when None."""
    iteration: int | None = None
    """The graph's loop iteration the node is in; left out when None."""


class TokenEvent(_Outgoing):
    """A text delta of the answer, in order; the texts concatenated equal `done.output`."""

    type: Literal["token"] = "token"
    run_id: str
    text: str


class RunStats(_Outgoing):
    """What a run cost in calls, for the core's telemetry and the framework comparison."""

    model_calls: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    retries: int = 0


class DoneEvent(_Outgoing):
    """The run ended normally."""

    type: Literal["done"] = "done"
    run_id: str
    output: str
    stats: RunStats
    data: dict[str, Any] | None = None
    """Structured result besides the text (a workflow step's output becomes {"text": output, "data": data});
    left out of the message when None."""


class ErrorEvent(_Outgoing):
    """The run ended with an error; `message` is meant for the user."""

    type: Literal["error"] = "error"
    run_id: str
    code: ErrorCode
    message: str


class SpansEvent(_Outgoing):
    """Spans the run recorded in the worker (OTLP JSON span objects, each with its `scope`), sent once, just
    before the run's `done` or `error`; `resource` is an OTLP Resource ({"attributes": [KeyValue...]})."""

    type: Literal["spans"] = "spans"
    run_id: str
    resource: dict[str, Any]
    spans: list[dict[str, Any]]


class ProtocolErrorEvent(_Outgoing):
    """A line the worker could not use; the line is ignored and the worker goes on."""

    type: Literal["protocol_error"] = "protocol_error"
    message: str


class EmbeddingsEvent(_Outgoing):
    """Answer to `embed`: one unit-length vector per text, in order."""

    type: Literal["embeddings"] = "embeddings"
    id: int
    vectors: list[list[float]]
    model: str
    dim: int


class EmbedErrorEvent(_Outgoing):
    """`embed` failed; `code` is `unavailable` (model not installed or not loadable) or `internal`."""

    type: Literal["embed_error"] = "embed_error"
    id: int
    code: Literal["unavailable", "internal"]
    message: str


RunEvent = StatusEvent | TokenEvent | SpansEvent | DoneEvent | ErrorEvent
"""The messages that belong to one run."""

OutgoingMessage = ReadyEvent | PongEvent | RunEvent | ProtocolErrorEvent | EmbeddingsEvent | EmbedErrorEvent


def encode(message: OutgoingMessage) -> bytes:
    """Returns `message` as one UTF-8 JSON line ending in '\\n' (JSON escapes keep it to one line); fields
    that are None (only optional ones, such as `done.data`) are left out."""
    return message.model_dump_json(exclude_none=True).encode() + b"\n"


def _describe(loc: tuple[int | str, ...], kind: object, msg: str) -> str:
    if loc and loc[0] == kind:  # the discriminator's tag, not a field
        loc = loc[1:]
    return f"{'.'.join(str(p) for p in loc) or '(message)'}: {msg}"


def parse_line(line: bytes) -> IncomingMessage:
    """Parses one line from the core.

    Raises `ProtocolError` with a message naming what was wrong; when the line is a `run` whose
    `run_id` could be read, the error carries it so the run can be failed instead of left hanging.
    """
    try:
        raw: Any = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"line is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ProtocolError(f"expected a JSON object, got {type(raw).__name__}")
    try:
        return _INCOMING.validate_python(raw)
    except ValidationError as exc:
        kind = raw.get("type")
        run_id = raw.get("run_id") if kind == "run" else None
        problems = "; ".join(_describe(err["loc"], kind, err["msg"]) for err in exc.errors(include_url=False))
        what = f"{kind!r} message" if isinstance(kind, str) else "message"
        raise ProtocolError(
            f"invalid {what}: {problems}",
            run_id=run_id if isinstance(run_id, str) and run_id else None,
        ) from None
