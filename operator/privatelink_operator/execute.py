"""Carry out a plan: one AWS call per step, in order, reading what each create produced."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from .aws import AwsClients, AwsError
from .provider.plan import PRODUCERS, Plan, Step, resolve

# Batch operations that answer 200 and report per-item failures in ``Unsuccessful``.
_BATCH = {
    "accept_vpc_endpoint_connections",
    "reject_vpc_endpoint_connections",
    "delete_vpc_endpoint_service_configurations",
    "delete_vpc_endpoints",
}


@dataclass(frozen=True)
class Done:
    step: Step
    produced: str | None


def execute(
    aws: AwsClients,
    plan: Plan,
    context: MutableMapping[str, str],
    on_done: Callable[[Done], None] | None = None,
) -> list[Done]:
    """Run every step; raise the classified AwsError of the first step that fails.

    A delete that finds nothing counts as done. Batch calls whose ``Unsuccessful`` list is not
    empty fail like any other call (AWS answers 200 for them).
    """
    done = []
    for step in plan.steps:
        params = resolve(step.params, context)
        try:
            answer: Any = aws.call(step.service, step.operation, **params)
        except AwsError as exc:
            gone = exc.kind == "not_found" or "NotFound" in exc.code
            if gone and step.ignore_not_found:
                answer = {}
            else:
                raise
        if step.operation in _BATCH:
            _check_unsuccessful(step, answer)
        produced = None
        if step.produces:
            produced = PRODUCERS[step.operation](answer)
            context[step.produces] = produced
        record = Done(step, produced)
        done.append(record)
        if on_done is not None:
            on_done(record)
    return done


def _check_unsuccessful(step: Step, answer: Any) -> None:
    failures = [
        item
        for item in (answer or {}).get("Unsuccessful", []) or []
        if "NotFound" not in str(item.get("Error", {}).get("Code", ""))
    ]
    if failures:
        first = failures[0].get("Error", {})
        raise AwsError(
            "conflict",
            str(first.get("Code", "Unsuccessful")),
            f"{len(failures)} item(s) not done: {first.get('Message', '')} "
            f"({failures[0].get('ResourceId', '')})",
            step.operation,
        )
