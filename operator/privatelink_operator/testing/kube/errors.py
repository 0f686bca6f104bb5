"""API errors answered as ``metav1.Status`` objects, worded as kube-apiserver words them."""

from __future__ import annotations

from typing import Any


class StatusError(Exception):
    """An error that the server answers with a ``Status`` body and the given HTTP code."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def as_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            status["details"] = self.details
        return status


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, group: str, name: str) -> StatusError:
    return StatusError(
        404,
        "NotFound",
        f'{_qualified(resource, group)} "{name}" not found',
        details={"name": name, "group": group, "kind": resource}
        if group
        else {"name": name, "kind": resource},
    )


def already_exists(resource: str, group: str, name: str) -> StatusError:
    details: dict[str, Any] = {"name": name, "kind": resource}
    if group:
        details["group"] = group
    return StatusError(
        409,
        "AlreadyExists",
        f'{_qualified(resource, group)} "{name}" already exists',
        details=details,
    )


def conflict(resource: str, group: str, name: str) -> StatusError:
    details: dict[str, Any] = {"name": name, "kind": resource}
    if group:
        details["group"] = group
    return StatusError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": '
        "the object has been modified; please apply your changes to the latest version "
        "and try again",
        details=details,
    )


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def method_not_allowed() -> StatusError:
    return StatusError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
    )


def invalid(
    kind: str,
    group: str,
    name: str,
    causes: list[tuple[str, str, str]],
) -> StatusError:
    """422 Invalid; ``causes`` are ``(field, type, detail)`` as in field.Error."""
    qualified = f"{kind}.{group}" if group else kind
    parts = [
        f"{field}: {type_}: {detail}" if detail else f"{field}: {type_}"
        for field, type_, detail in causes
    ]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "causes": [
            {
                "reason": _cause_reason(type_),
                "message": f"{type_}: {detail}" if detail else type_,
                "field": field,
            }
            for field, type_, detail in causes
        ],
    }
    if group:
        details["group"] = group
    return StatusError(
        422, "Invalid", f'{qualified} "{name}" is invalid: {summary}', details=details
    )


_CAUSE_REASONS = {
    "Required value": "FieldValueRequired",
    "Invalid value": "FieldValueInvalid",
    "Unsupported value": "FieldValueNotSupported",
    "Forbidden": "FieldValueForbidden",
    "Duplicate value": "FieldValueDuplicate",
    "Too long": "FieldValueTooLong",
    "Too many": "FieldValueTooMany",
    "Not found": "FieldValueNotFound",
    "Internal error": "InternalError",
    "Invalid type": "FieldValueTypeInvalid",
}


def _cause_reason(type_: str) -> str:
    return _CAUSE_REASONS.get(type_, "FieldValueInvalid")


def cause_reason(type_: str) -> str:
    """The ``causes[].reason`` that kube-apiserver uses for a field.Error type string."""
    return _cause_reason(type_)
