"""The plan: data that says which AWS calls to make, in order (pure; printable; no I/O)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..status import Stall


@dataclass(frozen=True)
class Ref:
    """A value known only once an earlier step (or the actual state) produced it."""

    key: str

    def __repr__(self) -> str:
        return f"<{self.key}>"


@dataclass(frozen=True)
class Step:
    resource: str
    action: str
    summary: str
    service: str
    operation: str
    params: Mapping[str, Any]
    produces: str | None = None
    ignore_not_found: bool = False

    def describe(self) -> str:
        return f"{self.action:<10} {self.resource:<17} {self.summary}"


@dataclass(frozen=True)
class Wait:
    condition: str
    reason: str
    message: str
    delay: float


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)
    stall: Stall | None = None
    notes: list[str] = field(default_factory=list)

    def add(self, step: Step) -> None:
        self.steps.append(step)

    def wait(self, condition: str, reason: str, message: str, delay: float) -> None:
        if any(w.condition == condition and w.reason == reason for w in self.waits):
            return
        self.waits.append(Wait(condition, reason, message, delay))

    @property
    def writes(self) -> int:
        return len(self.steps)

    def to_text(self) -> str:
        lines = []
        if self.stall is not None:
            lines.append(f"STALLED    {self.stall.reason}: {self.stall.message}")
        if not self.steps:
            lines.append("no changes")
        lines += [f"{i + 1:>2}. {s.describe()}" for i, s in enumerate(self.steps)]
        lines += [f"then wait  {w.condition}: {w.reason}: {w.message}" for w in self.waits]
        lines += [f"note       {n}" for n in self.notes]
        return "\n".join(lines)

    def to_json(self) -> str:
        def encode(value: Any) -> Any:
            if isinstance(value, Ref):
                return {"ref": value.key}
            raise TypeError(type(value))

        return json.dumps(
            {
                "steps": [
                    {
                        "resource": s.resource,
                        "action": s.action,
                        "summary": s.summary,
                        "call": f"{s.service}:{s.operation}",
                        "params": s.params,
                    }
                    for s in self.steps
                ],
                "waits": [w.__dict__ for w in self.waits],
                "stall": None if self.stall is None else self.stall.__dict__,
                "notes": self.notes,
            },
            indent=2,
            default=encode,
        )


# What a create step produces, read from its answer.
PRODUCERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "request_certificate": lambda r: str(r["CertificateArn"]),
    "create_load_balancer": lambda r: str(r["LoadBalancers"][0]["LoadBalancerArn"]),
    "create_target_group": lambda r: str(r["TargetGroups"][0]["TargetGroupArn"]),
    "create_listener": lambda r: str(r["Listeners"][0]["ListenerArn"]),
    "create_vpc_endpoint_service_configuration": lambda r: str(
        r["ServiceConfiguration"]["ServiceId"]
    ),
    "create_security_group": lambda r: str(r["GroupId"]),
    "create_vpc_endpoint": lambda r: str(r["VpcEndpoint"]["VpcEndpointId"]),
}


def resolve(value: Any, context: Mapping[str, str]) -> Any:
    """``value`` with every Ref replaced by what the context holds."""
    if isinstance(value, Ref):
        if value.key not in context:
            raise KeyError(f"plan refers to {value.key}, which no earlier step produced")
        return context[value.key]
    if isinstance(value, Mapping):
        return {k: resolve(v, context) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, context) for v in value]
    return value
