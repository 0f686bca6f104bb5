"""The operator parses (and CEL-checks) a spec again only when it changed.

Not through ``handlers``: importing it registers kopf handlers for the whole test session."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from privatelink_operator.api import PrivateLinkEndpointSpec, PrivateLinkServiceSpec
from privatelink_operator.specs import SpecCache

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _spec(kind: str) -> dict[str, Any]:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == kind:
                spec: dict[str, Any] = doc["spec"]
                return spec
    raise AssertionError(f"no {kind} example")


def test_the_same_spec_is_not_validated_again(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec("PrivateLinkService")
    cache = SpecCache()
    first = cache.parsed(PrivateLinkServiceSpec, "uid-1", spec)
    calls = []
    original = PrivateLinkServiceSpec.model_validate

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(PrivateLinkServiceSpec, "model_validate", counting)
    again = cache.parsed(PrivateLinkServiceSpec, "uid-1", copy.deepcopy(spec))
    assert again is first
    assert calls == []

    changed = copy.deepcopy(spec)
    changed["tags"] = {"team": "other"}
    third = cache.parsed(PrivateLinkServiceSpec, "uid-1", changed)
    assert calls == [1]
    assert third.tags == {"team": "other"}


def test_the_spec_is_kept_by_reference_the_latest_event_s_not_a_copy() -> None:
    """Each watch event brings a new body (the scheduler keeps a shared copy, never changed):
    the cache keeps the spec it was handed, and swaps to the newer equal one, so one spec an
    object is held, not the first event's as well."""
    spec = _spec("PrivateLinkService")
    cache = SpecCache()
    first_body, second_body = copy.deepcopy(spec), copy.deepcopy(spec)
    first = cache.parsed(PrivateLinkServiceSpec, "uid-2", first_body)
    assert cache._specs["uid-2"][0] is first_body
    again = cache.parsed(PrivateLinkServiceSpec, "uid-2", second_body)
    assert again is first
    assert cache._specs["uid-2"][0] is second_body


def test_an_invalid_spec_fails_every_time() -> None:
    bad = _spec("PrivateLinkEndpoint")
    bad = {**bad, "serviceName": 42}
    cache = SpecCache()
    for _ in range(2):
        with pytest.raises(ValidationError):
            cache.parsed(PrivateLinkEndpointSpec, "uid-3", bad)
