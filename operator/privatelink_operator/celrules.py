"""Evaluate Kubernetes CRD validation rules (CEL) offline, with cel-python.

The same rules go into the CRDs' ``x-kubernetes-validations`` (the API server enforces them) and
are evaluated here, so the models, the offline admission tests and the Kubernetes emulator agree
with a real cluster. cel-python implements core CEL; the rules in this project keep to it (no
Kubernetes extension functions, no optional chaining).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.celtypes import BoolType
from celpy.evaluation import CELEvalError

_OLD_SELF = re.compile(r"\boldSelf\b")
_MISSING: Any = object()


class RuleError(Exception):
    """A rule that does not compile or does not evaluate to a boolean."""


def is_transition_rule(rule: str) -> bool:
    """A transition rule compares with the previous object (``oldSelf``): only on update."""
    return bool(_OLD_SELF.search(rule))


@lru_cache(maxsize=512)
def _program(rule: str) -> Any:
    env = celpy.Environment()
    try:
        return env.program(env.compile(rule))
    except Exception as exc:  # cel-python raises several parser error types
        raise RuleError(f"CEL rule {rule!r} does not compile: {exc}") from exc


def holds(rule: str, value: Any, old: Any = _MISSING) -> bool:
    """Whether ``rule`` holds for ``self=value`` (and ``oldSelf=old`` for transition rules).

    An evaluation error (for example a missing field) counts as a failed rule, as on the API
    server.
    """
    activation = {"self": json_to_cel(value)}
    if old is not _MISSING:
        activation["oldSelf"] = json_to_cel(old)
    try:
        result = _program(rule).evaluate(activation)
    except CELEvalError:
        return False
    if isinstance(result, CELEvalError):
        return False
    if not isinstance(result, bool | BoolType):
        raise RuleError(f"CEL rule {rule!r} evaluated to {result!r}, not a boolean")
    return bool(result)


def failed_messages(
    rules: Iterable[Mapping[str, str]], value: Any, old: Any = _MISSING
) -> list[str]:
    """Messages of the rules that fail; transition rules are skipped when there is no ``old``."""
    failures = []
    for rule in rules:
        text = rule["rule"]
        if is_transition_rule(text) and old is _MISSING:
            continue
        if not holds(text, value, old):
            failures.append(rule.get("message") or f"failed rule: {text}")
    return failures
