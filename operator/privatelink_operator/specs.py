"""The operator's parsed specs, parsed again only when a spec changed."""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from .api import PrivateLinkEndpointSpec, PrivateLinkServiceSpec

SpecT = TypeVar("SpecT", PrivateLinkServiceSpec, PrivateLinkEndpointSpec)


class SpecCache:
    """The last spec of each object (by uid) and its model.

    Validation evaluates the CEL rules in Python (about 14 ms a spec, most of a quiet pass's
    CPU); the API server has enforced them already, and a spec changes far less often than
    passes run. A spec is compared by value, so one changed in place is parsed again.
    """

    def __init__(self) -> None:
        self._specs: dict[str, tuple[dict[str, Any], Any]] = {}

    def parsed(self, model: type[SpecT], uid: str, spec: Any) -> SpecT:
        """``model.model_validate(spec)``, or the model of an equal spec parsed before.

        Raises ValidationError like ``model_validate`` (an invalid spec is not kept).
        """
        raw = dict(spec or {})
        hit = self._specs.get(uid)
        if hit is not None and hit[0] == raw and isinstance(hit[1], model):
            kept: SpecT = hit[1]
            return kept
        parsed = model.model_validate(raw)
        self._specs[uid] = (copy.deepcopy(raw), parsed)
        return parsed

    def forget(self, uid: str) -> None:
        self._specs.pop(uid, None)
