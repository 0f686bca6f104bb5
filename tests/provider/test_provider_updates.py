"""Each spec change makes exactly the AWS write calls it needs, and a second pass makes none.

The reconciler runs in-process (``reconcile_service``) against the faithful AWS emulator; the
emulator's call log counts the calls. Each case starts from a converged object (``before``),
applies one change (``after``, a JSON merge patch of the spec: ``None`` removes a field, so it
comes back with its schema default) and counts the writes until the object converges again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from provider_helpers import (
    CONSUMER_ACCOUNT,
    CONSUMER_ROOT,
    OTHER_ROOT,
    Pass,
    condition,
    listener_of,
    merge,
    spec_dict,
)

from privatelink_operator.testing.aws import AwsEmulator
from privatelink_operator.testing.aws.faults import FaultRule
from privatelink_operator.testing.world import World

Check = Callable[[World, dict[str, Any]], None]


@dataclass(frozen=True)
class Change:
    id: str
    after: dict[str, Any]
    writes: dict[str, int]
    before: dict[str, Any] = field(default_factory=dict)
    check: Check | None = None


def _listener(world: World, status: dict[str, Any]) -> dict[str, Any]:
    return listener_of(world, status["loadBalancerArn"])


def alpn_is(*policy: str) -> Check:
    def check(world: World, status: dict[str, Any]) -> None:
        assert _listener(world, status).get("AlpnPolicy") == list(policy)

    return check


def ssl_policy_is(name: str) -> Check:
    def check(world: World, status: dict[str, Any]) -> None:
        assert _listener(world, status)["SslPolicy"] == name

    return check


def principals_are(*principals: str) -> Check:
    def check(world: World, status: dict[str, Any]) -> None:
        answer = world.client("ec2").describe_vpc_endpoint_service_permissions(
            ServiceId=status["serviceId"]
        )
        assert sorted(p["Principal"] for p in answer["AllowedPrincipals"]) == sorted(principals)

    return check


def _service(world: World, status: dict[str, Any]) -> dict[str, Any]:
    configs = world.client("ec2").describe_vpc_endpoint_service_configurations(
        ServiceIds=[status["serviceId"]]
    )
    found: dict[str, Any] = configs["ServiceConfigurations"][0]
    return found


def acceptance_is(required: bool) -> Check:
    def check(world: World, status: dict[str, Any]) -> None:
        assert _service(world, status)["AcceptanceRequired"] is required

    return check


def regions_are(*regions: str) -> Check:
    def check(world: World, status: dict[str, Any]) -> None:
        found = _service(world, status).get("SupportedRegions") or []
        assert sorted(r["Region"] for r in found) == sorted(regions)

    return check


def targets_are(*targets: str) -> Check:
    def check(world: World, status: dict[str, Any]) -> None:
        health = world.client("elbv2").describe_target_health(
            TargetGroupArn=status["targetGroupArn"]
        )
        found = sorted(
            f"{d['Target']['Id']}:{d['Target']['Port']}" for d in health["TargetHealthDescriptions"]
        )
        assert found == sorted(targets)

    return check


def proxy_protocol_is(value: str) -> Check:
    def check(world: World, status: dict[str, Any]) -> None:
        attrs = world.client("elbv2").describe_target_group_attributes(
            TargetGroupArn=status["targetGroupArn"]
        )["Attributes"]
        assert {a["Key"]: a["Value"] for a in attrs}["proxy_protocol_v2.enabled"] == value

    return check


def health_check_is(**expected: Any) -> Check:
    def check(world: World, status: dict[str, Any]) -> None:
        tg = world.client("elbv2").describe_target_groups(
            TargetGroupArns=[status["targetGroupArn"]]
        )["TargetGroups"][0]
        assert {k: tg.get(k) for k in expected} == expected

    return check


def tags_everywhere(expected: dict[str, str], gone: tuple[str, ...]) -> Check:
    def check(world: World, status: dict[str, Any]) -> None:
        elbv2 = world.client("elbv2")
        listener = _listener(world, status)["ListenerArn"]
        arns = [status["loadBalancerArn"], status["targetGroupArn"], listener]
        for desc in elbv2.describe_tags(ResourceArns=arns)["TagDescriptions"]:
            tags = {t["Key"]: t["Value"] for t in desc["Tags"]}
            assert {k: tags.get(k) for k in expected} == expected, desc["ResourceArn"]
            assert not set(gone) & set(tags), desc["ResourceArn"]
        service_tags = {t["Key"]: t["Value"] for t in _service(world, status)["Tags"]}
        assert {k: service_tags.get(k) for k in expected} == expected
        assert not set(gone) & set(service_tags)

    return check


def target_group_port_is(port: int) -> Check:
    def check(world: World, status: dict[str, Any]) -> None:
        elbv2 = world.client("elbv2")
        tg = elbv2.describe_target_groups(TargetGroupArns=[status["targetGroupArn"]])[
            "TargetGroups"
        ][0]
        assert tg["Port"] == port
        forward = _listener(world, status)["DefaultActions"][0]["TargetGroupArn"]
        assert forward == status["targetGroupArn"]
        assert len(elbv2.describe_target_groups()["TargetGroups"]) == 1, "old group left behind"

    return check


def listener_port_is(port: int) -> Check:
    def check(world: World, status: dict[str, Any]) -> None:
        assert _listener(world, status)["Port"] == port

    return check


CHANGES = [
    Change(
        "alpn-policy-changed",
        {"listener": {"alpnPolicy": "HTTP2Only"}},
        {"ModifyListener": 1},
        check=alpn_is("HTTP2Only"),
    ),
    Change(
        "alpn-policy-removed-goes-back-to-http2-preferred",
        {"listener": {"alpnPolicy": None}},
        {"ModifyListener": 1},
        before={"listener": {"alpnPolicy": "HTTP1Only"}},
        check=alpn_is("HTTP2Preferred"),
    ),
    Change(
        "alpn-policy-none-turns-alpn-off",
        {"listener": {"alpnPolicy": "None"}},
        {"ModifyListener": 1},
        check=alpn_is("None"),
    ),
    Change(
        "ssl-policy-changed",
        {"listener": {"sslPolicy": "ELBSecurityPolicy-TLS13-1-3-2021-06"}},
        {"ModifyListener": 1},
        check=ssl_policy_is("ELBSecurityPolicy-TLS13-1-3-2021-06"),
    ),
    Change(
        "listener-port-changed",
        {"listener": {"port": 8443}},
        {"ModifyListener": 1},
        check=listener_port_is(8443),
    ),
    Change(
        "principal-added",
        {"endpointService": {"allowedPrincipals": [CONSUMER_ROOT, OTHER_ROOT]}},
        {"ModifyVpcEndpointServicePermissions": 1},
        check=principals_are(CONSUMER_ROOT, OTHER_ROOT),
    ),
    Change(
        "principal-removed",
        {"endpointService": {"allowedPrincipals": [OTHER_ROOT], "autoAcceptPrincipals": []}},
        {"ModifyVpcEndpointServicePermissions": 1},
        before={"endpointService": {"allowedPrincipals": [CONSUMER_ROOT, OTHER_ROOT]}},
        check=principals_are(OTHER_ROOT),
    ),
    Change(
        "principals-reordered-is-no-change",
        {"endpointService": {"allowedPrincipals": [OTHER_ROOT, CONSUMER_ROOT]}},
        {},
        before={"endpointService": {"allowedPrincipals": [CONSUMER_ROOT, OTHER_ROOT]}},
    ),
    Change(
        "auto-accept-changed-without-pending-connections",
        {"endpointService": {"autoAcceptPrincipals": []}},
        {},
    ),
    Change(
        "acceptance-required-turned-off",
        {"endpointService": {"acceptanceRequired": False}},
        {"ModifyVpcEndpointServiceConfiguration": 1},
        check=acceptance_is(False),
    ),
    Change(
        "supported-region-added",
        {"endpointService": {"supportedRegions": ["us-west-2"]}},
        {"ModifyVpcEndpointServiceConfiguration": 1},
        check=regions_are("us-west-2"),
    ),
    Change(
        "tags-changed-added-and-removed",
        {"tags": {"team": "checkout", "cost-center": None, "env": "prod"}},
        # Per resource: NLB, target group, listener (ELBv2), endpoint service (EC2).
        {"AddTags": 3, "RemoveTags": 3, "CreateTags": 1, "DeleteTags": 1},
        check=tags_everywhere({"team": "checkout", "env": "prod"}, ("cost-center",)),
    ),
    Change(
        "tags-reordered-is-no-change",
        {"tags": {"cost-center": "42", "team": "payments"}},
        {},
    ),
    Change(
        "target-added",
        {"backend": {"targets": [{"id": "10.0.1.10"}, {"id": "10.0.2.20"}, {"id": "10.0.1.30"}]}},
        {"RegisterTargets": 1},
        check=targets_are("10.0.1.10:8443", "10.0.2.20:8443", "10.0.1.30:8443"),
    ),
    Change(
        "target-removed",
        {"backend": {"targets": [{"id": "10.0.2.20"}]}},
        {"DeregisterTargets": 1},
        check=targets_are("10.0.2.20:8443"),
    ),
    Change(
        "target-port-override-replaces-one-target",
        {"backend": {"targets": [{"id": "10.0.1.10", "port": 9443}, {"id": "10.0.2.20"}]}},
        {"DeregisterTargets": 1, "RegisterTargets": 1},
        check=targets_are("10.0.1.10:9443", "10.0.2.20:8443"),
    ),
    Change(
        "targets-reordered-is-no-change",
        {"backend": {"targets": [{"id": "10.0.2.20"}, {"id": "10.0.1.10"}]}},
        {},
    ),
    Change(
        "proxy-protocol-v2-enabled",
        {"backend": {"proxyProtocolV2": True}},
        {"ModifyTargetGroupAttributes": 1},
        check=proxy_protocol_is("true"),
    ),
    Change(
        "health-check-changed",
        {"backend": {"healthCheck": {"protocol": "HTTPS", "path": "/healthz"}}},
        {"ModifyTargetGroup": 1},
        check=health_check_is(HealthCheckProtocol="HTTPS", HealthCheckPath="/healthz"),
    ),
    Change(
        "backend-port-changed-replaces-the-target-group",
        {"backend": {"port": 9443}},
        {"CreateTargetGroup": 1, "RegisterTargets": 1, "ModifyListener": 1, "DeleteTargetGroup": 1},
        check=target_group_port_is(9443),
    ),
]


@pytest.mark.parametrize("change", CHANGES, ids=[c.id for c in CHANGES])
def test_each_spec_change_makes_exactly_its_write_calls_and_then_none(
    passes: Pass, world: World, imported_certificate: str, change: Change
) -> None:
    before = merge(spec_dict(world, imported_certificate), change.before)
    ready = passes.converge(before)
    assert condition(passes.status, "Ready")["status"] == "True", ready.plan.to_text()

    after = merge(before, change.after)
    writes = passes.writes_of(after)

    assert writes == Counter(change.writes), passes.outcomes[-1].plan.to_text()
    assert condition(passes.status, "Ready")["status"] == "True"
    mark = passes.emulator.calls.mark()
    again = passes.once(after)
    assert not again.plan.steps, again.plan.to_text()
    assert passes.emulator.calls.writes(since=mark) == []
    if change.check is not None:
        change.check(world, passes.status)


def test_a_pass_without_any_change_makes_no_write_calls(
    passes: Pass, world: World, imported_certificate: str
) -> None:
    spec = spec_dict(world, imported_certificate)
    passes.converge(spec)
    mark = passes.emulator.calls.mark()

    for _ in range(3):
        outcome = passes.once(spec)
        assert outcome.plan.to_text() == "no changes"

    assert passes.emulator.calls.writes(since=mark) == []
    assert passes.emulator.calls.all(since=mark), "the passes read AWS"


def test_tags_change_on_a_requested_certificate_retags_it_too(passes: Pass, world: World) -> None:
    before = spec_dict(world)  # listener.requestCertificate: true
    passes.converge(before)
    assert condition(passes.status, "Ready")["status"] == "True"

    writes = passes.writes_of(merge(before, {"tags": {"team": "checkout", "cost-center": None}}))

    assert writes == Counter(
        {
            "AddTags": 3,
            "RemoveTags": 3,
            "CreateTags": 1,
            "DeleteTags": 1,
            "AddTagsToCertificate": 1,
            "RemoveTagsFromCertificate": 1,
        }
    )
    tags = world.client("acm").list_tags_for_certificate(
        CertificateArn=passes.status["certificateArn"]
    )["Tags"]
    assert {t["Key"]: t.get("Value") for t in tags}.get("team") == "checkout"
    assert "cost-center" not in {t["Key"] for t in tags}


def test_replacing_the_target_group_is_announced_in_plan_status_and_events(
    passes: Pass, world: World, imported_certificate: str
) -> None:
    before = spec_dict(world, imported_certificate)
    passes.converge(before)
    old_group = passes.status["targetGroupArn"]

    outcome = passes.once(merge(before, {"backend": {"port": 9443}}), generation=2)

    steps = [(s.action, s.resource, s.operation) for s in outcome.plan.steps]
    assert steps == [
        ("replace", "target-group", "create_target_group"),
        ("register", "targets", "register_targets"),
        ("modify", "listener", "modify_listener"),
        ("delete", "target-group", "delete_target_group"),
    ]
    assert "replace" in outcome.plan.to_text()
    ready = condition(passes.status, "LoadBalancerReady")
    assert (ready["status"], ready["reason"]) == ("False", "Replacing")
    assert "replacing target-group" in ready["message"]
    assert passes.status["targetGroupArn"] != old_group
    reasons = [reason for _, reason, _ in outcome.events]
    assert reasons == ["Replaced", "Registered", "Modified", "Deleted"]


def test_adding_an_auto_accept_principal_accepts_its_pending_connection_and_nothing_else(
    passes: Pass, world: World, imported_certificate: str
) -> None:
    before = spec_dict(world, imported_certificate, endpointService={"autoAcceptPrincipals": []})
    passes.converge(before)
    consumer = world.client("ec2", CONSUMER_ACCOUNT)
    endpoint = consumer.create_vpc_endpoint(
        VpcEndpointType="Interface",
        VpcId=world.consumer.vpc_id,
        SubnetIds=world.consumer.subnet_ids,
        ServiceName=passes.status["serviceName"],
        PrivateDnsEnabled=False,
    )["VpcEndpoint"]["VpcEndpointId"]

    def state() -> str:
        found = consumer.describe_vpc_endpoints(VpcEndpointIds=[endpoint])["VpcEndpoints"]
        return str(found[0]["State"]).lower()

    assert passes.writes_of(before) == Counter(), "not auto-accepted: left pending"
    assert state() == "pendingacceptance"
    assert [c["state"] for c in passes.status["connections"]] == ["pendingAcceptance"]

    after = merge(before, {"endpointService": {"autoAcceptPrincipals": [CONSUMER_ROOT]}})
    assert passes.writes_of(after) == Counter({"AcceptVpcEndpointConnections": 1})
    assert state() in ("pending", "available")


def test_accepting_a_consumers_connection_does_not_flap_ready(
    passes: Pass, world: World, imported_certificate: str
) -> None:
    """A new consumer is the service at work, not a change: Ready stays True while accepting."""
    spec = spec_dict(world, imported_certificate)
    passes.converge(spec)
    assert condition(passes.status, "Ready")["status"] == "True"
    world.client("ec2", CONSUMER_ACCOUNT).create_vpc_endpoint(
        VpcEndpointType="Interface",
        VpcId=world.consumer.vpc_id,
        SubnetIds=world.consumer.subnet_ids,
        ServiceName=passes.status["serviceName"],
        PrivateDnsEnabled=False,
    )
    outcome = passes.once(spec)
    assert [d.step.operation for d in outcome.done] == ["accept_vpc_endpoint_connections"]
    assert condition(passes.status, "Ready")["status"] == "True"
    assert condition(passes.status, "EndpointServiceAvailable")["status"] == "True"


def test_access_denied_stalls_but_retries_once_the_iam_policy_is_fixed(
    passes: Pass, world: World, imported_certificate: str, aws_emulator: AwsEmulator
) -> None:
    """AccessDenied is fixed in IAM, not in the spec: the next pass tries again by itself."""
    spec = spec_dict(world, imported_certificate)
    passes.generation = 1
    denied = FaultRule.error(
        "elbv2", "CreateLoadBalancer", "AccessDenied", status=403, message="not allowed"
    )
    with aws_emulator.faults.active(denied):
        outcome = passes.once(spec)
        assert outcome.plan.stall is not None and outcome.plan.stall.reason == "AccessDenied"
        assert "deploy/iam-policy.json" in outcome.plan.stall.message
        assert passes.status.get("stalledGeneration") is None
    outcome = passes.converge(spec)
    assert outcome.plan.stall is None
    assert condition(passes.status, "Ready")["status"] == "True"
