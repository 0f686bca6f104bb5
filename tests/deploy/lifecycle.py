"""A full provider + consumer lifecycle with both real operators, recording what happened.

Create a PrivateLinkService and a PrivateLinkEndpoint, wait until both are Ready (HTTP/2
proven against a local TLS server), change what can change in place on both (tags, ALPN policy,
proxy protocol, health check, principals, acceptance, targets, CIDRs, subnets), wait for Ready
again, then delete both. Every status the test sees on the way is kept (for the kstatus and
Argo CD checks), and the AWS emulator's call log holds every AWS action both operators made.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from privatelink_operator.testing.aws import CONSUMER_ACCOUNT, PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.background import BackgroundServer
from privatelink_operator.testing.kube.server import KubeEmulator
from privatelink_operator.testing.operator import OperatorProcess
from privatelink_operator.testing.tlsserver import LocalCA
from privatelink_operator.testing.world import World

API = "privatelink.operator.dev/v1alpha1"
ROOT = Path(__file__).resolve().parents[2]
HOST = "orders.vpce.example.com"


@dataclass
class Seen:
    """Every distinct status observed, per kind, in order."""

    statuses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _keys: set[str] = field(default_factory=set)

    def add(self, obj: Mapping[str, Any] | None) -> None:
        if not obj or not obj.get("status"):
            return
        key = yaml.safe_dump(
            {"g": obj["metadata"].get("generation"), "s": obj["status"]}, sort_keys=True
        )
        if key not in self._keys:
            self._keys.add(key)
            self.statuses.append((str(obj["kind"]), copy.deepcopy(dict(obj))))


def _conditions(obj: Mapping[str, Any] | None) -> dict[str, str]:
    return {
        c["type"]: c["status"] for c in ((obj or {}).get("status") or {}).get("conditions") or ()
    }


def _ready(obj: Mapping[str, Any] | None) -> bool:
    if not obj:
        return False
    status = obj.get("status") or {}
    return _conditions(obj).get("Ready") == "True" and status.get("observedGeneration") == obj[
        "metadata"
    ].get("generation")


@dataclass
class Lifecycle:
    emulator: AwsEmulator
    world: World
    provider: KubeEmulator
    consumer: KubeEmulator
    operator_factory: Callable[..., OperatorProcess]
    seen: Seen = field(default_factory=Seen)
    operators: list[OperatorProcess] = field(default_factory=list)

    def _get(self, cluster: KubeEmulator, kind: str, namespace: str) -> dict[str, Any] | None:
        obj = cluster.get_or_none(API, kind, "orders", namespace=namespace)
        self.seen.add(obj)
        return obj

    def pls(self) -> dict[str, Any] | None:
        return self._get(self.provider, "PrivateLinkService", "payments")

    def ple(self) -> dict[str, Any] | None:
        return self._get(self.consumer, "PrivateLinkEndpoint", "checkout")

    def wait(self, what: str, predicate: Callable[[], bool], timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                logs = "\n".join(f"== {o.name}\n{o.log()[-4000:]}" for o in self.operators)
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}\n"
                    f"PLS: {(self.pls() or {}).get('status')}\n"
                    f"PLE: {(self.ple() or {}).get('status')}\n{logs}"
                )
            time.sleep(0.5)

    def both_ready(self) -> bool:
        return _ready(self.pls()) and _ready(self.ple())

    def run(self, server: BackgroundServer, ca: LocalCA) -> None:
        provider, consumer, world = self.provider, self.consumer, self.world
        provider.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "orders", "namespace": "payments"},
                "spec": {"ports": [{"name": "https", "port": 8443}]},
            }
        )
        slice_ = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "orders-1",
                "namespace": "payments",
                "labels": {"kubernetes.io/service-name": "orders"},
            },
            "addressType": "IPv4",
            "ports": [{"name": "https", "port": 8443}],
            "endpoints": [{"addresses": ["10.0.1.10"], "conditions": {"ready": True}}],
        }
        provider.create(slice_)
        consumer.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "corp-ca", "namespace": "checkout"},
                "data": {"ca.crt": ca.cert_pem},
            }
        )
        resolve = f"{HOST}:{server.port}:127.0.0.1"
        self.operators.append(
            self.operator_factory(
                provider, self.emulator.env(PROVIDER_ACCOUNT), drift_period=5, name="prov"
            )
        )
        self.operators.append(
            self.operator_factory(
                consumer,
                self.emulator.env(CONSUMER_ACCOUNT),
                "--probe-resolve",
                resolve,
                drift_period=5,
                name="cons",
            )
        )
        pls = yaml.safe_load((ROOT / "examples/privatelinkservice.yaml").read_text())
        pls["spec"]["subnetIds"] = world.provider.subnet_ids
        provider.create(pls)
        ple = yaml.safe_load((ROOT / "examples/privatelinkendpoint.yaml").read_text())
        ple["spec"].update(vpcId=world.consumer.vpc_id, subnetIds=world.consumer.subnet_ids[:1])
        ple["spec"]["probe"] = {
            "port": server.port,
            "path": "/healthz",
            "intervalSeconds": 10,
            "caBundleRef": {"name": "corp-ca"},
        }
        consumer.create(ple)
        self.wait("both Ready after create", self.both_ready, timeout=120)

        # Change everything that changes in place, on both sides.
        provider.patch(
            API,
            "PrivateLinkService",
            "orders",
            {
                "spec": {
                    "tags": {"team": None, "owner": "orders"},
                    "listener": {"alpnPolicy": "HTTP2Only"},
                    "backend": {
                        "proxyProtocolV2": True,
                        "healthCheck": {"protocol": "TCP", "intervalSeconds": 30},
                    },
                    "endpointService": {
                        "acceptanceRequired": False,
                        "allowedPrincipals": [
                            "arn:aws:iam::222222222222:root",
                            "arn:aws:iam::333333333333:root",
                        ],
                    },
                }
            },
            namespace="payments",
        )
        slice_["endpoints"] = [
            {"addresses": ["10.0.1.11"], "conditions": {"ready": True}},
        ]
        provider.patch(
            "discovery.k8s.io/v1",
            "EndpointSlice",
            "orders-1",
            {"endpoints": slice_["endpoints"]},
            namespace="payments",
        )
        consumer.patch(
            API,
            "PrivateLinkEndpoint",
            "orders",
            {
                "spec": {
                    "tags": {"team": "checkout"},
                    "allowedCidrs": ["10.30.0.0/16"],
                    "subnetIds": world.consumer.subnet_ids,
                }
            },
            namespace="checkout",
        )
        self.wait("both Ready after the update", self.both_ready, timeout=120)
        consumer.patch(
            API,
            "PrivateLinkEndpoint",
            "orders",
            {"spec": {"tags": {"team": None}}},
            namespace="checkout",
        )
        self.wait("PLE Ready after removing a tag", lambda: _ready(self.ple()), timeout=60)

        consumer.delete(API, "PrivateLinkEndpoint", "orders", namespace="checkout")
        self.wait("PLE deleted", lambda: self.ple() is None, timeout=90)
        provider.delete(API, "PrivateLinkService", "orders", namespace="payments")
        self.wait("PLS deleted", lambda: self.pls() is None, timeout=120)
