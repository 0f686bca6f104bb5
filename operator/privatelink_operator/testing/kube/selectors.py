"""Label and field selectors with the API server's syntax and its errors.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``,
comma-separated, all of which must hold. Field selectors: ``f=v``, ``f==v``, ``f!=v`` over the
fields the resource supports (``metadata.name`` and ``metadata.namespace`` everywhere, more for
some kinds); any other field is a 400 ``field label not supported``, as on a real cluster.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from .errors import StatusError, bad_request

__all__ = ["FieldSelector", "LabelSelector", "parse_field_selector", "parse_label_selector"]

Matcher = Callable[[Mapping[str, str]], bool]

_SET_RE = re.compile(
    r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s*(?:(notin|in)\s*\(([^)]*)\)|(==|=|!=)\s*([^\s]*))?\s*$"
)


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


class LabelSelector:
    def __init__(self, matchers: list[Matcher]) -> None:
        self._matchers = matchers

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(matcher(labels) for matcher in self._matchers)


def _label_requirement(text: str) -> Matcher:
    match = _SET_RE.match(text)
    if not match:
        raise bad_request(f"unable to parse requirement: found '{text.strip()}', expected: key")
    negated, key, set_op, set_values, eq_op, eq_value = match.groups()
    if negated:
        if set_op or eq_op:
            raise bad_request(f"unable to parse requirement: {text.strip()!r}")
        return lambda labels: key not in labels
    if set_op:
        values = {v.strip() for v in set_values.split(",") if v.strip()}
        if set_op == "in":
            return lambda labels: key in labels and labels[key] in values
        return lambda labels: key not in labels or labels[key] not in values
    if eq_op in ("=", "=="):
        return lambda labels: labels.get(key) == eq_value
    if eq_op == "!=":
        return lambda labels: labels.get(key) != eq_value
    return lambda labels: key in labels


def parse_label_selector(text: str | None) -> LabelSelector | None:
    if not text:
        return None
    return LabelSelector([_label_requirement(part) for part in _split_top_level(text)])


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


class FieldSelector:
    def __init__(self, requirements: list[tuple[str, bool, str]]) -> None:
        self._requirements = requirements  # (field, equal?, value)

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all((_field_value(obj, f) == v) == eq for f, eq, v in self._requirements)


def parse_field_selector(text: str | None, supported: Collection[str]) -> FieldSelector | None:
    if not text:
        return None
    requirements: list[tuple[str, bool, str]] = []
    for part in _split_top_level(text):
        for op, is_equal in (("!=", False), ("==", True), ("=", True)):
            if op in part:
                field, value = part.split(op, 1)
                equal = is_equal
                break
        else:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field = field.strip()
        if field not in supported:
            raise StatusError(400, "BadRequest", f"field label not supported: {field}")
        requirements.append((field, equal, value.strip()))
    return FieldSelector(requirements)
