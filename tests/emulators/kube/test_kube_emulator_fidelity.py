"""Each test states one kube-apiserver behaviour that the emulator reproduces on the wire."""

from __future__ import annotations

import copy
import re
import threading
import time
from typing import Any

import pytest

from privatelink_operator.testing.kube import KubeEmulator, KubeHTTP

CM = "/api/v1/namespaces/default/configmaps"
WIDGETS = "/apis/example.dev/v1/namespaces/default/widgets"


def widget_crd(*, status: bool = True, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    version: dict[str, Any] = {
        "name": "v1",
        "served": True,
        "storage": True,
        "schema": {
            "openAPIV3Schema": schema
            or {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        },
        "additionalPrinterColumns": [
            {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        ],
        "selectableFields": [{"jsonPath": ".spec.color"}],
    }
    if status:
        version["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.dev"},
        "spec": {
            "group": "example.dev",
            "scope": "Namespaced",
            "names": {
                "plural": "widgets",
                "singular": "widget",
                "kind": "Widget",
                "shortNames": ["wd"],
                "categories": ["all"],
            },
            "versions": [version],
        },
    }


def widget(name: str = "w1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.dev/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": spec or {"size": 1},
    }


def configmap(name: str = "c1", labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"a": "1"}}


@pytest.fixture
def widgets(kube_emulator: KubeEmulator) -> KubeEmulator:
    kube_emulator.register_crd(widget_crd())
    return kube_emulator


# --- object metadata ---------------------------------------------------------------------------


def test_create_sets_uid_creation_timestamp_resource_version_and_generation(
    api: KubeHTTP, widgets: KubeEmulator
) -> None:
    """The API server fills uid, creationTimestamp, resourceVersion; generation=1 for CRs."""
    code, obj = api.post(WIDGETS, widget())
    assert code == 201
    meta = obj["metadata"]
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert meta["resourceVersion"].isdigit()
    assert meta["generation"] == 1
    assert meta["namespace"] == "default"
    code, cm = api.post(CM, configmap())
    assert code == 201 and "generation" not in cm["metadata"]  # ConfigMaps have no generation
    assert int(cm["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])


def test_resource_version_changes_on_every_write_but_not_on_a_noop(api: KubeHTTP) -> None:
    """resourceVersion is a cluster-wide counter; a no-op patch writes nothing and keeps it."""
    _, cm = api.post(CM, configmap())
    rv1 = cm["metadata"]["resourceVersion"]
    _, cm = api.merge(f"{CM}/c1", {"data": {"a": "2"}})
    rv2 = cm["metadata"]["resourceVersion"]
    assert int(rv2) > int(rv1)
    _, same = api.merge(f"{CM}/c1", {"data": {"a": "2"}})
    assert same["metadata"]["resourceVersion"] == rv2
    api.merge(f"{CM}/c1", {"data": {"a": "3"}})
    _, events = api.watch(f"{CM}?resourceVersion={rv2}", count=1)
    assert [(e["type"], e["object"]["data"]["a"]) for e in events] == [("MODIFIED", "3")]


def test_generation_increments_only_on_spec_changes_with_status_subresource(
    api: KubeHTTP, widgets: KubeEmulator
) -> None:
    """With a status subresource, only non-metadata non-status changes bump generation."""
    api.post(WIDGETS, widget(size=1))
    _, obj = api.merge(f"{WIDGETS}/w1", {"metadata": {"labels": {"a": "b"}}})
    assert obj["metadata"]["generation"] == 1
    _, obj = api.merge(f"{WIDGETS}/w1/status", {"status": {"phase": "Ready"}})
    assert obj["metadata"]["generation"] == 1
    _, obj = api.merge(f"{WIDGETS}/w1", {"spec": {"size": 2}})
    assert obj["metadata"]["generation"] == 2


def test_generation_counts_status_changes_without_status_subresource(
    api: KubeHTTP, kube_emulator: KubeEmulator
) -> None:
    """Without a status subresource, status is ordinary content and bumps generation."""
    kube_emulator.register_crd(widget_crd(status=False))
    api.post(WIDGETS, widget(size=1))
    _, obj = api.merge(f"{WIDGETS}/w1", {"status": {"phase": "Ready"}})
    assert obj["status"] == {"phase": "Ready"}
    assert obj["metadata"]["generation"] == 2
    code, _ = api.get(f"{WIDGETS}/w1/status")
    assert code == 404


# --- conflicts and errors ----------------------------------------------------------------------


def test_stale_resource_version_on_put_and_patch_is_409_conflict(api: KubeHTTP) -> None:
    """Optimistic concurrency: a write carrying an outdated resourceVersion is refused."""
    _, cm = api.post(CM, configmap())
    stale = copy.deepcopy(cm)
    api.merge(f"{CM}/c1", {"data": {"a": "2"}})
    code, status = api.put(f"{CM}/c1", stale)
    assert code == 409
    assert status["kind"] == "Status" and status["reason"] == "Conflict"
    assert "the object has been modified" in status["message"]
    patch = {"metadata": {"resourceVersion": stale["metadata"]["resourceVersion"]}, "data": {}}
    code, status = api.merge(f"{CM}/c1", patch)
    assert code == 409 and status["reason"] == "Conflict"


def test_put_replaces_and_custom_resources_require_resource_version(
    api: KubeHTTP, widgets: KubeEmulator
) -> None:
    """PUT replaces the object; for CRs an unconditional PUT (no resourceVersion) is 422."""
    _, obj = api.post(WIDGETS, widget(size=1, color="red"))
    obj["spec"] = {"size": 5}
    code, updated = api.put(f"{WIDGETS}/w1", obj)
    assert code == 200 and updated["spec"] == {"size": 5}
    del updated["metadata"]["resourceVersion"]
    code, status = api.put(f"{WIDGETS}/w1", updated)
    assert code == 422 and status["reason"] == "Invalid"
    assert "metadata.resourceVersion" in status["message"]
    # built-in ConfigMaps allow unconditional updates
    api.post(CM, configmap())
    code, cm = api.put(f"{CM}/c1", {**configmap(), "data": {"b": "2"}})
    assert code == 200 and cm["data"] == {"b": "2"}


def test_failed_json_patch_test_operation_is_422(api: KubeHTTP) -> None:
    """A JSON patch whose ``test`` fails is 422 Invalid (kopf relies on it for finalizers)."""
    _, cm = api.post(CM, configmap())
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "999999"},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x/y"]},
    ]
    code, status = api.jsonpatch(f"{CM}/c1", ops)
    assert code == 422 and status["reason"] == "Invalid"
    ops[0]["value"] = cm["metadata"]["resourceVersion"]
    code, patched = api.jsonpatch(f"{CM}/c1", ops)
    assert code == 200 and patched["metadata"]["finalizers"] == ["x/y"]


def test_already_exists_and_not_found_are_status_objects(api: KubeHTTP) -> None:
    """409 AlreadyExists and 404 NotFound come as metav1.Status with details."""
    api.post(CM, configmap())
    code, status = api.post(CM, configmap())
    assert code == 409
    assert status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'configmaps "c1" already exists',
        "reason": "AlreadyExists",
        "details": {"name": "c1", "kind": "configmaps"},
        "code": 409,
    }
    code, status = api.get(f"{CM}/nope")
    assert code == 404 and status["reason"] == "NotFound"
    assert status["message"] == 'configmaps "nope" not found'


def test_invalid_names_and_missing_namespaces_are_refused(api: KubeHTTP) -> None:
    """Names must be DNS subdomains (422); a namespaced object needs its namespace (404)."""
    code, status = api.post(CM, configmap("Not_Valid"))
    assert code == 422 and status["details"]["causes"][0]["field"] == "metadata.name"
    code, status = api.post("/api/v1/namespaces/ghost/configmaps", configmap())
    assert code == 404 and status["message"] == 'namespaces "ghost" not found'


def test_generate_name_gives_unique_names(api: KubeHTTP) -> None:
    """metadata.generateName: the server appends 5 random characters (kopf's Events use it)."""
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "ev-"}}
    names = {api.post(CM, body)[1]["metadata"]["name"] for _ in range(5)}
    assert len(names) == 5
    assert all(re.fullmatch(r"ev-[bcdfghjklmnpqrstvwxz2456789]{5}", n) for n in names)
    code, status = api.post(CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})
    assert code == 422 and "name or generateName is required" in status["message"]


def test_strategic_merge_patch_is_refused_for_custom_resources(
    api: KubeHTTP, widgets: KubeEmulator
) -> None:
    """CRs accept JSON and merge patches only: strategic merge is 415 (kubectl knows this)."""
    api.post(WIDGETS, widget())
    code, status = api.request(
        "PATCH",
        f"{WIDGETS}/w1",
        {"spec": {}},
        content_type="application/strategic-merge-patch+json",
    )
    assert code == 415 and status["reason"] == "UnsupportedMediaType"


def test_strategic_merge_patch_merges_lists_by_key_for_builtins(api: KubeHTTP) -> None:
    """Built-in kinds merge lists by their patchMergeKey (Service ports by port)."""
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s1"},
        "spec": {"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]},
    }
    code, created = api.post("/api/v1/namespaces/default/services", svc)
    assert code == 201 and created["spec"]["clusterIP"].startswith("10.96.")
    assert created["spec"]["ports"][0] == {
        "name": "a",
        "port": 80,
        "protocol": "TCP",
        "targetPort": 80,
    }
    patch = {"spec": {"ports": [{"port": 81, "name": "bee"}]}}
    code, patched = api.request(
        "PATCH", "/api/v1/namespaces/default/services/s1", patch,
        content_type="application/strategic-merge-patch+json",
    )  # fmt: skip
    assert code == 200
    assert [(p["name"], p["port"]) for p in patched["spec"]["ports"]] == [("a", 80), ("bee", 81)]


# --- status subresource ------------------------------------------------------------------------


def test_status_is_a_real_subresource(api: KubeHTTP, widgets: KubeEmulator) -> None:
    """Main-resource writes ignore status; /status writes change only status; create drops it."""
    body = widget(size=1)
    body["status"] = {"phase": "Forged"}
    _, obj = api.post(WIDGETS, body)
    assert "status" not in obj
    _, obj = api.merge(f"{WIDGETS}/w1", {"spec": {"size": 2}, "status": {"phase": "Ignored"}})
    assert obj["spec"]["size"] == 2 and "status" not in obj
    patch = {"spec": {"size": 3}, "metadata": {"labels": {"x": "y"}}, "status": {"phase": "Ok"}}
    _, obj = api.merge(f"{WIDGETS}/w1/status", patch)
    assert obj["status"] == {"phase": "Ok"}
    assert obj["spec"]["size"] == 2 and "labels" not in obj["metadata"]
    code, got = api.get(f"{WIDGETS}/w1/status")
    assert code == 200 and got["status"] == {"phase": "Ok"}
    got["status"] = {"phase": "Put"}
    code, put = api.put(f"{WIDGETS}/w1/status", got)
    assert code == 200 and put["status"] == {"phase": "Put"}


# --- selectors and lists -----------------------------------------------------------------------


def test_label_selectors(api: KubeHTTP) -> None:
    """labelSelector supports =, ==, !=, in, notin, existence and non-existence."""
    api.post(CM, configmap("a", {"app": "x", "tier": "web"}))
    api.post(CM, configmap("b", {"app": "y"}))
    api.post(CM, configmap("c"))

    def names(selector: str) -> list[str]:
        code, result = api.get(f"{CM}?labelSelector={selector}")
        assert code == 200, result
        return [item["metadata"]["name"] for item in result["items"]]

    assert names("app=x") == ["a"]
    assert names("app==y") == ["b"]
    assert names("app!=x") == ["b", "c"]
    assert names("app%20in%20(x,y)") == ["a", "b"]
    assert names("app%20notin%20(x)") == ["b", "c"]
    assert names("tier") == ["a"]
    assert names("!tier") == ["b", "c"]
    assert names("app=x,tier=web") == ["a"]


def test_field_selectors_and_unsupported_field_labels(api: KubeHTTP, widgets: KubeEmulator) -> None:
    """fieldSelector: metadata.name/namespace, per-kind fields, CRD selectableFields; others 400."""
    api.post(CM, configmap("a"))
    api.post(CM, configmap("b"))
    _, result = api.get("/api/v1/configmaps?fieldSelector=metadata.name%3Db")
    assert [i["metadata"]["name"] for i in result["items"]] == ["b"]
    _, result = api.get("/api/v1/configmaps?fieldSelector=metadata.namespace!%3Ddefault")
    assert result["items"] == []
    code, status = api.get(f"{CM}?fieldSelector=data.a%3D1")
    assert code == 400 and status["message"] == "field label not supported: data.a"
    api.post(WIDGETS, widget("red", color="red"))
    api.post(WIDGETS, widget("blue", color="blue"))
    _, result = api.get(f"{WIDGETS}?fieldSelector=spec.color%3Dblue")
    assert [i["metadata"]["name"] for i in result["items"]] == ["blue"]


def test_lists_have_kind_resource_version_and_paginate(api: KubeHTTP) -> None:
    """Lists are <Kind>List with metadata.resourceVersion; limit/continue paginate."""
    for n in range(5):
        api.post(CM, configmap(f"c{n}"))
    _, page = api.get(f"{CM}?limit=2")
    assert page["kind"] == "ConfigMapList" and page["apiVersion"] == "v1"
    assert page["metadata"]["resourceVersion"].isdigit()
    seen = [i["metadata"]["name"] for i in page["items"]]
    while page["metadata"].get("continue"):
        _, page = api.get(f"{CM}?limit=2&continue={page['metadata']['continue']}")
        seen += [i["metadata"]["name"] for i in page["items"]]
    assert seen == [f"c{n}" for n in range(5)]


# --- deletion ----------------------------------------------------------------------------------


def test_deletion_with_finalizers(api: KubeHTTP) -> None:
    """With finalizers, DELETE sets deletionTimestamp; the object goes when they are removed."""
    body = configmap()
    body["metadata"]["finalizers"] = ["example.dev/f"]
    api.post(CM, body)
    code, deleting = api.delete(f"{CM}/c1")
    assert code == 200 and deleting["metadata"]["deletionTimestamp"]
    assert api.get(f"{CM}/c1")[0] == 200
    code, status = api.merge(f"{CM}/c1", {"metadata": {"finalizers": ["example.dev/f", "new/f"]}})
    assert code == 422 and "no new finalizers" in status["message"]
    rv = deleting["metadata"]["resourceVersion"]
    code, _ = api.merge(f"{CM}/c1", {"metadata": {"finalizers": None}})
    assert code == 200
    assert api.get(f"{CM}/c1")[0] == 404
    _, events = api.watch(f"{CM}?resourceVersion={rv}", count=1)
    assert [e["type"] for e in events] == ["DELETED"]


def test_delete_preconditions_conflict(api: KubeHTTP) -> None:
    """DeleteOptions.preconditions that do not match are 409 Conflict."""
    api.post(CM, configmap())
    options = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "nope"}}
    code, status = api.delete(f"{CM}/c1", options)
    assert code == 409 and "Precondition failed" in status["message"]
    code, status = api.delete(f"{CM}/c1")
    assert code == 200 and status["status"] == "Success"


def test_namespace_deletion_terminates_and_removes_contents(
    api: KubeHTTP, kube_emulator: KubeEmulator
) -> None:
    """A deleted namespace is Terminating until its contents are gone; no new content meanwhile."""
    kube_emulator.create_namespace("doomed")
    body = configmap("held")
    body["metadata"]["finalizers"] = ["example.dev/f"]
    api.post("/api/v1/namespaces/doomed/configmaps", body)
    api.post("/api/v1/namespaces/doomed/configmaps", configmap("free"))
    code, ns = api.delete("/api/v1/namespaces/doomed")
    assert code == 200 and ns["status"]["phase"] == "Terminating"
    assert api.get("/api/v1/namespaces/doomed/configmaps/free")[0] == 404
    code, status = api.post("/api/v1/namespaces/doomed/configmaps", configmap("late"))
    assert code == 403 and "being terminated" in status["message"]
    api.merge("/api/v1/namespaces/doomed/configmaps/held", {"metadata": {"finalizers": None}})
    assert api.get("/api/v1/namespaces/doomed")[0] == 404


# --- watches -----------------------------------------------------------------------------------


def test_watch_is_a_json_stream_starting_with_current_objects(api: KubeHTTP) -> None:
    """Without resourceVersion, a watch sends ADDED for what exists, then changes, as JSON lines."""
    api.post(CM, configmap("a"))
    result: dict[str, Any] = {}

    def watch() -> None:
        result["watch"] = api.watch(CM, count=3)

    thread = threading.Thread(target=watch)
    thread.start()
    time.sleep(0.2)
    api.post(CM, configmap("b"))
    api.delete(f"{CM}/a")
    thread.join(10)
    content_type, events = result["watch"]
    assert content_type.startswith("application/json")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "a"),
        ("ADDED", "b"),
        ("DELETED", "a"),
    ]


def test_watch_from_resource_version_replays_only_newer_events(api: KubeHTTP) -> None:
    """A watch from resourceVersion N sees only events after N (no replay of old objects)."""
    api.post(CM, configmap("old"))
    _, listed = api.get(CM)
    api.post(CM, configmap("new"))
    rv = listed["metadata"]["resourceVersion"]
    _, events = api.watch(f"{CM}?resourceVersion={rv}", count=1)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "new")]


def test_watch_from_compacted_resource_version_is_410_gone(
    kube_emulator_factory: Any,
) -> None:
    """A resourceVersion older than the retained history gets an ERROR event with 410 Gone."""
    kube = kube_emulator_factory("small", history_size=3)
    api = KubeHTTP(kube.url)
    _, first = api.post(CM, configmap("c0"))
    for n in range(1, 6):
        api.post(CM, configmap(f"c{n}"))
    _, events = api.watch(f"{CM}?resourceVersion={first['metadata']['resourceVersion']}", count=1)
    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"


def test_watch_with_selector_sees_objects_leave_as_deleted(api: KubeHTTP) -> None:
    """When a change makes an object stop matching the selector, the watch sees DELETED."""
    _, cm = api.post(CM, configmap("a", {"app": "x"}))
    rv = cm["metadata"]["resourceVersion"]
    api.merge(f"{CM}/a", {"metadata": {"labels": {"app": "y"}}})
    api.merge(f"{CM}/a", {"metadata": {"labels": {"app": "x"}}})
    _, events = api.watch(f"{CM}?labelSelector=app%3Dx&resourceVersion={rv}", count=2)
    assert [e["type"] for e in events] == ["DELETED", "ADDED"]


def test_watch_bookmarks_and_initial_events_end(api: KubeHTTP) -> None:
    """sendInitialEvents=true&allowWatchBookmarks=true ends the initial state with a BOOKMARK."""
    api.post(CM, configmap("a"))
    _, events = api.watch(
        f"{CM}?sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan",
        count=2,
    )
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    annotations = events[1]["object"]["metadata"]["annotations"]
    assert annotations == {"k8s.io/initial-events-end": "true"}


# --- discovery and CRDs ------------------------------------------------------------------------


def test_discovery_reflects_builtins_and_registered_crds(
    api: KubeHTTP, kube_emulator: KubeEmulator
) -> None:
    """/api, /apis and group-version resource lists, including CRDs and their /status."""
    assert api.get("/api")[1]["versions"] == ["v1"]
    _, core = api.get("/api/v1")
    assert core["groupVersion"] == "v1"
    assert {"namespaces", "configmaps", "services", "events"} <= {
        r["name"] for r in core["resources"]
    }
    _, groups = api.get("/apis")
    names = {g["name"] for g in groups["groups"]}
    assert {"discovery.k8s.io", "coordination.k8s.io", "events.k8s.io"} <= names
    assert "example.dev" not in names
    kube_emulator.register_crd(widget_crd())
    _, groups = api.get("/apis")
    assert "example.dev" in {g["name"] for g in groups["groups"]}
    _, resources = api.get("/apis/example.dev/v1")
    by_name = {r["name"]: r for r in resources["resources"]}
    assert by_name["widgets"]["kind"] == "Widget" and by_name["widgets"]["namespaced"] is True
    assert by_name["widgets"]["shortNames"] == ["wd"]
    assert "widgets/status" in by_name
    _, crd = api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.dev")
    established = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert established == {"NamesAccepted": "True", "Established": "True"}


def test_deleting_a_crd_deletes_its_objects_and_its_endpoints(
    api: KubeHTTP, widgets: KubeEmulator
) -> None:
    """Deleting a CRD removes its custom resources and its discovery entries."""
    api.post(WIDGETS, widget())
    api.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.dev")
    assert api.get("/apis/example.dev/v1")[0] == 404
    assert api.get(WIDGETS)[0] == 404
    widgets.register_crd(widget_crd())
    assert api.get(WIDGETS)[1]["items"] == []


def test_several_served_versions_share_one_storage(
    api: KubeHTTP, kube_emulator: KubeEmulator
) -> None:
    """Conversion strategy None: each version serves the same objects with its apiVersion."""
    crd = widget_crd()
    v2 = copy.deepcopy(crd["spec"]["versions"][0])
    v2["name"], v2["storage"] = "v1beta1", False
    crd["spec"]["versions"].append(v2)
    kube_emulator.register_crd(crd)
    api.post(WIDGETS, widget())
    _, obj = api.get("/apis/example.dev/v1beta1/namespaces/default/widgets/w1")
    assert obj["apiVersion"] == "example.dev/v1beta1"
    _, group = api.get("/apis/example.dev")
    assert group["preferredVersion"]["version"] == "v1"


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer", "minimum": 1},
                "mode": {"type": "string", "enum": ["Fast", "Slow"], "default": "Fast"},
                "id": {
                    "type": "string",
                    "x-kubernetes-validations": [
                        {"rule": "self == oldSelf", "message": "id is immutable"}
                    ],
                },
            },
            "x-kubernetes-validations": [
                {"rule": "self.size <= 10 || self.mode == 'Slow'", "message": "big ones are slow"}
            ],
        },
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
    },
}


def test_crd_schema_defaults_prunes_and_rejects_with_422(
    api: KubeHTTP, kube_emulator: KubeEmulator
) -> None:
    """Structural schema: defaults applied, unknown fields pruned, violations 422 + field path."""
    kube_emulator.register_crd(widget_crd(schema=SCHEMA))
    code, obj = api.post(WIDGETS, widget(size=2, bogus=True, id="a"))
    assert code == 201, obj
    assert obj["spec"] == {"size": 2, "mode": "Fast", "id": "a"}
    code, status = api.post(WIDGETS, widget("w2", size=2, mode="Turbo"))
    assert code == 422 and status["reason"] == "Invalid"
    assert status["details"]["kind"] == "Widget" and status["details"]["group"] == "example.dev"
    cause = status["details"]["causes"][0]
    assert cause["field"] == "spec.mode" and cause["reason"] == "FieldValueNotSupported"
    assert status["message"].startswith('Widget.example.dev "w2" is invalid: spec.mode')
    code, status = api.post(WIDGETS, widget("w3", size=20))
    assert code == 422 and "big ones are slow" in status["message"]


def test_field_validation_strict_refuses_unknown_fields(
    api: KubeHTTP, kube_emulator: KubeEmulator
) -> None:
    """?fieldValidation=Strict (kubectl's default) is a 400 for unknown fields, not a prune."""
    kube_emulator.register_crd(widget_crd(schema=SCHEMA))
    code, status = api.post(f"{WIDGETS}?fieldValidation=Strict", widget(size=2, bogus=True))
    assert code == 400 and status["reason"] == "BadRequest"
    assert status["message"] == 'strict decoding error: unknown field "spec.bogus"'
    code, _ = api.post(f"{WIDGETS}?fieldValidation=Strict", widget(size=2))
    assert code == 201


def test_crd_transition_rules_and_status_validation(
    api: KubeHTTP, kube_emulator: KubeEmulator
) -> None:
    """Updates are checked with oldSelf (transition rules); status writes are validated too."""
    kube_emulator.register_crd(widget_crd(schema=SCHEMA))
    api.post(WIDGETS, widget(size=2, id="a"))
    code, status = api.merge(f"{WIDGETS}/w1", {"spec": {"id": "b"}})
    assert code == 422 and "id is immutable" in status["message"]
    code, status = api.merge(f"{WIDGETS}/w1/status", {"status": {"phase": 5}})
    assert code == 422 and status["details"]["causes"][0]["field"] == "status.phase"
    code, obj = api.merge(f"{WIDGETS}/w1/status", {"status": {"phase": "Ok", "junk": 1}})
    assert code == 200 and obj["status"] == {"phase": "Ok"}


def test_project_crds_are_enforced(api: KubeHTTP, kube_emulator: KubeEmulator) -> None:
    """The operator's own CRDs (crds/*.yaml) load, default and reject bad input."""
    from pathlib import Path

    from privatelink_operator.testing.kube import load_crds

    crds_dir = Path(__file__).parents[3] / "crds"
    crds = load_crds(str(crds_dir))
    if not crds:
        pytest.skip("no CRDs generated yet")
    for crd in crds:
        kube_emulator.register_crd(crd)
    path = "/apis/privatelink.operator.dev/v1alpha1/namespaces/default/privatelinkservices"
    body = {
        "apiVersion": "privatelink.operator.dev/v1alpha1",
        "kind": "PrivateLinkService",
        "metadata": {"name": "orders"},
        "spec": {
            "privateDnsName": "vpce.example.com",
            "subnetIds": ["subnet-a"],
            "listener": {"certificateArn": "arn:aws:acm:ap-northeast-1:111111111111:certificate/x",
                         "alpnPolicy": "Bogus"},
            "backend": {"port": 8443, "targets": [{"id": "10.0.1.5"}]},
        },
    }  # fmt: skip
    code, status = api.post(path, body)
    assert code == 422, status
    assert "spec.listener.alpnPolicy" in {c["field"] for c in status["details"]["causes"]}
    del body["spec"]["listener"]["alpnPolicy"]
    code, obj = api.post(path, body)
    assert code == 201, obj["message"]
    assert obj["spec"]["listener"]["alpnPolicy"] == "HTTP2Preferred"


# --- built-in kinds and independence -----------------------------------------------------------


def test_events_are_served_by_core_and_events_k8s_io(api: KubeHTTP) -> None:
    """core/v1 and events.k8s.io/v1 Events are one storage seen through two versions."""
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": "x-"},
        "involvedObject": {"kind": "Widget", "name": "w1", "namespace": "default"},
        "reason": "Hello",
        "message": "hi",
        "type": "Normal",
    }
    code, created = api.post("/api/v1/namespaces/default/events", event)
    assert code == 201
    _, listed = api.get("/apis/events.k8s.io/v1/namespaces/default/events")
    (item,) = listed["items"]
    assert item["apiVersion"] == "events.k8s.io/v1"
    assert item["regarding"]["name"] == "w1" and item["note"] == "hi"
    _, found = api.get("/api/v1/events?fieldSelector=involvedObject.name%3Dw1,reason%3DHello")
    assert [i["metadata"]["name"] for i in found["items"]] == [created["metadata"]["name"]]


def test_leases_endpointslices_and_kopf_peerings_are_usable(kube_emulator_factory: Any) -> None:
    """coordination.k8s.io Leases, discovery.k8s.io EndpointSlices, kopf.dev peerings: CRUD."""
    kube = kube_emulator_factory("peering", kopf_peering=True)
    api = KubeHTTP(kube.url)
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"},
             "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}}  # fmt: skip
    assert api.post("/apis/coordination.k8s.io/v1/namespaces/default/leases", lease)[0] == 201
    code, _ = api.merge(
        "/apis/coordination.k8s.io/v1/namespaces/default/leases/l",
        {"spec": {"holderIdentity": "you"}},
    )
    assert code == 200
    slice_ = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
              "metadata": {"name": "s-1", "labels": {"kubernetes.io/service-name": "s"}},
              "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}]}  # fmt: skip
    path = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
    assert api.post(path, slice_)[0] == 201
    _, found = api.get(f"{path}?labelSelector=kubernetes.io/service-name%3Ds")
    assert len(found["items"]) == 1
    kube.create_kopf_peering()
    code, peering = api.merge(
        "/apis/kopf.dev/v1/clusterkopfpeerings/default", {"status": {"me": {"priority": 0}}}
    )
    assert code == 200 and peering["status"] == {"me": {"priority": 0}}


def test_several_emulators_are_independent_clusters(kube_emulator_factory: Any) -> None:
    """Provider and consumer clusters share nothing and start fast."""
    started = time.monotonic()
    provider = kube_emulator_factory("provider")
    consumer = kube_emulator_factory("consumer")
    assert time.monotonic() - started < 3
    assert provider.url != consumer.url
    provider.create(configmap())
    assert consumer.get_or_none("v1", "ConfigMap", "c1", namespace="default") is None
    assert provider.get("v1", "ConfigMap", "c1", namespace="default")["data"] == {"a": "1"}


def test_stopping_leaves_no_thread_or_file_behind() -> None:
    """An emulator's thread and kubeconfig are gone once it stops."""
    import os

    before = {t.name for t in threading.enumerate()}
    with KubeEmulator(name="ephemeral") as kube:
        path = kube.kubeconfig_path
        assert os.path.exists(path)
        KubeHTTP(kube.url).post(CM, configmap())
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))
    assert {t.name for t in threading.enumerate()} <= before
