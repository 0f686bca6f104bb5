"""kopf's diff base for our resources: the generation, in memory (diffbase.py)."""

from __future__ import annotations

from typing import Any, cast

import kopf

from privatelink_operator.diffbase import GenerationDiffBase


def body(uid: str, generation: int, **extra: Any) -> kopf.Body:
    raw = {
        "apiVersion": "privatelink.operator.dev/v1alpha1",
        "kind": "PrivateLinkService",
        "metadata": {"uid": uid, "generation": generation, "annotations": {"a": "b"}},
        "spec": {"privateDnsName": "svc.example.com"},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        **extra,
    }
    return kopf.Body(cast(kopf.RawBody, raw))


def test_the_essence_is_the_generation_a_status_change_is_none_a_spec_change_is_one() -> None:
    storage = GenerationDiffBase()
    first = storage.build(body=body("u1", 1))
    after_status = storage.build(body=body("u1", 1, status={"conditions": []}))
    after_spec = storage.build(body=body("u1", 2))

    assert first == after_status
    assert first != after_spec
    assert first == {"metadata": {"generation": 1}}


def test_the_handled_essence_is_kept_in_memory_by_uid_and_not_written_to_the_object() -> None:
    storage = GenerationDiffBase()
    one, two = body("u1", 1), body("u2", 5)
    assert storage.fetch(body=one) is None  # never handled: kopf sees it as new
    patch = kopf.Patch()

    storage.store(body=one, patch=patch, essence=storage.build(body=one))
    storage.store(body=two, patch=patch, essence=storage.build(body=two))

    assert not patch  # no annotation, no write
    assert storage.fetch(body=one) == {"metadata": {"generation": 1}}
    assert storage.fetch(body=two) == {"metadata": {"generation": 5}}
    storage.forget("u1")
    assert storage.fetch(body=one) is None
    assert len(storage) == 1


def test_a_field_filter_gets_kopfs_own_essence_with_those_fields() -> None:
    essence = GenerationDiffBase().build(body=body("u1", 1), extra_fields=["status.conditions"])

    assert essence["spec"] == {"privateDnsName": "svc.example.com"}
    assert essence["status"] == {"conditions": [{"type": "Ready", "status": "True"}]}
