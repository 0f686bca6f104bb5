"""kopf's diff base for our resources: the object's generation, kept in memory.

kopf compares, at every watch event of an object that has change handlers (ours have one: the
deletion handler), the object's "essence" with the last one it handled. Its own storages make
that essence a deep copy of the whole body (status included, then dropped), keep the last one
as JSON in an annotation on the object (``last-handled-configuration``: one more write per
object, a copy of the spec on it, parsed again at every event) and deep-copy both again to
compare them. Every status patch the operator makes comes back as such an event.

The operator has no creation or update handler: a spec change makes the object's pass due now
(``scheduler.py``) from a watch-event handler, by its ``metadata.generation``
(``handlers._spec_event``). So the only essence it needs is that generation: built without
copying the body, kept in memory by uid (an operator that restarts sees every object once as
new, which runs no handler of ours), and never written to the object.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import kopf

__all__ = ["GenerationDiffBase"]


class GenerationDiffBase(kopf.DiffBaseStorage):
    """An object's essence is ``{"metadata": {"generation": N}}``; the last one handled is kept
    here by uid, not on the object."""

    def __init__(self) -> None:
        super().__init__()
        self._handled: dict[str, kopf.BodyEssence] = {}

    def build(
        self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None
    ) -> kopf.BodyEssence:
        if extra_fields:
            # A handler filtered by field= needs those fields in the essence: kopf's own way.
            return super().build(body=body, extra_fields=extra_fields)
        generation = body.get("metadata", {}).get("generation")
        return cast(kopf.BodyEssence, {"metadata": {"generation": generation}})

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return self._handled.get(_uid(body))

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        self._handled[_uid(body)] = essence

    def forget(self, uid: str) -> None:
        """The object is gone (its DELETED event)."""
        self._handled.pop(uid, None)

    def __len__(self) -> int:
        return len(self._handled)


def _uid(body: kopf.Body) -> str:
    return str(body.get("metadata", {}).get("uid", ""))
