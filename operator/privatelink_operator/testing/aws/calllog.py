"""The log of every AWS call the emulator answered, by account, service and action.

The server appends one :class:`AwsCall` per request (faulted ones included: each is a call the
client made); tests read it through :class:`CallLog` views, e.g. to prove that a pass with
nothing to do makes zero write calls::

    mark = aws_emulator.calls.mark()
    reconcile(...)
    assert aws_emulator.calls.writes(since=mark) == []
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from .faults import canonical_action, canonical_service

__all__ = ["READ_PREFIXES", "AwsCall", "CallLog", "CallRecorder", "is_read_action"]

# Actions whose name starts with one of these change nothing.
READ_PREFIXES = ("Describe", "List", "Get", "Head", "Test", "Lookup", "Search", "Check")


def is_read_action(action: str) -> bool:
    return action.startswith(READ_PREFIXES)


@dataclass(frozen=True)
class AwsCall:
    seq: int
    time: float
    account: str
    region: str
    service: str  # as boto3 names the client: ec2, elbv2, acm, route53, sts, ...
    action: str  # the API operation: CreateVpcEndpoint, ChangeResourceRecordSets, ...
    status: int
    error_code: str | None = None
    fault: str | None = None  # id of the fault rule that answered, if one did
    duration_ms: float = 0.0

    @property
    def is_write(self) -> bool:
        return not is_read_action(self.action)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.account, self.service, self.action)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AwsCall:
        return cls(**data)


class CallRecorder:
    """Server side: the append-only log (bounded), thread-safe."""

    def __init__(self, limit: int = 200_000) -> None:
        self._lock = threading.Lock()
        self._calls: list[AwsCall] = []
        self._seq = 0
        self._limit = limit

    def record(self, **fields: Any) -> AwsCall:
        with self._lock:
            self._seq += 1
            call = AwsCall(seq=self._seq, **fields)
            self._calls.append(call)
            if len(self._calls) > self._limit:
                del self._calls[: len(self._calls) - self._limit]
            return call

    def since(self, seq: int = 0) -> list[AwsCall]:
        with self._lock:
            return [c for c in self._calls if c.seq > seq]

    def last_seq(self) -> int:
        with self._lock:
            return self._seq

    def clear(self) -> None:
        """Forget the calls; sequence numbers keep growing so old marks stay meaningful."""
        with self._lock:
            self._calls.clear()


def _select(
    calls: Iterable[AwsCall],
    service: str | None,
    action: str | None,
    account: str | None,
    writes_only: bool,
) -> list[AwsCall]:
    svc = canonical_service(service) if service else None
    act = canonical_action(action) if action else None
    return [
        c
        for c in calls
        if (svc is None or c.service == svc)
        and (act is None or canonical_action(c.action) == act)
        and (account is None or c.account == account)
        and (not writes_only or c.is_write)
    ]


class CallLog:
    """Read side of the log (over HTTP from the test process, or in-process)."""

    def __init__(self, fetch: Any, clear: Any, last_seq: Any) -> None:
        self._fetch = fetch  # (since: int) -> list[AwsCall]
        self._clear = clear  # () -> None
        self._last_seq = last_seq  # () -> int

    def mark(self) -> int:
        """A position in the log: pass it as ``since`` to see only the calls made after it."""
        seq: int = self._last_seq()
        return seq

    def all(self, since: int = 0) -> list[AwsCall]:
        calls: list[AwsCall] = self._fetch(since)
        return calls

    def select(
        self,
        service: str | None = None,
        action: str | None = None,
        account: str | None = None,
        *,
        writes_only: bool = False,
        since: int = 0,
    ) -> list[AwsCall]:
        return _select(self.all(since), service, action, account, writes_only)

    def count(
        self,
        service: str | None = None,
        action: str | None = None,
        account: str | None = None,
        *,
        writes_only: bool = False,
        since: int = 0,
    ) -> int:
        return len(self.select(service, action, account, writes_only=writes_only, since=since))

    def writes(self, since: int = 0, account: str | None = None) -> list[AwsCall]:
        """Calls that may change something (not Describe*/List*/Get*...)."""
        return self.select(account=account, writes_only=True, since=since)

    def counter(self, since: int = 0) -> Counter[tuple[str, str, str]]:
        """Counts by (account, service, action)."""
        return Counter(c.key for c in self.all(since))

    def clear(self) -> None:
        self._clear()
