"""Helpers of the reliability tests: fleets of objects, and an AWS scan.

A :class:`Fleet` is N objects of one kind in one cluster (applied, awaited, deleted together).
:func:`scan` lists everything in both accounts that carries the ownership tag of a cluster, the
way an auditor would (describe everything, keep what is tagged), so tests can prove "exactly
one of each resource per object" and "nothing no object explains" (no twins, no orphans).
"""

from __future__ import annotations

import copy
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from privatelink_operator.api import PrivateLinkServiceSpec
from privatelink_operator.aws import AwsClients
from privatelink_operator.ownership import TAG_CLUSTER, TAG_ROLE, TAG_UID, Owner, tag_dict
from privatelink_operator.provider.reconcile import Outcome, reconcile_service
from privatelink_operator.testing.aws import CONSUMER_ACCOUNT, PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.kube.server import KubeEmulator
from privatelink_operator.testing.world import World

API_VERSION = "privatelink.operator.dev/v1alpha1"
PLS_KIND = "PrivateLinkService"
PLE_KIND = "PrivateLinkEndpoint"
PROVIDER_NS = "payments"
CONSUMER_NS = "checkout"
DOMAIN = "vpce.example.com"
CONSUMER_ROOT = f"arn:aws:iam::{CONSUMER_ACCOUNT}:root"
CLUSTER = "default"

# Roles the provider chain creates per object with a given certificate, and the consumer's.
PLS_ROLES = ("endpoint-service", "listener", "load-balancer", "target-group")
PLE_ROLES = ("endpoint",)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, "") or default)


def eventually(check: Callable[[], Any], timeout: float, what: Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what()}")
        time.sleep(0.25)


def condition(obj: Mapping[str, Any] | None, type_: str) -> dict[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return {}


def is_ready(obj: Mapping[str, Any] | None) -> bool:
    if not obj:
        return False
    status = obj.get("status") or {}
    return condition(obj, "Ready").get("status") == "True" and status.get(
        "observedGeneration"
    ) == obj["metadata"].get("generation")


# -- in-process passes ------------------------------------------------------------------------


@dataclass
class Passes:
    aws: AwsClients
    owner: Owner
    status: dict[str, Any] = field(default_factory=dict)
    generation: int = 0

    def run(self, spec: Mapping[str, Any], passes: int = 6) -> Outcome:
        """Passes of one generation until it stalls or settles."""
        self.generation += 1
        model = PrivateLinkServiceSpec.model_validate(dict(spec))
        for _ in range(passes):
            outcome = reconcile_service(
                self.aws, self.owner, model, self.status, self.generation, now=datetime.now(UTC)
            )
            self.status = merge(self.status, outcome.status)
            if outcome.plan.stall is not None or (not outcome.plan.steps and not outcome.requeue):
                return outcome
        return outcome


def merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# -- specs -------------------------------------------------------------------------------------


def host(index: int) -> str:
    return f"svc{index}.{DOMAIN}"


def pls_spec(world: World, certificate_arn: str, index: int) -> dict[str, Any]:
    return {
        "privateDnsName": host(index),
        "subnetIds": list(world.provider.subnet_ids),
        "listener": {"certificateArn": certificate_arn},
        "backend": {"protocol": "TLS", "port": 8443, "targets": [{"id": "10.0.1.10"}]},
        "endpointService": {
            "acceptanceRequired": False,
            "allowedPrincipals": [CONSUMER_ROOT],
        },
        "dns": {"hostedZoneId": world.zone_id},
    }


def ple_spec(world: World, service_name: str) -> dict[str, Any]:
    return {
        "serviceName": service_name,
        "vpcId": world.consumer.vpc_id,
        "subnetIds": list(world.consumer.subnet_ids),
        "privateDnsEnabled": False,
        "probe": {"enabled": False},
    }


@dataclass
class Fleet:
    """N objects of one kind in one namespace of one cluster."""

    kube: KubeEmulator
    kind: str
    namespace: str
    names: list[str] = field(default_factory=list)

    def apply(self, name: str, spec: Mapping[str, Any], **metadata: Any) -> dict[str, Any]:
        body = {
            "apiVersion": API_VERSION,
            "kind": self.kind,
            "metadata": {"name": name, "namespace": self.namespace, **metadata},
            "spec": dict(spec),
        }
        self.names.append(name)
        return self.kube.create(body)

    def get(self, name: str) -> dict[str, Any] | None:
        return self.kube.get_or_none(API_VERSION, self.kind, name, namespace=self.namespace)

    def objects(self) -> list[dict[str, Any]]:
        return self.kube.list(API_VERSION, self.kind, namespace=self.namespace)

    def uids(self) -> dict[str, str]:
        return {o["metadata"]["uid"]: o["metadata"]["name"] for o in self.objects()}

    def not_ready(self) -> list[str]:
        return [n for n in self.names if not is_ready(self.get(n))]

    def wait_ready(self, timeout: float, log: Callable[[], str] = lambda: "") -> float:
        started = time.monotonic()

        def what() -> str:
            missing = self.not_ready()
            sample = {n: (self.get(n) or {}).get("status") for n in missing[:2]}
            return f"{len(missing)} not Ready: {missing}; e.g. {sample}\n{log()[-3000:]}"

        eventually(lambda: not self.not_ready(), timeout, what)
        return time.monotonic() - started

    def delete_all(self) -> None:
        for name in list(self.names):
            if self.get(name) is not None:
                self.kube.delete(API_VERSION, self.kind, name, namespace=self.namespace)

    def wait_gone(self, timeout: float, log: Callable[[], str] = lambda: "") -> float:
        started = time.monotonic()

        def what() -> str:
            left = [o["metadata"]["name"] for o in self.objects()]
            return f"{len(left)} objects still there: {left}\n{log()[-3000:]}"

        eventually(lambda: not self.objects(), timeout, what)
        self.names.clear()
        return time.monotonic() - started


# -- what AWS holds ----------------------------------------------------------------------------


@dataclass
class Scan:
    """Resources carrying ``TAG_CLUSTER == cluster``: uid -> role -> ids."""

    by_uid: dict[str, dict[str, list[str]]]

    def roles(self, uid: str) -> Counter[str]:
        return Counter({role: len(ids) for role, ids in self.by_uid.get(uid, {}).items()})

    def unexplained(self, uids: set[str]) -> dict[str, dict[str, list[str]]]:
        return {uid: roles for uid, roles in self.by_uid.items() if uid not in uids}

    def total(self) -> int:
        return sum(len(ids) for roles in self.by_uid.values() for ids in roles.values())


def _elb_tags(elbv2: Any, arns: list[str]) -> dict[str, dict[str, str]]:
    tags: dict[str, dict[str, str]] = {}
    for start in range(0, len(arns), 20):
        for d in elbv2.describe_tags(ResourceArns=arns[start : start + 20])["TagDescriptions"]:
            tags[d["ResourceArn"]] = tag_dict(d.get("Tags", []))
    return tags


def scan(emulator: AwsEmulator, cluster: str = CLUSTER) -> Scan:
    """Everything tagged for ``cluster`` in both accounts (deleted/deleting ones left out)."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))

    def keep(tags: Mapping[str, str], ident: str) -> None:
        if tags.get(TAG_CLUSTER) == cluster:
            found[tags.get(TAG_UID, "?")][tags.get(TAG_ROLE, "?")].append(ident)

    for account in (PROVIDER_ACCOUNT, CONSUMER_ACCOUNT):
        elbv2 = emulator.client("elbv2", account)
        ec2 = emulator.client("ec2", account)
        acm = emulator.client("acm", account)
        lbs = [lb["LoadBalancerArn"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]]
        tgs = [tg["TargetGroupArn"] for tg in elbv2.describe_target_groups()["TargetGroups"]]
        listeners = [
            x["ListenerArn"]
            for lb in lbs
            for x in elbv2.describe_listeners(LoadBalancerArn=lb)["Listeners"]
        ]
        for arn, tags in _elb_tags(elbv2, lbs + tgs + listeners).items():
            keep(tags, arn)
        for svc in ec2.describe_vpc_endpoint_service_configurations()["ServiceConfigurations"]:
            if svc.get("ServiceState", "").lower() not in ("deleted", "deleting"):
                keep(tag_dict(svc.get("Tags", [])), svc["ServiceId"])
        for ep in ec2.describe_vpc_endpoints()["VpcEndpoints"]:
            if ep.get("State", "").lower() not in ("deleted", "deleting"):
                keep(tag_dict(ep.get("Tags", [])), ep["VpcEndpointId"])
        for sg in ec2.describe_security_groups()["SecurityGroups"]:
            keep(tag_dict(sg.get("Tags", [])), sg["GroupId"])
        for cert in acm.list_certificates()["CertificateSummaryList"]:
            arn = cert["CertificateArn"]
            keep(tag_dict(acm.list_tags_for_certificate(CertificateArn=arn)["Tags"]), arn)
    return Scan({uid: dict(roles) for uid, roles in found.items()})


def txt_challenges(world: World) -> list[str]:
    """Names of the ``vpce:`` ownership TXT records in the world's zone."""
    records = world.client("route53").list_resource_record_sets(HostedZoneId=world.zone_id)
    return [
        r["Name"].rstrip(".")
        for r in records["ResourceRecordSets"]
        if r["Type"] == "TXT"
        and any(v["Value"].strip('"').startswith("vpce:") for v in r.get("ResourceRecords", []))
    ]


def assert_one_of_each(found: Scan, fleet: Fleet, roles: tuple[str, ...]) -> None:
    uids = fleet.uids()
    problems = {
        uids[uid]: dict(found.roles(uid))
        for uid in uids
        if found.roles(uid) != Counter(dict.fromkeys(roles, 1))
    }
    assert not problems, f"objects without exactly one of each {roles}: {problems}"
