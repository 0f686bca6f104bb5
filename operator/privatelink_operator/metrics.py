"""Prometheus metrics of the operator, in the text exposition format, with no dependency.

What is measured (all names start with ``privatelink_operator_``):

- ``aws_api_calls_total{service,operation,outcome}``: AWS API calls as the code made them
  (after botocore's retries); ``outcome`` is ``success`` or ``error``.
- ``aws_api_errors_total{service,operation,code}``: failed calls by AWS error code.
- ``aws_api_requests_total{service,operation}``: HTTP attempts, retries included.
- ``aws_api_retries_total{service,operation}`` and ``aws_api_throttles_total{service,operation}``:
  attempts that were retries, and answers that were throttling errors.
- ``aws_api_call_duration_seconds{service,operation}``: histogram, retries included.
- ``reconcile_total{kind,outcome}``, ``reconcile_duration_seconds{kind}`` (histogram) and
  ``reconcile_errors_total{kind,reason}``: one per reconcile pass.
- ``probe_total{result,reason}`` and ``probe_latency_seconds`` (histogram): the HTTP/2 probe.
- ``objects{kind,condition,status}``: objects by the status of each condition type (gauge).

The handlers report through :func:`observe_reconcile`, :func:`observe_probe`,
:func:`set_object_conditions` and :func:`forget_object`; the AWS metrics come from botocore's
events (see ``aws.CallCounter``). :func:`serve` starts the ``/metrics`` endpoint in a thread.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "PREFIX",
    "REGISTRY",
    "Counter",
    "Gauge",
    "Histogram",
    "Registry",
    "forget_object",
    "observe_aws_attempt",
    "observe_aws_call",
    "observe_probe",
    "observe_reconcile",
    "render",
    "serve",
    "set_object_conditions",
]

PREFIX = "privatelink_operator_"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "PriorRequestNotComplete",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)

LabelValues = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        self.name = PREFIX + name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._lock = threading.Lock()

    def _key(self, labels: Mapping[str, str]) -> LabelValues:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {sorted(labels)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.documentation}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError


class Counter(_Metric):
    kind = "counter"

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, documentation, labelnames)
        self._values: dict[LabelValues, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_labels(self.labelnames, k)} {_number(v)}" for k, v in items]

    def reset(self) -> None:
        with self._lock:
            self._values.clear()


class Gauge(_Metric):
    """A gauge whose samples are computed at scrape time by ``collect``."""

    kind = "gauge"

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        collect: Any,
    ) -> None:
        super().__init__(name, documentation, labelnames)
        self._collect = collect  # () -> Mapping[LabelValues, float]

    def samples(self) -> list[str]:
        values: Mapping[LabelValues, float] = self._collect()
        return [
            f"{self.name}{_labels(self.labelnames, k)} {_number(v)}"
            for k, v in sorted(values.items())
        ]

    def reset(self) -> None:
        pass


DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Histogram(_Metric):
    kind = "histogram"

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        super().__init__(name, documentation, labelnames)
        self.buckets = (*sorted(buckets), math.inf)
        self._counts: dict[LabelValues, list[int]] = {}
        self._sums: dict[LabelValues, float] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            counts = self._counts.setdefault(key, [0] * len(self.buckets))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[i] += 1
            self._sums[key] = self._sums.get(key, 0.0) + value

    def count(self, **labels: str) -> int:
        with self._lock:
            counts = self._counts.get(self._key(labels))
            return counts[-1] if counts else 0

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted((k, list(v), self._sums[k]) for k, v in self._counts.items())
        lines = []
        for key, counts, total in items:
            for bound, count in zip(self.buckets, counts, strict=True):
                le = f'le="{_number(bound)}"'
                lines.append(f"{self.name}_bucket{_labels(self.labelnames, key, le)} {count}")
            lines.append(f"{self.name}_sum{_labels(self.labelnames, key)} {_number(total)}")
            lines.append(f"{self.name}_count{_labels(self.labelnames, key)} {counts[-1]}")
        return lines

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._sums.clear()


class Registry:
    def __init__(self) -> None:
        self._metrics: list[_Metric] = []

    def add(self, metric: _Metric) -> Any:
        self._metrics.append(metric)
        return metric

    def render(self) -> str:
        lines: list[str] = []
        for metric in self._metrics:
            lines.extend(metric.header())
            lines.extend(metric.samples())
        return "\n".join(lines) + "\n"

    def reset(self) -> None:
        for metric in self._metrics:
            metric.reset()


REGISTRY = Registry()

AWS_CALLS: Counter = REGISTRY.add(
    Counter(
        "aws_api_calls_total",
        "AWS API calls made by the operator, after retries, by outcome (success or error).",
        ("service", "operation", "outcome"),
    )
)
AWS_ERRORS: Counter = REGISTRY.add(
    Counter(
        "aws_api_errors_total",
        "AWS API calls that failed after retries, by AWS error code.",
        ("service", "operation", "code"),
    )
)
AWS_REQUESTS: Counter = REGISTRY.add(
    Counter(
        "aws_api_requests_total",
        "HTTP requests sent to AWS, every retry attempt included.",
        ("service", "operation"),
    )
)
AWS_RETRIES: Counter = REGISTRY.add(
    Counter(
        "aws_api_retries_total",
        "AWS requests that were retries of an earlier attempt.",
        ("service", "operation"),
    )
)
AWS_THROTTLES: Counter = REGISTRY.add(
    Counter(
        "aws_api_throttles_total",
        "AWS answers that were throttling errors (each is retried by botocore while it may).",
        ("service", "operation"),
    )
)
AWS_DURATION: Histogram = REGISTRY.add(
    Histogram(
        "aws_api_call_duration_seconds",
        "Duration of AWS API calls, retries included.",
        ("service", "operation"),
    )
)
RECONCILES: Counter = REGISTRY.add(
    Counter(
        "reconcile_total",
        "Reconcile passes by kind and outcome (success, requeue, stalled, error).",
        ("kind", "outcome"),
    )
)
RECONCILE_DURATION: Histogram = REGISTRY.add(
    Histogram("reconcile_duration_seconds", "Duration of one reconcile pass, by kind.", ("kind",))
)
RECONCILE_ERRORS: Counter = REGISTRY.add(
    Counter(
        "reconcile_errors_total",
        "Reconcile passes that failed or stalled, by kind and reason (AWS error code).",
        ("kind", "reason"),
    )
)
PROBES: Counter = REGISTRY.add(
    Counter(
        "probe_total",
        "HTTP/2 probes by result (ready or not_ready) and reason.",
        ("result", "reason"),
    )
)
PROBE_LATENCY: Histogram = REGISTRY.add(
    Histogram("probe_latency_seconds", "Latency of HTTP/2 probes that got an answer.")
)

_objects_lock = threading.Lock()
_objects: dict[tuple[str, str, str], dict[str, str]] = {}


def _collect_objects() -> dict[LabelValues, float]:
    totals: dict[LabelValues, float] = {}
    with _objects_lock:
        for (kind, _, _), conditions in _objects.items():
            for ctype, status in conditions.items():
                key = (kind, ctype, status)
                totals[key] = totals.get(key, 0.0) + 1
    return totals


OBJECTS: Gauge = REGISTRY.add(
    Gauge(
        "objects",
        "Objects by kind and by the status (True, False, Unknown) of each condition type.",
        ("kind", "condition", "status"),
        _collect_objects,
    )
)


# -- what the rest of the operator calls -------------------------------------------------------


def observe_aws_call(
    service: str, operation: str, seconds: float, error_code: str | None = None
) -> None:
    """One AWS call as the code made it, after botocore's retries."""
    outcome = "success" if error_code is None else "error"
    AWS_CALLS.inc(service=service, operation=operation, outcome=outcome)
    AWS_DURATION.observe(seconds, service=service, operation=operation)
    if error_code is not None:
        AWS_ERRORS.inc(service=service, operation=operation, code=error_code)


def observe_aws_attempt(
    service: str, operation: str, attempt: int, error_code: str | None = None
) -> None:
    """One HTTP attempt (``attempt`` counts from 1), and whether AWS throttled it."""
    AWS_REQUESTS.inc(service=service, operation=operation)
    if attempt > 1:
        AWS_RETRIES.inc(service=service, operation=operation)
    if error_code in THROTTLING_CODES:
        AWS_THROTTLES.inc(service=service, operation=operation)


def observe_reconcile(kind: str, seconds: float, outcome: str, reason: str | None = None) -> None:
    """One reconcile pass of ``kind``; ``outcome``: success, requeue, stalled or error."""
    RECONCILES.inc(kind=kind, outcome=outcome)
    RECONCILE_DURATION.observe(seconds, kind=kind)
    if outcome in ("stalled", "error"):
        RECONCILE_ERRORS.inc(kind=kind, reason=reason or "Unknown")


def observe_probe(ready: bool, reason: str, latency_ms: float | None) -> None:
    PROBES.inc(result="ready" if ready else "not_ready", reason=reason or "Unknown")
    if latency_ms is not None:
        PROBE_LATENCY.observe(latency_ms / 1000.0)


def set_object_conditions(
    kind: str, namespace: str, name: str, conditions: Iterable[Mapping[str, Any]] | None
) -> None:
    """Remember the conditions an object's status now has (for ``objects{...}``)."""
    summary = {
        str(c.get("type")): str(c.get("status") or "Unknown")
        for c in conditions or ()
        if c.get("type")
    }
    with _objects_lock:
        _objects[(kind, namespace, name)] = summary


def forget_object(kind: str, namespace: str, name: str) -> None:
    with _objects_lock:
        _objects.pop((kind, namespace, name), None)


def render() -> str:
    return REGISTRY.render()


def reset() -> None:
    """Forget every sample (tests)."""
    REGISTRY.reset()
    with _objects_lock:
        _objects.clear()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            body, status, ctype = render().encode(), 200, CONTENT_TYPE
        elif path in ("/", "/healthz"):
            body, status, ctype = b"ok\n", 200, "text/plain"
        else:
            body, status, ctype = b"not found\n", 404, "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes every few seconds would drown the operator's log


def serve(port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """Serve ``/metrics`` on ``host:port`` from a daemon thread; returns the server."""
    server = ThreadingHTTPServer((host, port), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    return server
