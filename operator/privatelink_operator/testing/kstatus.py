"""kstatus, in Python: the status of an object as kstatus-based tools compute it, and the rules.

:func:`compute` follows sigs.k8s.io/cli-utils ``pkg/kstatus/status`` for custom resources:
an object being deleted is ``Terminating``; a ``status.observedGeneration`` that differs from
``metadata.generation`` is ``InProgress``; ``Reconciling=True`` is ``InProgress``;
``Stalled=True`` is ``Failed``; otherwise ``Current``.

:func:`check` lists what an object's status does wrong against the conventions kstatus (and
``kubectl wait``, Argo CD and Flux) rely on, as this project's API promises them: every condition
has ``type``, ``status`` (True/False/Unknown), a CamelCase ``reason``, a ``message``, an RFC 3339
``lastTransitionTime`` and an ``observedGeneration`` not ahead of the object; types are unique;
``Ready``, ``Reconciling`` and ``Stalled`` are present; ``Reconciling`` and ``Stalled`` are never
both True; ``Ready=True`` excludes both; ``Stalled=True`` means ``Ready=False``; and the status's
``observedGeneration`` is never ahead of ``metadata.generation``. An empty list means compliant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["REQUIRED", "Result", "check", "compute"]

REQUIRED = ("Ready", "Reconciling", "Stalled")
# metav1.Condition's reason: CamelCase, as validated by the API server.
REASON = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
STATUSES = ("True", "False", "Unknown")


@dataclass(frozen=True)
class Result:
    status: str  # InProgress | Failed | Current | Terminating
    message: str


def _conditions(obj: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    status = obj.get("status") or {}
    return {str(c.get("type")): c for c in status.get("conditions") or ()}


def compute(obj: Mapping[str, Any]) -> Result:
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return Result("Terminating", "resource scheduled for deletion")
    status = obj.get("status") or {}
    generation = meta.get("generation")
    observed = status.get("observedGeneration")
    if observed is not None and generation is not None and observed != generation:
        return Result(
            "InProgress", f"expected generation {generation}, observed generation {observed}"
        )
    conditions = _conditions(obj)
    reconciling = conditions.get("Reconciling")
    if reconciling is not None and reconciling.get("status") == "True":
        return Result("InProgress", str(reconciling.get("message") or reconciling.get("reason")))
    stalled = conditions.get("Stalled")
    if stalled is not None and stalled.get("status") == "True":
        return Result("Failed", str(stalled.get("message") or stalled.get("reason")))
    return Result("Current", "resource is current")


def _rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value and (value.endswith("Z") or "+" in value[10:] or "-" in value[10:])


def check(obj: Mapping[str, Any]) -> list[str]:
    """What the object's status does wrong against the kstatus conventions."""
    problems: list[str] = []
    name = (obj.get("metadata") or {}).get("name", "?")
    generation = (obj.get("metadata") or {}).get("generation")
    status = obj.get("status") or {}
    raw = status.get("conditions")
    if raw is None:
        return [f"{name}: status has no conditions"]
    if not isinstance(raw, list):
        return [f"{name}: status.conditions is not a list"]
    seen: set[str] = set()
    for i, cond in enumerate(raw):
        where = f"{name}: conditions[{i}] ({cond.get('type', '?')})"
        ctype = cond.get("type")
        if not isinstance(ctype, str) or not ctype:
            problems.append(f"{where}: no type")
        elif ctype in seen:
            problems.append(f"{where}: duplicate type")
        else:
            seen.add(ctype)
        if cond.get("status") not in STATUSES:
            problems.append(f"{where}: status {cond.get('status')!r} is not True/False/Unknown")
        reason = cond.get("reason")
        if not isinstance(reason, str) or not REASON.match(reason):
            problems.append(f"{where}: reason {reason!r} is not CamelCase")
        if not isinstance(cond.get("message", None), str):
            problems.append(f"{where}: no message")
        if not _rfc3339(cond.get("lastTransitionTime")):
            problems.append(f"{where}: lastTransitionTime {cond.get('lastTransitionTime')!r}")
        observed = cond.get("observedGeneration")
        if not isinstance(observed, int) or observed < 0:
            problems.append(f"{where}: observedGeneration {observed!r}")
        elif isinstance(generation, int) and observed > generation:
            problems.append(f"{where}: observedGeneration {observed} > generation {generation}")
    conditions = _conditions(obj)
    for required in REQUIRED:
        if required not in conditions:
            problems.append(f"{name}: no {required} condition")

    def is_true(ctype: str) -> bool:
        return conditions.get(ctype, {}).get("status") == "True"

    if is_true("Reconciling") and is_true("Stalled"):
        problems.append(f"{name}: Reconciling and Stalled are both True")
    if is_true("Ready") and (is_true("Reconciling") or is_true("Stalled")):
        problems.append(f"{name}: Ready=True while Reconciling or Stalled is True")
    if is_true("Stalled") and conditions.get("Ready", {}).get("status") != "False":
        problems.append(f"{name}: Stalled=True but Ready is not False")
    observed = status.get("observedGeneration")
    if observed is not None:
        if not isinstance(observed, int):
            problems.append(f"{name}: status.observedGeneration {observed!r} is not an integer")
        elif isinstance(generation, int) and observed > generation:
            problems.append(f"{name}: status.observedGeneration {observed} > {generation}")
    return problems
