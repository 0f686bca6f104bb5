"""The three patch formats kube-apiserver accepts besides server-side apply.

* RFC 7386 JSON merge patch (``application/merge-patch+json``);
* RFC 6902 JSON patch (``application/json-patch+json``), where a failed ``test`` or a missing
  path is a :class:`PatchApplyError` (answered 422, as the API server does);
* strategic merge patch (``application/strategic-merge-patch+json``) for built-in kinds: a merge
  patch whose lists of known kinds merge by their merge key, plus the ``$patch``,
  ``$setElementOrder`` and ``$deleteFromPrimitiveList`` directives that kubectl sends.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = [
    "PatchApplyError",
    "PatchFormatError",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_strategic_merge_patch",
]


class PatchApplyError(Exception):
    """The patch is well-formed but cannot be applied (HTTP 422 on the API server)."""


class PatchFormatError(Exception):
    """The patch is not a valid patch document (HTTP 400 on the API server)."""


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


# --------------------------------------------------------------------------------------------
# RFC 6902


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _split_pointer(pointer: Any) -> list[str]:
    if not isinstance(pointer, str):
        raise PatchFormatError(f"invalid JSON pointer: {pointer!r}")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchFormatError(f"JSON pointer must start with '/': {pointer!r}")
    return [_unescape(token) for token in pointer[1:].split("/")]


def _list_index(container: list[Any], token: str, *, for_add: bool) -> int:
    if for_add and token == "-":
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchApplyError(f"invalid array index: {token!r}")
    index = int(token)
    limit = len(container) if for_add else len(container) - 1
    if index > limit:
        raise PatchApplyError(f"array index out of bounds: {index}")
    return index


def _parent(doc: Any, tokens: list[str], path: str) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise PatchApplyError(f"doc is missing path: {path!r}")
            node = node[token]
        elif isinstance(node, list):
            node = node[_list_index(node, token, for_add=False)]
        else:
            raise PatchApplyError(f"doc is missing path: {path!r}")
    return node


def _get(doc: Any, path: str) -> Any:
    tokens = _split_pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchApplyError(f"doc is missing key: {path!r}")
        return parent[last]
    if isinstance(parent, list):
        return parent[_list_index(parent, last, for_add=False)]
    raise PatchApplyError(f"doc is missing path: {path!r}")


def _add(doc: Any, path: str, value: Any) -> Any:
    tokens = _split_pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_list_index(parent, last, for_add=True), value)
    else:
        raise PatchApplyError(f"doc is missing path: {path!r}")
    return doc


def _remove(doc: Any, path: str) -> tuple[Any, Any]:
    tokens = _split_pointer(path)
    if not tokens:
        raise PatchApplyError("cannot remove the whole document")
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchApplyError(f"unable to remove nonexistent key: {last}: missing value")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_list_index(parent, last, for_add=False))
    raise PatchApplyError(f"doc is missing path: {path!r}")


def apply_json_patch(target: Any, patch: Any) -> Any:
    """Apply RFC 6902 operations to a deep copy of ``target``; all-or-nothing."""
    if not isinstance(patch, list):
        raise PatchFormatError("json patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in patch:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchFormatError(f"invalid json patch operation: {op!r}")
        kind, path = op["op"], op["path"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchFormatError(f"operation {kind!r} needs a value")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            doc, _ = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)  # must exist
            if _split_pointer(path):
                doc, _ = _remove(doc, path)
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "move":
            doc, value = _remove(doc, str(op.get("from")))
            doc = _add(doc, path, value)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, str(op.get("from")))))
        elif kind == "test":
            try:
                actual = _get(doc, path)
            except PatchApplyError:
                actual = None
                if op["value"] is not None:
                    raise PatchApplyError(f"testing value {path} failed: test failed") from None
            if actual != op["value"] or isinstance(actual, bool) != isinstance(op["value"], bool):
                raise PatchApplyError(f"testing value {path} failed: test failed")
        else:
            raise PatchFormatError(f"Unexpected kind: {kind}")
    return doc


# --------------------------------------------------------------------------------------------
# Strategic merge patch (the subset of built-in merge keys that matters for this project)

_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "ports": "port",  # Service spec.ports; container ports use containerPort (see below)
    "conditions": "type",
    "tolerations": "key",
    "hostAliases": "ip",
    "ownerReferences": "uid",
    "secrets": "name",
}
_PRIMITIVE_MERGE_LISTS = {"finalizers"}


def _merge_key(field: str, items: list[Any]) -> str | None:
    key = _MERGE_KEYS.get(field)
    if field == "ports" and items and isinstance(items[0], dict) and "containerPort" in items[0]:
        return "containerPort"
    return key


def _strategic_list(field: str, original: Any, patch: list[Any]) -> list[Any]:
    old = list(original) if isinstance(original, list) else []
    if field in _PRIMITIVE_MERGE_LISTS:
        merged = list(old)
        for item in patch:
            if item not in merged:
                merged.append(item)
        return merged
    key = _merge_key(field, patch or old)
    if key is None or not all(isinstance(item, dict) for item in patch):
        return copy.deepcopy(patch)
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    merged = [copy.deepcopy(item) for item in old]
    for item in patch:
        index = next(
            (
                n
                for n, cur in enumerate(merged)
                if isinstance(cur, dict) and cur.get(key) == item.get(key)
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                merged.pop(index)
        elif index is None:
            merged.append(_strategic(None, item))
        else:
            merged[index] = _strategic(merged[index], item)
    return merged


def _strategic(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    deletions: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            deletions[key.split("/", 1)[1]] = value if isinstance(value, list) else []
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _strategic_list(key, result.get(key), value)
        else:
            merged = _strategic(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    for key, values in deletions.items():
        if isinstance(result.get(key), list):
            result[key] = [item for item in result[key] if item not in values]
    if "$retainKeys" in patch and isinstance(patch["$retainKeys"], list):
        keep = set(patch["$retainKeys"])
        result = {k: v for k, v in result.items() if k in keep}
    return result


def apply_strategic_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        raise PatchFormatError("strategic merge patch must be an object")
    return _strategic(target, patch)
