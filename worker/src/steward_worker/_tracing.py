"""OpenTelemetry in the worker: a run's spans join the core's trace and go back to the core over stdio.

The core sends a W3C `traceparent` with each `run` (its `chat.run` span). The worker starts the run's task
under that context, so spans a framework creates (Pydantic AI's `invoke_agent`, `chat`, `execute_tool`) are
children of the core's run span. Finished spans of the run's trace are collected in memory (never exported
from the worker: the core owns export, sampling and redaction) and sent as one `spans` message just before
the run's `done` or `error` (docs/runner-protocol.md).

A traceparent whose sampled flag is 0 means the core is not recording: the ParentBased sampler then makes
every span of the run a no-op, and nothing is sent.

HTTP calls to the core carry the context of the span they belong to (`inject_traceparent`), so the core's
spans for a model or tool call nest under the framework's span for it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from . import __version__

__all__ = [
    "RESOURCE",
    "RunTrace",
    "encode_span",
    "inject_traceparent",
    "resource_json",
    "tool_traceparent",
    "tracer_provider",
]

SERVICE_NAME: Final = "steward-worker"
_MAX_SPANS_PER_RUN: Final = 2000
_PROPAGATOR: Final = TraceContextTextMapPropagator()


def _resource_attributes() -> dict[str, Any]:
    return {
        "service.name": SERVICE_NAME,
        "service.version": __version__,
        "telemetry.sdk.language": "python",
        "process.pid": os.getpid(),
    }


class _Collector(SpanProcessor):
    """Keeps finished spans of the traces being watched (the runs in flight), and the contexts of their open
    `execute_tool` spans by tool name, so a tool's HTTP call can name its span as parent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._finished: dict[int, list[ReadableSpan]] = {}
        self._tools: dict[int, dict[str, list[trace.SpanContext]]] = {}

    def watch(self, trace_id: int) -> None:
        with self._lock:
            self._finished.setdefault(trace_id, [])
            self._tools.setdefault(trace_id, {})

    def drain(self, trace_id: int) -> list[ReadableSpan]:
        with self._lock:
            self._tools.pop(trace_id, None)
            return self._finished.pop(trace_id, [])

    def tool_context(self, trace_id: int, tool_name: str) -> trace.SpanContext | None:
        with self._lock:
            contexts = self._tools.get(trace_id, {}).get(tool_name)
            return contexts[-1] if contexts else None

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        name = _tool_name(span)
        if name is None:
            return
        with self._lock:
            tools = self._tools.get(span.context.trace_id)
            if tools is not None:
                tools.setdefault(name, []).append(span.context)

    def on_end(self, span: ReadableSpan) -> None:
        assert span.context is not None
        trace_id = span.context.trace_id
        with self._lock:
            finished = self._finished.get(trace_id)
            if finished is None:
                return
            if len(finished) < _MAX_SPANS_PER_RUN:
                finished.append(span)
            name = _tool_name(span)
            contexts = self._tools.get(trace_id, {}).get(name or "")
            if contexts and span.context in contexts:
                contexts.remove(span.context)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _tool_name(span: ReadableSpan) -> str | None:
    attributes = span.attributes or {}
    if attributes.get("gen_ai.operation.name") != "execute_tool":
        return None
    name = attributes.get("gen_ai.tool.name")
    return name if isinstance(name, str) else None


_COLLECTOR: Final = _Collector()
RESOURCE: Final = _resource_attributes()
_PROVIDER: TracerProvider | None = None
_PROVIDER_LOCK: Final = threading.Lock()


def tracer_provider() -> TracerProvider:
    """The worker's tracer provider: spans follow the core's sampling decision and stay in memory."""
    global _PROVIDER  # noqa: PLW0603 - one provider per process, made on first use
    with _PROVIDER_LOCK:
        if _PROVIDER is None:
            _PROVIDER = TracerProvider(resource=Resource.create(RESOURCE), sampler=ParentBased(ALWAYS_ON))
            _PROVIDER.add_span_processor(_COLLECTOR)
        return _PROVIDER


class RunTrace:
    """One run's trace context: the core's span as parent, and the run's finished spans."""

    def __init__(self, traceparent: str | None) -> None:
        carrier = {"traceparent": traceparent} if traceparent else {}
        self.context = _PROPAGATOR.extract(carrier)
        parent = trace.get_current_span(self.context).get_span_context()
        self.recording = parent.is_valid and parent.trace_flags.sampled
        self.trace_id = parent.trace_id if self.recording else 0
        if self.recording:
            tracer_provider()
            _COLLECTOR.watch(self.trace_id)
        self._finished = False

    @contextmanager
    def activated(self) -> Iterator[None]:
        """Makes the core's span current for the calling task: spans started inside are its children."""
        token = otel_context.attach(self.context)
        try:
            yield
        finally:
            otel_context.detach(token)

    def finish(self) -> list[dict[str, Any]]:
        """The run's finished spans as OTLP JSON span objects (once; later calls return [])."""
        if not self.recording or self._finished:
            return []
        self._finished = True
        return [encode_span(span) for span in _COLLECTOR.drain(self.trace_id)]


def tool_traceparent(trace_id: int, tool_name: str) -> str | None:
    """The traceparent of the run's open `execute_tool` span for `tool_name` (model-facing name), if any."""
    span_context = _COLLECTOR.tool_context(trace_id, tool_name)
    if span_context is None:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, trace.set_span_in_context(trace.NonRecordingSpan(span_context)))
    return carrier.get("traceparent")


def inject_traceparent(headers: Any) -> None:
    """Sets `traceparent` in `headers` (any mutable mapping) from the current context, if it has a span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    if "traceparent" in carrier:
        headers["traceparent"] = carrier["traceparent"]


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [_any_value(v) for v in value]}}
    return {"stringValue": str(value)}


def _key_values(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [{"key": key, "value": _any_value(value)} for key, value in (attributes or {}).items()]


def resource_json() -> dict[str, Any]:
    """The worker's OTLP Resource: {"attributes": [KeyValue...]}."""
    return {"attributes": _key_values(RESOURCE)}


def encode_span(span: ReadableSpan) -> dict[str, Any]:
    """One span in the OTLP/HTTP JSON encoding (ids as hex, times as strings), plus its `scope`."""
    assert span.context is not None
    encoded: dict[str, Any] = {
        "traceId": f"{span.context.trace_id:032x}",
        "spanId": f"{span.context.span_id:016x}",
        "name": span.name,
        "kind": span.kind.value + 1,  # the SDK counts from INTERNAL=0, OTLP from UNSPECIFIED=0
        "startTimeUnixNano": str(span.start_time or 0),
        "endTimeUnixNano": str(span.end_time or span.start_time or 0),
        "attributes": _key_values(span.attributes),
        "status": {"code": span.status.status_code.value},
    }
    if span.parent is not None:
        encoded["parentSpanId"] = f"{span.parent.span_id:016x}"
    if span.status.description:
        encoded["status"]["message"] = span.status.description
    scope = span.instrumentation_scope
    if scope is not None:
        encoded["scope"] = {"name": scope.name, **({"version": scope.version} if scope.version else {})}
    return encoded
