"""Several releases share one cluster: each serves its own objects, and no object is served twice.

Two real operator processes against one Kubernetes emulator and one AWS account: release A
watches the namespaces ``team-a*`` (a glob), release B every namespace but only objects labelled
``shard=b`` (a label selector the API server applies). Each release has its own cluster name,
so the ownership tag on every AWS resource says which release created it.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from privatelink_operator.testing.aws import PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.kube.server import KubeEmulator
from privatelink_operator.testing.operator import OperatorProcess, free_port
from privatelink_operator.testing.world import World

ROOT = Path(__file__).resolve().parents[2]
API = "privatelink.operator.dev/v1alpha1"
CLUSTER_TAG = "privatelink.operator.dev/cluster"
NAMESPACE_TAG = "privatelink.operator.dev/namespace"
NAME_TAG = "privatelink.operator.dev/name"


def load_balancers(world: World) -> list[dict[str, str]]:
    """Tags of every load balancer in the provider account."""
    elbv2 = world.client("elbv2", PROVIDER_ACCOUNT)
    arns = [lb["LoadBalancerArn"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]]
    if not arns:
        return []
    described = elbv2.describe_tags(ResourceArns=arns)["TagDescriptions"]
    return [{t["Key"]: t["Value"] for t in d["Tags"]} for d in described]


def pls(world: World, namespace: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load((ROOT / "examples/privatelinkservice.yaml").read_text())
    body["metadata"] = {"name": name, "namespace": namespace, "labels": labels}
    body["spec"]["subnetIds"] = world.provider.subnet_ids
    body["spec"]["backend"] = {"protocol": "TLS", "port": 8443, "targets": [{"id": "10.0.1.10"}]}
    return body


@pytest.mark.slow
def test_two_releases_share_a_cluster_and_never_act_on_one_object(
    aws_emulator: AwsEmulator,
    world: World,
    cluster_factory: Callable[..., KubeEmulator],
    operator_factory: Callable[..., OperatorProcess],
) -> None:
    cluster = cluster_factory("shared", namespaces=("team-a-1", "team-b", "other"))
    env = aws_emulator.env(PROVIDER_ACCOUNT)
    metrics_port = free_port()
    release_a = operator_factory(
        cluster,
        env,
        "--namespace",
        "team-a*",
        "--metrics-port",
        str(metrics_port),
        "--metrics-host",
        "127.0.0.1",
        "--log-format",
        "json",
        cluster_name="release-a",
        name="release-a",
    )
    release_b = operator_factory(
        cluster, env, "--selector", "shard=b", cluster_name="release-b", name="release-b"
    )
    # (namespace, name) -> (labels, the release that must serve it)
    objects: dict[tuple[str, str], tuple[dict[str, str], str | None]] = {
        ("team-a-1", "alpha"): ({}, "release-a"),  # A's namespace glob
        ("team-a-1", "charlie"): ({"shard": "c"}, "release-a"),  # A's, whatever its labels
        ("team-b", "bravo"): ({"shard": "b"}, "release-b"),  # B's label
        ("other", "nobody"): ({"shard": "c"}, None),  # neither release serves it
    }
    for (namespace, name), (labels, _) in objects.items():
        cluster.create(pls(world, namespace, name, labels))

    def owners() -> dict[tuple[str, str], list[str]]:
        found: dict[tuple[str, str], list[str]] = {}
        for tags in load_balancers(world):
            key = (tags.get(NAMESPACE_TAG, ""), tags.get(NAME_TAG, ""))
            found.setdefault(key, []).append(tags.get(CLUSTER_TAG, ""))
        return found

    expected = {key: [release] for key, (_, release) in objects.items() if release}
    deadline = time.monotonic() + 90
    while owners() != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # a second release acting late would show up now
    assert owners() == expected, (release_a.log()[-3000:], release_b.log()[-3000:])

    nobody = cluster.get(API, "PrivateLinkService", "nobody", namespace="other")
    assert not nobody.get("status") and not nobody["metadata"].get("finalizers")
    for (namespace, name), _ in expected.items():
        obj = cluster.get(API, "PrivateLinkService", name, namespace=namespace)
        assert obj["metadata"].get("finalizers") == ["privatelink.operator.dev/finalizer"]

    # Release A's metrics and JSON logs.
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as answer:
        exposition = answer.read().decode()
        assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    created = (
        'privatelink_operator_aws_api_calls_total{service="elbv2",'
        'operation="CreateLoadBalancer",outcome="success"} 2'
    )
    assert created in exposition
    assert 'privatelink_operator_aws_api_requests_total{service="ec2"' in exposition
    assert "privatelink_operator_aws_api_call_duration_seconds_bucket{" in exposition
    lines = [line for line in release_a.log().splitlines() if line.strip()]
    assert lines
    for line in lines:
        assert isinstance(json.loads(line), dict), line
