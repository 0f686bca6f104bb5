"""Route 53 changes take time: ``ChangeResourceRecordSets`` answers ``PENDING`` with a unique
change id, and ``GetChange`` reports ``INSYNC`` once the ``dns_change`` delay has passed (moto:
always ``INSYNC``, one fixed id for every change). Unknown change ids fail with ``NoSuchChange``.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from moto.core.responses import ActionResult
from moto.route53.responses import Route53

from ..state import STATE, now
from .core import AwsError, response_method

__all__ = ["apply"]


def _changes(backend: Any) -> dict[str, float]:
    changes: dict[str, float] = backend.__dict__.setdefault("_plo_changes", {})
    return changes


def _info(change_id: str, done_at: float, submitted: Any) -> dict[str, Any]:
    return {
        "Id": change_id,
        "Status": "INSYNC" if now() >= done_at else "PENDING",
        "SubmittedAt": submitted,
    }


def apply() -> None:
    original_change = Route53.change_resource_record_sets

    @response_method(Route53, "change_resource_record_sets")
    def change_resource_record_sets(self: Any) -> ActionResult:
        answer = original_change(self)
        result: dict[str, Any] = answer.result  # type: ignore[assignment]
        alphabet = string.ascii_uppercase + string.digits
        change_id = "/change/C" + "".join(secrets.choice(alphabet) for _ in range(20))
        done_at = now() + STATE.delays.dns_change
        _changes(self.backend)[change_id] = done_at
        result["ChangeInfo"] = _info(change_id, done_at, result["ChangeInfo"]["SubmittedAt"])
        return ActionResult(result)

    original_get = Route53.get_change

    @response_method(Route53, "get_change")
    def get_change(self: Any) -> ActionResult:
        answer = original_get(self)
        result: dict[str, Any] = answer.result  # type: ignore[assignment]
        change_id = str(result["ChangeInfo"]["Id"])
        if not change_id.startswith("/change/"):
            change_id = "/change/" + change_id
        done_at = _changes(self.backend).get(change_id)
        if done_at is None:
            raise AwsError(
                "NoSuchChange", f"A change with the specified change ID does not exist: {change_id}"
            )
        result["ChangeInfo"] = _info(change_id, done_at, result["ChangeInfo"]["SubmittedAt"])
        return ActionResult(result)
