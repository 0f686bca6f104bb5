"""Two replicas of one release (``replicaCount: 2``): kopf peering keeps one of them working.

Two real operator processes with peering (no ``--standalone``) against one Kubernetes emulator
with kopf's peering CRDs and one AWS account. Each pass counts in the replica's
``reconcile_total`` metric, and with a drift period of 2 s a working replica runs one every
2 s: the standby's count must not move while the other works, and must move again once that
one is gone.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from privatelink_operator import crdgen
from privatelink_operator.testing.aws import PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.kube.server import KubeEmulator
from privatelink_operator.testing.operator import OperatorProcess, free_port, wait_until
from privatelink_operator.testing.world import World

ROOT = Path(__file__).resolve().parents[2]
API = "privatelink.operator.dev/v1alpha1"


def passes(port: int) -> float:
    """The replica's reconcile passes so far (every kind, every outcome); -1 before it serves
    its metrics."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    except urllib.error.URLError:
        return -1.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("privatelink_operator_reconcile_total{")
    )


@pytest.mark.slow
def test_the_standby_replica_runs_no_pass_while_the_active_one_works_and_takes_over_after(
    aws_emulator: AwsEmulator,
    world: World,
    kube_emulator_factory: Callable[..., KubeEmulator],
    operator_factory: Callable[..., OperatorProcess],
) -> None:
    cluster = kube_emulator_factory("replicas", crds=tuple(crdgen.all_crds()), kopf_peering=True)
    cluster.create_kopf_peering()  # ClusterKopfPeering "default": the chart creates it
    env = aws_emulator.env(PROVIDER_ACCOUNT)
    ports = {"first": free_port(), "second": free_port()}

    def replica(name: str, priority: int) -> OperatorProcess:
        return operator_factory(
            cluster,
            env,
            "--priority",
            str(priority),
            "--metrics-port",
            str(ports[name]),
            "--metrics-host",
            "127.0.0.1",
            drift_period=2,
            standalone=False,
            name=name,
        )

    first = replica("first", 100)
    body: dict[str, Any] = yaml.safe_load((ROOT / "examples/privatelinkservice.yaml").read_text())
    body["metadata"] = {"name": "web", "namespace": "default"}
    body["spec"]["subnetIds"] = world.provider.subnet_ids
    body["spec"]["backend"] = {"protocol": "TLS", "port": 8443, "targets": [{"id": "10.0.1.10"}]}
    cluster.create(body)

    def ready() -> bool:
        obj = cluster.get(API, "PrivateLinkService", "web", namespace="default")
        conditions = (obj.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    wait_until(ready, timeout=60)
    working = passes(ports["first"])
    wait_until(lambda: passes(ports["first"]) >= working + 2, timeout=15)  # its drift checks

    second = replica("second", 200)  # a higher priority: the first one stands by
    wait_until(lambda: passes(ports["second"]) >= 2, timeout=60)
    standing_by = passes(ports["first"])
    time.sleep(6)  # three drift periods
    assert passes(ports["first"]) == standing_by, first.log()[-3000:]
    assert passes(ports["second"]) >= 4, second.log()[-3000:]
    assert "passes paused" in first.log()

    second.stop()  # it leaves the peering object as it exits: the first one works again
    wait_until(lambda: passes(ports["first"]) >= standing_by + 2, timeout=30)
    assert ready()
