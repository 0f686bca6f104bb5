"""The chart's RBAC against the Kubernetes API calls the operators really make.

A provider and a consumer operator run a lifecycle that touches every kind of API object they
read or write (a PrivateLinkService fed by a Service's EndpointSlices, endpoints whose probes
read CA bundles from a ConfigMap and a Secret, Events, status, finalizers, deletion); the
Kubernetes emulator's request log gives (API group, resource, verb) of each request. Every one
must be granted by the chart's default rendering (nothing missing), and every grant must be
used (nothing extra) except the few listed with the reason why the e2e runs cannot use them.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from reliability_helpers import CONSUMER_NS, PROVIDER_NS, Fleet, eventually, ple_spec, pls_spec

from privatelink_operator.testing.aws import CONSUMER_ACCOUNT, PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.helm import run_helm
from privatelink_operator.testing.kube.server import KubeEmulator
from privatelink_operator.testing.operator import OperatorProcess
from privatelink_operator.testing.world import World

CHART = Path(__file__).resolve().parents[2] / "charts" / "privatelink-operator"

Grant = tuple[str, str, str]  # (apiGroup, resource[/subresource], verb)

# Granted but not exercised here, and why.
UNUSED_BY_DESIGN: dict[Grant, str] = {
    **{
        ("kopf.dev", resource, verb): "the e2e operators run --standalone (no peering)"
        for resource in ("kopfpeerings", "clusterkopfpeerings")
        for verb in ("get", "list", "watch", "patch")
    },
    **{
        ("", "namespaces", verb): "kopf watches namespaces only for namespace globs "
        "(watch.namespaces: [team-*]); the e2e operators serve every namespace"
        for verb in ("get", "list", "watch")
    },
}


def chart_grants() -> set[Grant]:
    result = run_helm(
        ["template", "plo", str(CHART), "--namespace", "privatelink", "--set", "clusterName=x"],
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    grants: set[Grant] = set()
    for doc in yaml.safe_load_all(result.stdout):
        if doc and doc["kind"] in ("ClusterRole", "Role"):
            for rule in doc.get("rules") or []:
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        grants.update((group, resource, verb) for verb in rule["verbs"])
    return grants


def used(cluster: KubeEmulator) -> set[Grant]:
    return {
        (r.group, f"{r.resource}/{r.subresource}" if r.subresource else r.resource, r.verb)
        for r in cluster.faults.requests()
    }


def test_the_charts_rbac_grants_exactly_the_calls_the_operators_make(
    world: World,
    aws_emulator: AwsEmulator,
    services: Fleet,
    endpoints: Fleet,
    wildcard_certificate: str,
    operator_factory: Callable[..., OperatorProcess],
) -> None:
    provider_kube, consumer_kube = services.kube, endpoints.kube
    provider_kube.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "orders", "namespace": PROVIDER_NS},
            "spec": {"ports": [{"name": "https", "port": 8443}]},
        }
    )
    provider_kube.create(
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "orders-1",
                "namespace": PROVIDER_NS,
                "labels": {"kubernetes.io/service-name": "orders"},
            },
            "addressType": "IPv4",
            "ports": [{"name": "https", "port": 8443}],
            "endpoints": [{"addresses": ["10.0.1.10"], "conditions": {"ready": True}}],
        }
    )
    ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    consumer_kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "ca", "namespace": CONSUMER_NS},
            "data": {"ca.crt": ca},
        }
    )
    consumer_kube.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "ca", "namespace": CONSUMER_NS},
            "data": {"ca.crt": base64.b64encode(ca.encode()).decode()},
        }
    )
    provider = operator_factory(provider_kube, aws_emulator.env(PROVIDER_ACCOUNT), drift_period=2)
    consumer = operator_factory(consumer_kube, aws_emulator.env(CONSUMER_ACCOUNT), drift_period=2)
    spec: dict[str, Any] = pls_spec(world, wildcard_certificate, 1)
    spec["backend"] = {"protocol": "TLS", "port": 8443, "serviceRef": {"name": "orders"}}
    services.apply("svc1", spec)
    services.wait_ready(timeout=60, log=provider.log)
    service_name = (services.get("svc1") or {})["status"]["serviceName"]
    for kind in ("ConfigMap", "Secret"):
        ple: dict[str, Any] = ple_spec(world, service_name)
        ple["privateDnsEnabled"] = True
        ple["probe"] = {
            "enabled": True,
            "caBundleRef": {"kind": kind, "name": "ca", "key": "ca.crt"},
        }
        endpoints.apply(f"ep-{kind.lower()}", ple)

    def probed() -> bool:
        return all(
            ((endpoints.get(n) or {}).get("status") or {}).get("h2") is not None
            for n in ("ep-configmap", "ep-secret")
        )

    eventually(probed, 60, lambda: f"both probes to run\n{consumer.log()[-2000:]}")
    endpoints.delete_all()
    endpoints.wait_gone(timeout=60, log=consumer.log)
    services.delete_all()
    services.wait_gone(timeout=60, log=provider.log)

    calls = used(provider_kube) | used(consumer_kube)
    grants = chart_grants()
    missing = sorted(calls - grants)
    extra = sorted(grants - calls - set(UNUSED_BY_DESIGN))
    print(f"\n{len(calls)} (group, resource, verb) used by the operators: {sorted(calls)}")
    assert missing == [], f"the operators made calls the chart does not grant: {missing}"
    assert extra == [], f"the chart grants what the operators never used: {extra}"
