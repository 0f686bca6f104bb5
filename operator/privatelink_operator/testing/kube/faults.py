"""Fault injection and a request log for the Kubernetes API emulator.

Tests reach it as ``emulator.faults`` (a :class:`KubeFaults`):

* ``faults.add(KubeFaultRule(verb="patch", resource="privatelinkservices", status=409,
  probability=0.2, seed=1))``: some writes are answered with 409 Conflict or 500 InternalError
  (as kube-apiserver words them) and never reach the store;
* ``faults.drop_watches()``: every open watch stream ends now (clients must re-watch);
* ``faults.requests(since=mark)``: every API request served, as (verb, group, resource,
  subresource, namespace, name, status), e.g. to compare with RBAC rules.

Verbs are RBAC's: get, list, watch, create, update, patch, delete, deletecollection.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from .errors import StatusError

__all__ = ["WRITE_VERBS", "KubeFaultRule", "KubeFaults", "KubeRequest", "rbac_verb"]

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


def rbac_verb(method: str, has_name: bool, watch: bool) -> str:
    """The RBAC verb of an HTTP request on a resource path."""
    if method == "GET":
        if watch:
            return "watch"
        return "get" if has_name else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if has_name else "deletecollection"
    return method.lower()


@dataclass(frozen=True)
class KubeRequest:
    seq: int
    time: float
    verb: str
    group: str
    resource: str
    subresource: str | None
    namespace: str | None
    name: str | None
    status: int  # 0 until answered (a watch stays 0 while open); the injected status if faulted
    fault: str | None = None

    @property
    def is_write(self) -> bool:
        return self.verb in WRITE_VERBS


@dataclass
class KubeFaultRule:
    """Which requests it hits (``"*"`` matches any; ``subresource="status"`` only status writes,
    ``""`` only the main resource), what it answers (409 or 5xx), how often."""

    verb: str = "*"
    resource: str = "*"
    subresource: str = "*"
    namespace: str = "*"
    status: int = 500
    times: int | None = None
    probability: float = 1.0
    seed: int | None = None
    id: str = ""
    hits: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def matches(
        self, verb: str, resource: str, subresource: str | None, namespace: str | None
    ) -> bool:
        def ok(pattern: str, value: str) -> bool:
            return pattern == "*" or pattern == value

        return (
            ok(self.verb, verb)
            and ok(self.resource, resource)
            and ok(self.subresource, subresource or "")
            and ok(self.namespace, namespace or "")
        )

    def error(self, resource: str, group: str, name: str | None) -> StatusError:
        qualified = f"{resource}.{group}" if group else resource
        if self.status == 409:
            return StatusError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {qualified} "{name or ""}": the object has '
                "been modified; please apply your changes to the latest version and try again",
                details={"name": name or "", "group": group, "kind": resource},
            )
        if self.status == 429:
            return StatusError(429, "TooManyRequests", "the server has received too many requests")
        return StatusError(
            self.status,
            "InternalError",
            "Internal error occurred: injected fault",
            details={"causes": [{"message": "injected fault"}]},
        )


class KubeFaults:
    """The rules and the request log of one emulator; thread-safe (tests set rules from their
    own thread while the server's loop serves requests)."""

    def __init__(self, close_watches: Callable[[], None] | None = None, limit: int = 200_000):
        self._lock = threading.Lock()
        self._rules: list[KubeFaultRule] = []
        self._log: list[KubeRequest] = []
        self._seq = 0
        self._limit = limit
        self._close_watches = close_watches
        self.watches_dropped = 0

    # rules ----------------------------------------------------------------------------------

    def add(self, *rules: KubeFaultRule) -> list[KubeFaultRule]:
        for rule in rules:
            if not (rule.status == 409 or rule.status == 429 or 500 <= rule.status <= 599):
                raise ValueError("status must be 409, 429 or 5xx")
            if not 0.0 <= rule.probability <= 1.0:
                raise ValueError("probability must be within [0, 1]")
            rule.id = rule.id or uuid.uuid4().hex[:12]
            rule.hits = 0
            rule._rng = random.Random(rule.seed)
        with self._lock:
            self._rules.extend(rules)
        return list(rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[KubeFaultRule]:
        with self._lock:
            return list(self._rules)

    def match(
        self, verb: str, resource: str, subresource: str | None, namespace: str | None
    ) -> KubeFaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.times is not None and rule.times <= 0:
                    continue
                if not rule.matches(verb, resource, subresource, namespace):
                    continue
                if rule.probability < 1.0 and rule._rng.random() >= rule.probability:
                    continue
                rule.hits += 1
                if rule.times is not None:
                    rule.times -= 1
                return rule
        return None

    def drop_watches(self) -> None:
        """End every open watch stream (the emulator's loop must run this: see KubeEmulator)."""
        if self._close_watches is not None:
            self._close_watches()
            self.watches_dropped += 1

    # the log --------------------------------------------------------------------------------

    def record(self, **fields: object) -> int:
        with self._lock:
            self._seq += 1
            self._log.append(KubeRequest(seq=self._seq, time=time.time(), **fields))  # type: ignore[arg-type]
            if len(self._log) > self._limit:
                del self._log[: len(self._log) - self._limit]
            return self._seq

    def answered(self, seq: int, status: int) -> None:
        with self._lock:
            for index in range(len(self._log) - 1, -1, -1):
                entry = self._log[index]
                if entry.seq == seq:
                    self._log[index] = KubeRequest(**{**asdict(entry), "status": status})
                    return
                if entry.seq < seq:
                    return

    def mark(self) -> int:
        with self._lock:
            return self._seq

    def requests(self, since: int = 0) -> list[KubeRequest]:
        with self._lock:
            return [r for r in self._log if r.seq > since]
