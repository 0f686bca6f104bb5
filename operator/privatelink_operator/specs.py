"""The operator's parsed specs, parsed again only when a spec changed."""

from __future__ import annotations

from typing import Any, TypeVar

from .api import PrivateLinkEndpointSpec, PrivateLinkServiceSpec

SpecT = TypeVar("SpecT", PrivateLinkServiceSpec, PrivateLinkEndpointSpec)


class SpecCache:
    """The last spec of each object (by uid) and its model.

    Validation evaluates the CEL rules in Python (about 4 ms a spec); the API server has
    enforced them already, and a spec changes far less often than passes run. A spec is
    compared by value, and kept by reference, not copied: the caller hands over the spec of a
    body that nothing changes (each watch event brings a new one).
    """

    def __init__(self) -> None:
        self._specs: dict[str, tuple[dict[str, Any], Any]] = {}

    def parsed(self, model: type[SpecT], uid: str, spec: Any) -> SpecT:
        """``model.model_validate(spec)``, or the model of an equal spec parsed before.

        Raises ValidationError like ``model_validate`` (an invalid spec is not kept).
        """
        raw = spec if isinstance(spec, dict) else dict(spec or {})
        hit = self._specs.get(uid)
        if hit is not None and (hit[0] is raw or hit[0] == raw) and isinstance(hit[1], model):
            kept: SpecT = hit[1]
            if hit[0] is not raw:
                self._specs[uid] = (raw, kept)  # the body's own: the older one can go
            return kept
        parsed = model.model_validate(raw)
        self._specs[uid] = (raw, parsed)
        return parsed

    def forget(self, uid: str) -> None:
        self._specs.pop(uid, None)
