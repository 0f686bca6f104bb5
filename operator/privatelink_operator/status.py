"""Conditions, the kstatus way (pure: no I/O).

Every object carries ``Ready`` (True only when everything holds), ``Reconciling`` (True while
converging) and ``Stalled`` (True when only a spec change can help), plus one condition per part
of its chain. ``lastTransitionTime`` changes only when a condition's status changes, and every
condition records the generation it describes, so kstatus, ``kubectl wait``, Argo CD and Flux
judge health from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

Status = Literal["True", "False", "Unknown"]

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"


@dataclass(frozen=True)
class Condition:
    type: str
    status: Status
    reason: str
    message: str = ""

    @classmethod
    def true(cls, type_: str, reason: str, message: str = "") -> Condition:
        return cls(type_, "True", reason, message)

    @classmethod
    def false(cls, type_: str, reason: str, message: str = "") -> Condition:
        return cls(type_, "False", reason, message)

    @classmethod
    def unknown(cls, type_: str, reason: str, message: str = "") -> Condition:
        return cls(type_, "Unknown", reason, message)


@dataclass(frozen=True)
class Stall:
    """The object cannot progress until its spec changes (bad input, an AWS validation error).

    ``blocks_writes``: AWS rejected this generation of the spec, so no write is tried again
    until the spec changes. False where the fix lies outside the spec (AccessDenied: the IAM
    policy), so the next drift pass tries again.
    """

    reason: str
    message: str
    blocks_writes: bool = True


_NOT_IN_REASON = re.compile(r"[^A-Za-z0-9_,:]")


def condition_reason(text: str) -> str:
    """A condition reason as Kubernetes requires (CamelCase, no dots): AWS error codes such as
    ``InvalidSubnetID.NotFound`` become ``InvalidSubnetIDNotFound``."""
    reason = _NOT_IN_REASON.sub("", text).strip("_,:")
    if not reason or not reason[0].isalpha():
        reason = "Error" + reason
    return reason


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def summarize(parts: Sequence[Condition], stall: Stall | None = None) -> list[Condition]:
    """Ready, Reconciling and Stalled derived from the per-part conditions, then the parts.

    Ready is True only when no part is False/Unknown and nothing stalls. When stalled, Ready
    carries the stall's reason; otherwise the first part that is not True says why not.
    """
    pending = [c for c in parts if c.status != "True"]
    if stall is not None:
        ready = Condition.false(READY, stall.reason, stall.message)
        reconciling = Condition.false(RECONCILING, stall.reason, "waiting for a spec change")
        stalled = Condition.true(STALLED, stall.reason, stall.message)
    elif pending:
        first = pending[0]
        ready = Condition.false(READY, first.reason, first.message)
        reconciling = Condition.true(RECONCILING, first.reason, first.message)
        stalled = Condition.false(STALLED, "Progressing", "")
    else:
        ready = Condition.true(READY, "Ready", "")
        reconciling = Condition.false(RECONCILING, "Ready", "")
        stalled = Condition.false(STALLED, "Ready", "")
    return [ready, reconciling, stalled, *parts]


def merge_conditions(
    existing: Iterable[Mapping[str, Any]] | None,
    new: Sequence[Condition],
    generation: int | None,
    now: str | None = None,
) -> list[dict[str, Any]]:
    """The new conditions as status dicts, keeping lastTransitionTime where status is unchanged.

    Conditions of other types already present (written by someone else) are kept after ours.
    """
    now = now or now_rfc3339()
    new = [replace(c, reason=condition_reason(c.reason)) for c in new]
    previous = {c.get("type"): c for c in existing or ()}
    result: list[dict[str, Any]] = []
    for cond in new:
        old = previous.pop(cond.type, None)
        transition = now
        if old is not None and old.get("status") == cond.status and old.get("lastTransitionTime"):
            transition = old["lastTransitionTime"]
        result.append(
            {
                "type": cond.type,
                "status": cond.status,
                "reason": cond.reason,
                "message": cond.message,
                "lastTransitionTime": transition,
                "observedGeneration": generation,
            }
        )
    result.extend(dict(c) for c in previous.values())
    return result


def condition(status: Mapping[str, Any] | None, type_: str) -> Mapping[str, Any] | None:
    """The condition of ``type_`` in a status dict, if any."""
    for cond in (status or {}).get("conditions") or ():
        if cond.get("type") == type_:
            found: Mapping[str, Any] = cond
            return found
    return None
