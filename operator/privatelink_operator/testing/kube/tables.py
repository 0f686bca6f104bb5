"""Server-side ``Table`` rendering (what ``kubectl get`` asks for) and printer-column JSONPath."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping
from typing import Any

from .resources import ResourceInfo

__all__ = ["human_duration", "jsonpath", "to_table"]

_TOKEN_RE = re.compile(
    r"""\.(?P<field>[A-Za-z0-9_\-]+)"""
    r"""|\[['"](?P<quoted>[^'"]+)['"]\]"""
    r"""|\[(?P<index>-?\d+)\]"""
    r"""|\[\*\]"""
    r"""|\[\?\(@\.(?P<fpath>[A-Za-z0-9_.\-]+)\s*==\s*['"]?(?P<fvalue>[^'")]*)['"]?\)\]"""
)


def jsonpath(obj: Any, path: str) -> list[Any]:
    """The values a printer-column JSONPath finds: ``.a.b``, ``[0]``, ``[*]``, ``[?(@.k=="v")]``."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    path = path.lstrip("$")
    nodes: list[Any] = [obj]
    pos = 0
    while pos < len(path):
        match = _TOKEN_RE.match(path, pos)
        if match is None:
            return []
        pos = match.end()
        found: list[Any] = []
        for node in nodes:
            if match.group("field") is not None or match.group("quoted") is not None:
                key = match.group("field") or match.group("quoted")
                if isinstance(node, Mapping) and key in node:
                    found.append(node[key])
            elif match.group("index") is not None:
                index = int(match.group("index"))
                if isinstance(node, list) and -len(node) <= index < len(node):
                    found.append(node[index])
            elif match.group("fpath") is not None:
                if isinstance(node, list):
                    for item in node:
                        value = jsonpath(item, "." + match.group("fpath"))
                        if value and str(value[0]) == match.group("fvalue"):
                            found.append(item)
            elif isinstance(node, list):
                found.extend(node)
            elif isinstance(node, Mapping):
                found.extend(node.values())
        nodes = found
    return nodes


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < 0:
        return "<invalid>"
    if s < 60 * 2:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y{days % 365}d" if days < 365 * 8 else f"{days // 365}y"


def _age(timestamp: Any) -> str:
    if not isinstance(timestamp, str):
        return "<unknown>"
    try:
        then = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.UTC
        )
    except ValueError:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.UTC) - then).total_seconds())


def _cell(obj: Mapping[str, Any], column: Mapping[str, Any]) -> Any:
    values = jsonpath(obj, str(column.get("jsonPath", "")))
    if not values:
        return None
    value = values[0]
    type_ = column.get("type", "string")
    if type_ == "date":
        return _age(value)
    if type_ in ("integer", "number", "boolean") and isinstance(value, int | float | bool):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value) if len(values) == 1 else ",".join(str(v) for v in values)


_NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace.",
    "priority": 0,
}
_AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def to_table(
    info: ResourceInfo, objects: list[Mapping[str, Any]], list_meta: Mapping[str, Any]
) -> dict[str, Any]:
    columns: list[Mapping[str, Any]] = list(info.printer_columns) or [_AGE]
    definitions = [_NAME_COLUMN] + [
        {
            "name": c["name"],
            "type": c.get("type", "string"),
            "format": c.get("format", ""),
            "description": c.get("description", ""),
            "priority": c.get("priority", 0),
        }
        for c in columns
    ]
    rows = []
    for obj in objects:
        meta = obj.get("metadata", {})
        rows.append(
            {
                "cells": [meta.get("name")] + [_cell(obj, c) for c in columns],
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": meta,
                },
            }
        )
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(list_meta),
        "columnDefinitions": definitions,
        "rows": rows,
    }
