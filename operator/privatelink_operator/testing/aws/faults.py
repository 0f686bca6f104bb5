"""Fault injection rules: throttling, 5xx and slow answers, by service, action and account.

A :class:`FaultRule` says which calls it hits (service, action, account, region; ``"*"`` matches
anything), what it does (an AWS error with its real code and HTTP status, a delay before the
answer, or both) and how often (the next ``times`` matching calls, or every one; each with a
``probability``). The server keeps the rules in a :class:`FaultTable`; tests set them at runtime
over HTTP (``POST /_emulator/faults``) or from Python through :class:`FaultsClient`.

The error codes, statuses and messages of :meth:`FaultRule.throttle` are the ones each real
service answers with, so botocore's retry logic classifies them as AWS's would be.
"""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = [
    "SERVICE_ALIASES",
    "THROTTLING",
    "FaultRule",
    "FaultTable",
    "canonical_action",
    "canonical_service",
]

# Service names as boto3 clients spell them; signing names and other spellings map onto them.
SERVICE_ALIASES: dict[str, str] = {
    "elasticloadbalancing": "elbv2",
    "elasticloadbalancingv2": "elbv2",
    "tagging": "resourcegroupstaggingapi",
    "certificatemanager": "acm",
}

# (code, HTTP status, message) of each service's throttling error, as AWS answers.
THROTTLING: dict[str, tuple[str, int, str]] = {
    "ec2": ("RequestLimitExceeded", 503, "Request limit exceeded."),
    "elbv2": ("Throttling", 400, "Rate exceeded"),
    "route53": ("Throttling", 400, "Rate exceeded"),
    "acm": ("ThrottlingException", 400, "Rate exceeded"),
    "sts": ("Throttling", 400, "Rate exceeded"),
    "resourcegroupstaggingapi": ("ThrottlingException", 400, "Rate exceeded"),
}

# (code, message) of an internal error (HTTP 500) and of unavailability (HTTP 503) per service.
_INTERNAL: dict[str, tuple[str, str]] = {
    "ec2": ("InternalError", "An internal error has occurred"),
}
_UNAVAILABLE: dict[str, tuple[str, str]] = {
    "ec2": ("Unavailable", "The server is overloaded and can't handle the request."),
}


def canonical_service(name: str) -> str:
    """``elasticloadbalancing`` -> ``elbv2``; ``*`` stays ``*``; lower case."""
    low = name.strip().lower()
    return SERVICE_ALIASES.get(low, low)


def canonical_action(name: str) -> str:
    """A comparison key for action names: ``DescribeVpcEndpoints`` == ``describe_vpc_endpoints``."""
    return name.replace("_", "").replace("-", "").lower()


@dataclass
class FaultRule:
    """One fault: which calls it hits, what it answers, how often.

    ``error_code`` set: the call is answered with that AWS error (``status``, ``message``) and
    never reaches the emulated service. ``delay`` set: the answer (error or real) comes that many
    seconds late. ``times``: only the next N matching calls (``None``: every matching call).
    ``probability``: each matching call is hit with this probability (``seed`` makes it
    reproducible); a call the dice spare goes on to the next rule.
    """

    service: str = "*"
    action: str = "*"
    account: str = "*"
    region: str = "*"
    error_code: str | None = None
    status: int = 400
    message: str = ""
    delay: float = 0.0
    times: int | None = None
    probability: float = 1.0
    seed: int | None = None
    # Set by the server: the rule's id and how many calls it has hit so far.
    id: str = ""
    hits: int = 0

    # -- constructors for the usual faults ------------------------------------------------
    @classmethod
    def _answer(
        cls,
        service: str,
        action: str,
        account: str,
        error: tuple[str, int, str],
        times: int | None,
        probability: float,
        seed: int | None,
    ) -> FaultRule:
        code, status, message = error
        return cls(
            service=service,
            action=action,
            account=account,
            error_code=code,
            status=status,
            message=message,
            times=times,
            probability=probability,
            seed=seed,
        )

    @classmethod
    def throttle(
        cls,
        service: str,
        action: str = "*",
        *,
        times: int | None = None,
        probability: float = 1.0,
        account: str = "*",
        seed: int | None = None,
    ) -> FaultRule:
        """The service's own throttling error (EC2 ``RequestLimitExceeded`` 503, ELBv2 and
        Route 53 ``Throttling`` 400 "Rate exceeded", ACM ``ThrottlingException`` 400)."""
        svc = canonical_service(service)
        code, status, message = THROTTLING.get(svc, ("ThrottlingException", 400, "Rate exceeded"))
        return cls._answer(svc, action, account, (code, status, message), times, probability, seed)

    @classmethod
    def server_error(
        cls,
        service: str,
        action: str = "*",
        *,
        status: int = 500,
        times: int | None = None,
        probability: float = 1.0,
        account: str = "*",
        seed: int | None = None,
    ) -> FaultRule:
        """A 5xx: ``status`` 500 gives the service's internal error, 503 its unavailability."""
        svc = canonical_service(service)
        if status == 503:
            code, message = _UNAVAILABLE.get(
                svc, ("ServiceUnavailable", "Service is unable to handle request.")
            )
        else:
            code, message = _INTERNAL.get(
                svc, ("InternalFailure", "The request processing has failed.")
            )
        return cls._answer(svc, action, account, (code, status, message), times, probability, seed)

    @classmethod
    def prior_request_not_complete(
        cls,
        action: str = "ChangeResourceRecordSets",
        *,
        times: int | None = 1,
        account: str = "*",
    ) -> FaultRule:
        """Route 53's answer to concurrent changes of one hosted zone (400)."""
        return cls(
            service="route53",
            action=action,
            account=account,
            error_code="PriorRequestNotComplete",
            status=400,
            message="The request was rejected because Route 53 was still processing a prior "
            "request.",
            times=times,
        )

    @classmethod
    def error(
        cls,
        service: str,
        action: str,
        code: str,
        *,
        status: int = 400,
        message: str = "",
        times: int | None = None,
        account: str = "*",
    ) -> FaultRule:
        """Any AWS error: ``FaultRule.error("ec2", "CreateVpcEndpoint", "InvalidParameter")``."""
        return cls(
            service=canonical_service(service),
            action=action,
            account=account,
            error_code=code,
            status=status,
            message=message or code,
            times=times,
        )

    @classmethod
    def slow(
        cls,
        service: str,
        action: str = "*",
        *,
        seconds: float,
        times: int | None = None,
        probability: float = 1.0,
        account: str = "*",
    ) -> FaultRule:
        """A real answer, ``seconds`` late."""
        return cls(
            service=canonical_service(service),
            action=action,
            account=account,
            delay=seconds,
            times=times,
            probability=probability,
        )

    # -- wire format -------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault rule fields: {', '.join(unknown)}")
        rule = cls(**data)
        rule.validate()
        return rule

    def validate(self) -> None:
        if self.error_code is None and self.delay <= 0:
            raise ValueError("a fault rule needs an error_code, a delay, or both")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or null for every matching call)")
        if self.delay < 0:
            raise ValueError("delay must not be negative")
        if self.error_code is not None and not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (4xx or 5xx)")

    def matches(self, service: str, action: str, account: str, region: str) -> bool:
        def ok(pattern: str, value: str) -> bool:
            return pattern == "*" or pattern == value

        return (
            ok(canonical_service(self.service), service)
            and (self.action == "*" or canonical_action(self.action) == canonical_action(action))
            and ok(self.account, account)
            and ok(self.region, region)
        )


@dataclass
class _Entry:
    rule: FaultRule
    rng: random.Random = field(default_factory=random.Random)


class FaultTable:
    """The server's rules, in the order they were added; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []

    def add(self, rule: FaultRule) -> FaultRule:
        rule.validate()
        rule.service = canonical_service(rule.service)
        rule.id = rule.id or uuid.uuid4().hex[:12]
        rule.hits = 0
        with self._lock:
            self._entries.append(_Entry(rule, random.Random(rule.seed)))
        return rule

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._entries)
            self._entries = [e for e in self._entries if e.rule.id != rule_id]
            return len(self._entries) != before

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return [e.rule for e in self._entries]

    def match(self, service: str, action: str, account: str, region: str) -> FaultRule | None:
        """The rule that hits this call, if any (a copy; the hit is counted)."""
        with self._lock:
            for entry in self._entries:
                rule = entry.rule
                if rule.times is not None and rule.times <= 0:
                    continue  # spent: kept so that its hits stay readable
                if not rule.matches(service, action, account, region):
                    continue
                if rule.probability < 1.0 and entry.rng.random() >= rule.probability:
                    continue
                rule.hits += 1
                if rule.times is not None:
                    rule.times -= 1
                return FaultRule(**asdict(rule))
        return None
