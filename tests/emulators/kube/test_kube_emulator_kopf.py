"""An unchanged kopf operator runs its whole lifecycle against the emulator."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from kopf.testing import KopfRunner

from privatelink_operator.testing.kube import KubeEmulator
from privatelink_operator.testing.kube.fixtures import point_clients_at

OPERATOR = str(Path(__file__).with_name("kopf_trivial_operator.py"))

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.dev"},
    "spec": {
        "group": "example.dev",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}


@pytest.fixture
def cluster(kube_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch) -> KubeEmulator:
    kube: KubeEmulator = kube_emulator_factory("kopf", crds=[WIDGET_CRD], kopf_peering=True)
    kube.create_kopf_peering()
    point_clients_at(kube, monkeypatch)
    return kube


def test_kopf_operator_create_status_timer_delete_with_finalizer(cluster: KubeEmulator) -> None:
    widget = {
        "apiVersion": "example.dev/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "default"},
        "spec": {"size": 3},
    }

    def get() -> dict[str, Any] | None:
        return cluster.get_or_none("example.dev/v1", "Widget", "w1", namespace="default")

    args = ["run", "--all-namespaces", "--verbose", OPERATOR]
    with KopfRunner(args, timeout=30) as runner:
        cluster.create(widget)
        # create handler: its result and the status patch land in status (a real subresource)
        obj = cluster.wait_for(
            lambda: (o := get()) and o.get("status", {}).get("created") and o, message="create"
        )
        assert obj["status"]["phase"] == "Created"
        assert obj["status"]["created"] == {"size": 3}
        assert obj["metadata"]["generation"] == 1  # status writes never bump generation
        assert "example.dev/finalizer" in obj["metadata"]["finalizers"]
        # the timer keeps patching status
        cluster.wait_for(
            lambda: (o := get()) and o.get("status", {}).get("ticks", 0) >= 3, message="timer"
        )
        # peering: kopf keeps itself alive in the ClusterKopfPeering object
        peering = cluster.get("kopf.dev/v1", "ClusterKopfPeering", "default")
        assert peering.get("status"), peering
        # delete: deletionTimestamp first; the handler runs; the finalizer goes; the object goes
        deleting = cluster.delete("example.dev/v1", "Widget", "w1", namespace="default")
        assert deleting["metadata"]["deletionTimestamp"]
        cluster.wait_for(lambda: get() is None, message="deletion")
        # kopf posts Events with generateName: each gets its own name
        events = cluster.wait_for(
            lambda: (
                (e := cluster.list("v1", "Event", namespace="default"))
                and any(x.get("reason") == "Farewell" for x in e)
                and any(x.get("reason") == "Hello" for x in e)
                and e
            ),
            message="events",
        )
        assert len({e["metadata"]["name"] for e in events}) == len(events)
        assert {e["involvedObject"]["name"] for e in events} == {"w1"}
    assert runner.exception is None, runner.output
    assert runner.exit_code == 0, runner.output
    assert "Timer 'ticking' succeeded" in runner.output
    assert "Handler 'deleted' succeeded" in runner.output
    assert os.environ["KUBECONFIG"] == cluster.kubeconfig_path
