"""Helpers of the provider tests (imported by their conftest and test modules).

Two ways to run the provider reconciler against the faithful AWS emulator:

- in-process: ``reconcile_service`` called directly (``Pass``), to count the write calls of one
  change exactly (the emulator's call log is the ground truth);
- the real operator as a kopf process (``operator_factory`` of the root conftest) against the
  Kubernetes emulator, for apply/drift/delete/crash behaviour (``Cluster``).
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from privatelink_operator.api import PrivateLinkServiceSpec
from privatelink_operator.aws import AwsClients
from privatelink_operator.ownership import TAG_UID, Owner, tag_dict
from privatelink_operator.provider.reconcile import Outcome, delete_service, reconcile_service
from privatelink_operator.testing.aws import CONSUMER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.kube.server import KubeEmulator
from privatelink_operator.testing.world import World

API_VERSION = "privatelink.operator.dev/v1alpha1"
KIND = "PrivateLinkService"
NAMESPACE = "payments"
NAME = "orders"
DNS_NAME = "orders.vpce.example.com"
CONSUMER_ROOT = f"arn:aws:iam::{CONSUMER_ACCOUNT}:root"
OTHER_ROOT = "arn:aws:iam::333333333333:root"


# -- specs --------------------------------------------------------------------------------------


def merge(base: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    """JSON merge patch (RFC 7386): ``None`` removes a key, dicts merge, the rest replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in change.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def spec_dict(world: World, certificate_arn: str | None = None, **change: Any) -> dict[str, Any]:
    """A complete spec: given certificate (or a requested one), two static IP targets."""
    listener: dict[str, Any] = (
        {"certificateArn": certificate_arn} if certificate_arn else {"requestCertificate": True}
    )
    base = {
        "privateDnsName": DNS_NAME,
        "subnetIds": list(world.provider.subnet_ids),
        "listener": listener,
        "backend": {
            "protocol": "TLS",
            "port": 8443,
            "targetType": "ip",
            "targets": [{"id": "10.0.1.10"}, {"id": "10.0.2.20"}],
        },
        "endpointService": {
            "acceptanceRequired": True,
            "allowedPrincipals": [CONSUMER_ROOT],
            "autoAcceptPrincipals": [CONSUMER_ROOT],
        },
        "tags": {"team": "payments", "cost-center": "42"},
    }
    return merge(base, change)


def parse(spec: Mapping[str, Any]) -> PrivateLinkServiceSpec:
    return PrivateLinkServiceSpec.model_validate(dict(spec))


# -- in-process passes --------------------------------------------------------------------------


def apply_status(status: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """What a merge patch of ``patch`` onto ``status`` leaves (None removes), as kube does."""
    return merge(status, patch)


@dataclass
class Pass:
    """Drives ``reconcile_service`` as the operator's loop does, keeping status between passes."""

    aws: AwsClients
    emulator: AwsEmulator
    owner: Owner
    status: dict[str, Any] = field(default_factory=dict)
    generation: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    def once(self, spec: Mapping[str, Any], generation: int | None = None) -> Outcome:
        outcome = reconcile_service(
            self.aws,
            self.owner,
            parse(spec),
            self.status,
            self.generation if generation is None else generation,
            now=datetime.now(UTC),
        )
        self.status = apply_status(self.status, outcome.status)
        self.outcomes.append(outcome)
        return outcome

    def converge(self, spec: Mapping[str, Any], max_passes: int = 8) -> Outcome:
        """Passes until one plans nothing and waits for nothing (the emulator has no delays)."""
        self.generation += 1
        for _ in range(max_passes):
            outcome = self.once(spec)
            if outcome.plan.stall is not None:
                return outcome
            if not outcome.plan.steps and not outcome.plan.waits:
                return outcome
        raise AssertionError(
            f"no convergence in {max_passes} passes; last plan:\n{outcome.plan.to_text()}"
        )

    def writes_of(self, spec: Mapping[str, Any]) -> Counter[str]:
        """The write calls (action names, from the emulator's log) that converging made."""
        mark = self.emulator.calls.mark()
        self.converge(spec)
        return Counter(c.action for c in self.emulator.calls.writes(since=mark))

    def delete(self, spec: Mapping[str, Any], max_passes: int = 6) -> Outcome:
        for _ in range(max_passes):
            outcome = delete_service(self.aws, self.owner, parse(spec), self.status)
            if outcome.finished:
                return outcome
        raise AssertionError(f"deletion did not finish; last plan:\n{outcome.plan.to_text()}")


def condition(status: Mapping[str, Any], type_: str) -> dict[str, Any]:
    for cond in status.get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return {}


# -- what AWS holds -----------------------------------------------------------------------------


@dataclass
class Owned:
    """Every resource in the provider account that carries an object's ownership tags."""

    load_balancers: list[dict[str, Any]]
    target_groups: list[dict[str, Any]]
    listeners: list[dict[str, Any]]
    endpoint_services: list[dict[str, Any]]
    certificates: list[str]
    txt_records: list[dict[str, Any]]
    validation_records: list[dict[str, Any]]

    def counts(self) -> dict[str, int]:
        return {
            "load balancers": len(self.load_balancers),
            "target groups": len(self.target_groups),
            "listeners": len(self.listeners),
            "endpoint services": len(self.endpoint_services),
            "certificates": len(self.certificates),
            "TXT records": len(self.txt_records),
        }

    @property
    def empty(self) -> bool:
        return not any(self.counts().values()) and not self.validation_records


def _elb_tags(elbv2: Any, arns: list[str]) -> dict[str, dict[str, str]]:
    tags: dict[str, dict[str, str]] = {}
    for start in range(0, len(arns), 20):
        answer = elbv2.describe_tags(ResourceArns=arns[start : start + 20])
        for d in answer["TagDescriptions"]:
            tags[d["ResourceArn"]] = tag_dict(d.get("Tags", []))
    return tags


def owned_resources(world: World, uid: str, zone_id: str | None = None) -> Owned:
    """Found the way a person auditing the account would: list everything, keep our tags.

    Route 53 records cannot be tagged: the TXT records counted are those under the private DNS
    name whose value is a ``vpce:`` ownership challenge, and the ACM validation CNAMEs.
    """
    elbv2 = world.client("elbv2")
    ec2 = world.client("ec2")
    acm = world.client("acm")

    def ours(tags: Mapping[str, str]) -> bool:
        return tags.get(TAG_UID) == uid

    lbs = elbv2.describe_load_balancers().get("LoadBalancers", [])
    lb_tags = _elb_tags(elbv2, [lb["LoadBalancerArn"] for lb in lbs])
    lbs = [lb for lb in lbs if ours(lb_tags.get(lb["LoadBalancerArn"], {}))]
    tgs = elbv2.describe_target_groups().get("TargetGroups", [])
    tg_tags = _elb_tags(elbv2, [tg["TargetGroupArn"] for tg in tgs])
    tgs = [tg for tg in tgs if ours(tg_tags.get(tg["TargetGroupArn"], {}))]
    listeners: list[dict[str, Any]] = []
    for lb in lbs:
        found = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
        l_tags = _elb_tags(elbv2, [x["ListenerArn"] for x in found])
        listeners += [x for x in found if ours(l_tags.get(x["ListenerArn"], {}))]
    services = [
        s
        for s in ec2.describe_vpc_endpoint_service_configurations()["ServiceConfigurations"]
        if ours(tag_dict(s.get("Tags", [])))
        and s.get("ServiceState", "").lower() not in ("deleted", "deleting")
    ]
    certs = [
        c["CertificateArn"]
        for c in acm.list_certificates()["CertificateSummaryList"]
        if ours(tag_dict(acm.list_tags_for_certificate(CertificateArn=c["CertificateArn"])["Tags"]))
    ]
    txt: list[dict[str, Any]] = []
    cnames: list[dict[str, Any]] = []
    zone = zone_id or world.zone_id
    records = world.client("route53").list_resource_record_sets(HostedZoneId=zone)
    for record in records["ResourceRecordSets"]:
        name = record["Name"].rstrip(".")
        values = [r["Value"] for r in record.get("ResourceRecords", [])]
        challenge = any(v.strip('"').startswith("vpce:") for v in values)
        if record["Type"] == "TXT" and name.endswith(DNS_NAME) and challenge:
            txt.append(record)
        if record["Type"] == "CNAME" and name.endswith(DNS_NAME):
            cnames.append(record)
    return Owned(lbs, tgs, listeners, services, certs, txt, cnames)


def listener_of(world: World, load_balancer_arn: str) -> dict[str, Any]:
    listeners = world.client("elbv2").describe_listeners(LoadBalancerArn=load_balancer_arn)
    found: dict[str, Any] = listeners["Listeners"][0]
    return found


# -- the operator process -----------------------------------------------------------------------


def eventually(
    check: Callable[[], Any], timeout: float, message: str, interval: float = 0.1
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


@dataclass
class Cluster:
    """The provider cluster (Kubernetes emulator) seen through one PrivateLinkService."""

    kube: KubeEmulator
    name: str = NAME
    namespace: str = NAMESPACE

    def apply(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        body = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": dict(spec),
        }
        return self.kube.create(body)

    def get(self) -> dict[str, Any] | None:
        return self.kube.get_or_none(API_VERSION, KIND, self.name, namespace=self.namespace)

    def patch_spec(self, change: Mapping[str, Any]) -> dict[str, Any]:
        return self.kube.patch(
            API_VERSION, KIND, self.name, {"spec": dict(change)}, namespace=self.namespace
        )

    def delete(self) -> None:
        self.kube.delete(API_VERSION, KIND, self.name, namespace=self.namespace)

    def status(self) -> dict[str, Any]:
        obj = self.get() or {}
        return dict(obj.get("status") or {})

    def condition(self, type_: str) -> dict[str, Any]:
        return condition(self.status(), type_)

    def wait_ready(self, timeout: float = 30.0, operator: Any = None) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            obj = self.get() or {}
            status = obj.get("status") or {}
            generation = obj.get("metadata", {}).get("generation")
            cond = condition(status, "Ready")
            if cond.get("status") == "True" and status.get("observedGeneration") == generation:
                return dict(status)
            return None

        try:
            found: dict[str, Any] = eventually(ready, timeout, "Ready=True")
        except AssertionError:
            log = operator.log()[-4000:] if operator is not None else ""
            raise AssertionError(
                f"not Ready after {timeout}s; status: {self.status()}\noperator log:\n{log}"
            ) from None
        return found

    def wait_condition(
        self, type_: str, status: str, reason: str | None = None, timeout: float = 30.0
    ) -> dict[str, Any]:
        def matches() -> dict[str, Any] | None:
            cond = self.condition(type_)
            if cond.get("status") == status and (reason is None or cond.get("reason") == reason):
                return cond
            return None

        found: dict[str, Any] = eventually(
            matches, timeout, f"{type_}={status} ({reason}); status now {self.status()}"
        )
        return found

    def wait_gone(self, timeout: float = 30.0) -> None:
        eventually(lambda: self.get() is None, timeout, f"{self.name} to be deleted")

    def events(self) -> list[dict[str, Any]]:
        return [
            e
            for e in self.kube.list("v1", "Event", namespace=self.namespace)
            if e.get("involvedObject", {}).get("name") == self.name
        ]
