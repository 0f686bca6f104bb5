"""Admission as the Kubernetes API server does it for a CRD's structural schema, offline.

Order, as in kube-apiserver: prune unknown fields (and nulls for fields that are not nullable),
apply defaults, then validate against the OpenAPI schema and the CEL rules
(``x-kubernetes-validations``; transition rules with ``oldSelf`` only on update, and only where
the old object has the same field). Errors carry the field path and are worded like the API
server's, so a message seen in the tests is the message a user sees on a cluster.

Used by the offline admission tests and by the Kubernetes emulator in ``testing.kube``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import celrules

_MISSING: Any = object()

_CAUSE_REASONS = {
    "Required value": "FieldValueRequired",
    "Unsupported value": "FieldValueNotSupported",
    "Invalid value": "FieldValueInvalid",
    "Duplicate value": "FieldValueDuplicate",
    "Too long": "FieldValueTooLong",
    "Too many": "FieldValueTooMany",
    "Forbidden": "FieldValueForbidden",
}


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(_type_name(value))


def _type_name(value: Any) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    return "string"


@dataclass(frozen=True)
class FieldError:
    """One rejected field: ``path: type: detail``, as ``k8s.io/apimachinery`` prints it."""

    path: str
    type: str
    detail: str = ""
    value: Any = _MISSING

    def body(self) -> str:
        parts = [self.type]
        if self.value is not _MISSING and self.type in (
            "Invalid value",
            "Unsupported value",
            "Duplicate value",
            "Too many",
        ):
            parts.append(_quote(self.value))
        if self.detail:
            parts.append(self.detail)
        return ": ".join(parts)

    def __str__(self) -> str:
        return f"{self.path}: {self.body()}"

    @property
    def cause_reason(self) -> str:
        return _CAUSE_REASONS.get(self.type, "FieldValueInvalid")


class AdmissionError(Exception):
    """The object was rejected; ``errors`` says where and why."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))

    def status_message(self, kind: str, name: str, group: str = "") -> str:
        qualified = f"{kind}.{group}" if group else kind
        if len(self.errors) == 1:
            listed = str(self.errors[0])
        else:
            listed = "[" + ", ".join(str(e) for e in self.errors) + "]"
        return f'{qualified} "{name}" is invalid: {listed}'

    def to_status(self, kind: str, name: str, group: str = "") -> dict[str, Any]:
        """The ``Status`` body of the API server's 422 answer."""
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.status_message(kind, name, group),
            "reason": "Invalid",
            "details": {
                "name": name,
                "group": group,
                "kind": kind,
                "causes": [
                    {"reason": e.cause_reason, "message": e.body(), "field": e.path}
                    for e in self.errors
                ],
            },
            "code": 422,
        }


def _join(path: str, key: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{path}.{key}" if path else key
    return f"{path}[{key}]"


class SchemaValidator:
    """Prune, default and validate objects against one structural ``openAPIV3Schema``."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema

    @classmethod
    def from_crd(cls, crd: Mapping[str, Any], version: str | None = None) -> SchemaValidator:
        versions = crd["spec"]["versions"]
        for entry in versions:
            if (version is None and entry.get("storage")) or entry["name"] == version:
                return cls(entry["schema"]["openAPIV3Schema"])
        raise KeyError(f"CRD {crd['metadata']['name']} has no version {version!r}")

    # -- the three steps -------------------------------------------------------------------

    def admit(self, obj: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Pruned and defaulted copy of ``obj``, or ``AdmissionError``."""
        result = self.prune(obj)
        self.default(result)
        errors = self.validate(result, old)
        if errors:
            raise AdmissionError(errors)
        return result

    def prune(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        pruned = _prune(copy.deepcopy(dict(obj)), self.schema, root=True)
        assert isinstance(pruned, dict)
        return pruned

    def default(self, obj: dict[str, Any]) -> None:
        _default(obj, self.schema)

    def validate(
        self, obj: Mapping[str, Any], old: Mapping[str, Any] | None = None
    ) -> list[FieldError]:
        errors: list[FieldError] = []
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        schema = {
            **self.schema,
            "properties": {
                k: v
                for k, v in self.schema.get("properties", {}).items()
                if k not in ("apiVersion", "kind", "metadata")
            },
        }
        old_body = (
            _MISSING
            if old is None
            else {k: v for k, v in old.items() if k not in ("apiVersion", "kind", "metadata")}
        )
        _validate(body, schema, "", old_body, errors, root=True)
        return errors


# -- pruning ------------------------------------------------------------------------------------


def _prune(value: Any, schema: Mapping[str, Any], root: bool = False) -> Any:
    if isinstance(value, dict):
        props = schema.get("properties")
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields", False)
        for key in list(value):
            child = value[key]
            if root and key in ("apiVersion", "kind", "metadata"):
                continue
            if props is not None and key in props:
                sub = props[key]
            elif isinstance(additional, Mapping):
                sub = additional
            elif preserve:
                continue
            else:
                del value[key]
                continue
            if child is None and not sub.get("nullable", False):
                del value[key]
                continue
            value[key] = _prune(child, sub)
    elif isinstance(value, list) and "items" in schema:
        value[:] = [_prune(item, schema["items"]) for item in value]
    return value


# -- defaulting ---------------------------------------------------------------------------------


def _default(value: Any, schema: Mapping[str, Any]) -> None:
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key, sub in props.items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                _default(value[key], sub)
        additional = schema.get("additionalProperties")
        if isinstance(additional, Mapping):
            for key in value:
                if key not in props:
                    _default(value[key], additional)
    elif isinstance(value, list) and "items" in schema:
        for item in value:
            _default(item, schema["items"])


# -- validation ---------------------------------------------------------------------------------


def _type_ok(value: Any, schema: Mapping[str, Any]) -> str | None:
    """None when ``value`` has the schema's type, else the expected type's name."""
    if schema.get("x-kubernetes-int-or-string"):
        ok = isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
        return None if ok else "integer or string"
    expected = schema.get("type")
    checks = {
        "object": lambda v: isinstance(v, Mapping),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
    }
    if expected is None or expected not in checks:
        return None
    return None if checks[expected](value) else expected


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _validate(
    value: Any,
    schema: Mapping[str, Any],
    path: str,
    old: Any,
    errors: list[FieldError],
    root: bool = False,
) -> None:
    shown = path or "<root>"
    if value is None:
        if not schema.get("nullable", False):
            errors.append(
                FieldError(shown, "Invalid value", f"{shown} in body must not be null", "null")
            )
        return
    expected = _type_ok(value, schema)
    if expected is not None:
        errors.append(
            FieldError(
                shown,
                "Invalid value",
                f'{shown} in body must be of type {expected}: "{_type_name(value)}"',
                _type_name(value),
            )
        )
        return
    before = len(errors)
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(_quote(v) for v in schema["enum"])
        errors.append(
            FieldError(shown, "Unsupported value", f"supported values: {supported}", value)
        )
    if isinstance(value, str):
        _validate_string(value, schema, shown, errors)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _validate_number(value, schema, shown, errors)
    elif isinstance(value, list):
        _validate_array(value, schema, path, errors)
    elif isinstance(value, Mapping):
        _validate_object(value, schema, path, old, errors, root)
    if len(errors) == before:
        _validate_cel(value, schema, shown, old, errors)


def _validate_string(value: str, schema: Mapping[str, Any], path: str, errors: list[Any]) -> None:
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(
            FieldError(path, "Too long", f"may not be more than {schema['maxLength']} bytes")
        )
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(
            FieldError(
                path,
                "Invalid value",
                f"{path} in body should be at least {schema['minLength']} chars long",
                value,
            )
        )
    if "pattern" in schema and not _regex(schema["pattern"]).search(value):
        errors.append(
            FieldError(
                path,
                "Invalid value",
                f"{path} in body should match '{schema['pattern']}'",
                value,
            )
        )


def _validate_number(
    value: float, schema: Mapping[str, Any], path: str, errors: list[FieldError]
) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(
            FieldError(
                path,
                "Invalid value",
                f"{path} in body should be greater than or equal to {schema['minimum']}",
                value,
            )
        )
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(
            FieldError(
                path,
                "Invalid value",
                f"{path} in body should be less than or equal to {schema['maximum']}",
                value,
            )
        )


def _validate_array(
    value: list[Any], schema: Mapping[str, Any], path: str, errors: list[FieldError]
) -> None:
    shown = path or "<root>"
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(
            FieldError(
                shown, "Too many", f"must have at most {schema['maxItems']} items", len(value)
            )
        )
    if "minItems" in schema and len(value) < schema["minItems"]:
        errors.append(
            FieldError(
                shown,
                "Invalid value",
                f"{shown} in body should have at least {schema['minItems']} items",
                len(value),
            )
        )
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "set":
        seen: list[Any] = []
        for i, item in enumerate(value):
            if item in seen:
                errors.append(FieldError(f"{path}[{i}]", "Duplicate value", value=item))
            seen.append(item)
    elif list_type == "map":
        keys = schema.get("x-kubernetes-list-map-keys", [])
        seen_keys: list[tuple[Any, ...]] = []
        for i, item in enumerate(value):
            if isinstance(item, Mapping):
                key = tuple(item.get(k) for k in keys)
                if key in seen_keys:
                    errors.append(
                        FieldError(
                            f"{path}[{i}]",
                            "Duplicate value",
                            value={k: item.get(k) for k in keys},
                        )
                    )
                seen_keys.append(key)
    item_schema = schema.get("items")
    if item_schema is not None:
        for i, item in enumerate(value):
            _validate(item, item_schema, f"{path}[{i}]", _MISSING, errors)


def _validate_object(
    value: Mapping[str, Any],
    schema: Mapping[str, Any],
    path: str,
    old: Any,
    errors: list[FieldError],
    root: bool,
) -> None:
    shown = path or "<root>"
    for key in schema.get("required", []):
        if key not in value:
            errors.append(FieldError(_join(path, key), "Required value"))
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        errors.append(
            FieldError(
                shown,
                "Too many",
                f"must have at most {schema['maxProperties']} items",
                len(value),
            )
        )
    props = schema.get("properties", {})
    additional = schema.get("additionalProperties")
    old_map = old if isinstance(old, Mapping) else {}
    for key, child in value.items():
        if key in props:
            sub = props[key]
        elif isinstance(additional, Mapping):
            sub = additional
        else:
            continue
        _validate(child, sub, _join(path, key), old_map.get(key, _MISSING), errors)


def _validate_cel(
    value: Any, schema: Mapping[str, Any], path: str, old: Any, errors: list[FieldError]
) -> None:
    for rule in schema.get("x-kubernetes-validations", []):
        text = rule["rule"]
        if celrules.is_transition_rule(text):
            if old is _MISSING:
                continue
            ok = celrules.holds(text, value, old)
        else:
            ok = celrules.holds(text, value)
        if ok:
            continue
        where = path
        if rule.get("fieldPath"):
            where = path + rule["fieldPath"] if path != "<root>" else rule["fieldPath"][1:]
        kind = "Forbidden" if rule.get("reason") == "FieldValueForbidden" else "Invalid value"
        message = rule.get("message") or f"failed rule: {text}"
        if kind == "Forbidden":
            errors.append(FieldError(where, kind, message))
        else:
            errors.append(FieldError(where, kind, message, _type_name(value)))
