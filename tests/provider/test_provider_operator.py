"""The real operator (a kopf process) against both emulators: apply, drift, delete, ownership.

Each test starts its own Kubernetes emulator and operator process (``--drift-period 2``); the
AWS emulator is shared and reset between tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from provider_helpers import (
    CONSUMER_ROOT,
    DNS_NAME,
    Cluster,
    eventually,
    listener_of,
    owned_resources,
    spec_dict,
)

from privatelink_operator.ownership import Owner
from privatelink_operator.testing.aws import CONSUMER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.operator import OperatorProcess
from privatelink_operator.testing.world import World

DRIFT_PERIOD = 2.0
OperatorFactory = Callable[..., OperatorProcess]


def start_operator(
    operator_factory: OperatorFactory, cluster: Cluster, env: dict[str, str], **kwargs: Any
) -> OperatorProcess:
    return operator_factory(cluster.kube, env, drift_period=DRIFT_PERIOD, **kwargs)


def assert_provider_chain(world: World, status: dict[str, Any], certificate_arn: str) -> None:
    """What a person would check in the console after Ready=True."""
    elbv2 = world.client("elbv2")
    lb = elbv2.describe_load_balancers(LoadBalancerArns=[status["loadBalancerArn"]])[
        "LoadBalancers"
    ][0]
    assert (lb["Type"], lb["Scheme"], lb["State"]["Code"]) == ("network", "internal", "active")
    assert sorted(z["SubnetId"] for z in lb["AvailabilityZones"]) == sorted(
        world.provider.subnet_ids
    )
    tg = elbv2.describe_target_groups(TargetGroupArns=[status["targetGroupArn"]])["TargetGroups"][0]
    assert (tg["Protocol"], tg["Port"], tg["TargetType"]) == ("TLS", 8443, "ip")
    health = elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
    assert sorted(d["Target"]["Id"] for d in health["TargetHealthDescriptions"]) == [
        "10.0.1.10",
        "10.0.2.20",
    ]
    listener = listener_of(world, lb["LoadBalancerArn"])
    assert listener["ListenerArn"] == status["listenerArn"]
    assert (listener["Protocol"], listener["Port"]) == ("TLS", 443)
    assert listener["Certificates"][0]["CertificateArn"] == certificate_arn
    assert listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert listener["AlpnPolicy"] == ["HTTP2Preferred"]
    assert listener["DefaultActions"][0]["TargetGroupArn"] == tg["TargetGroupArn"]
    ec2 = world.client("ec2")
    service = ec2.describe_vpc_endpoint_service_configurations(ServiceIds=[status["serviceId"]])[
        "ServiceConfigurations"
    ][0]
    assert service["ServiceState"].lower() == "available"
    assert service["NetworkLoadBalancerArns"] == [lb["LoadBalancerArn"]]
    assert service["AcceptanceRequired"] is True
    assert service["PrivateDnsName"] == DNS_NAME
    challenge = service["PrivateDnsNameConfiguration"]
    assert challenge["State"] == "verified"
    assert status["serviceName"] == service["ServiceName"]
    permissions = ec2.describe_vpc_endpoint_service_permissions(ServiceId=service["ServiceId"])
    assert [p["Principal"] for p in permissions["AllowedPrincipals"]] == [CONSUMER_ROOT]
    txt_name = f"{challenge['Name']}.{DNS_NAME}"
    records = world.client("route53").list_resource_record_sets(
        HostedZoneId=world.zone_id, StartRecordName=txt_name, StartRecordType="TXT", MaxItems="1"
    )["ResourceRecordSets"]
    assert records[0]["Name"].rstrip(".") == txt_name
    assert records[0]["ResourceRecords"] == [{"Value": f'"{challenge["Value"]}"'}]
    dns = status["privateDns"]
    assert dns["state"] == "verified"
    assert dns["txtRecord"] == {"name": txt_name, "value": challenge["Value"]}
    assert status["certificateArn"] == certificate_arn
    for type_, reason in (
        ("Ready", "Ready"),
        ("LoadBalancerReady", "Active"),
        ("EndpointServiceAvailable", "Available"),
        ("DnsVerified", "Verified"),
    ):
        cond = next(c for c in status["conditions"] if c["type"] == type_)
        assert (cond["status"], cond["reason"]) == ("True", reason)
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert stalled["status"] == "False"


# -- 1. apply -> Ready -------------------------------------------------------------------------


def test_applying_with_a_given_certificate_becomes_ready_with_the_whole_chain_in_aws(
    cluster: Cluster,
    world: World,
    provider_env: dict[str, str],
    operator_factory: OperatorFactory,
    imported_certificate: str,
) -> None:
    operator = start_operator(operator_factory, cluster, provider_env)
    cluster.apply(spec_dict(world, imported_certificate))

    status = cluster.wait_ready(timeout=30, operator=operator)

    assert_provider_chain(world, status, imported_certificate)
    uid = (cluster.get() or {})["metadata"]["uid"]
    owned = owned_resources(world, uid)
    assert owned.certificates == [], "a given certificate is the user's, not tagged as ours"
    reasons = {e["reason"] for e in cluster.events()}
    assert {"Created", "Registered", "Published", "VerificationStarted"} <= reasons


def test_a_spec_change_is_acted_on_at_once_not_at_the_next_drift_check(
    cluster: Cluster,
    world: World,
    provider_env: dict[str, str],
    operator_factory: OperatorFactory,
    imported_certificate: str,
) -> None:
    operator = operator_factory(cluster.kube, provider_env, drift_period=600.0)
    cluster.apply(spec_dict(world, imported_certificate))
    status = cluster.wait_ready(timeout=30, operator=operator)
    other = "arn:aws:iam::333333333333:root"

    cluster.patch_spec({"endpointService": {"allowedPrincipals": [CONSUMER_ROOT, other]}})

    ec2 = world.client("ec2")

    def allowed() -> bool | None:
        answer = ec2.describe_vpc_endpoint_service_permissions(ServiceId=status["serviceId"])
        found = sorted(p["Principal"] for p in answer["AllowedPrincipals"])
        return True if found == sorted([CONSUMER_ROOT, other]) else None

    eventually(allowed, 15, "the new principal allowed well before the drift check (600 s)")
    cluster.wait_ready(timeout=15, operator=operator)  # observedGeneration: the new one
    # The daemon is woken by the generation: kopf keeps no copy of the spec on the object.
    annotations = (cluster.get() or {})["metadata"].get("annotations") or {}
    assert not [key for key in annotations if key.endswith("last-handled-configuration")]


def test_applying_with_a_requested_certificate_validates_it_and_becomes_ready(
    cluster: Cluster,
    world: World,
    provider_env: dict[str, str],
    operator_factory: OperatorFactory,
) -> None:
    operator = start_operator(operator_factory, cluster, provider_env)
    cluster.apply(spec_dict(world))  # listener.requestCertificate: true

    status = cluster.wait_ready(timeout=30, operator=operator)

    cert = world.client("acm").describe_certificate(CertificateArn=status["certificateArn"])[
        "Certificate"
    ]
    assert (cert["DomainName"], cert["Status"]) == (DNS_NAME, "ISSUED")
    assert_provider_chain(world, status, status["certificateArn"])
    owned = owned_resources(world, (cluster.get() or {})["metadata"]["uid"])
    assert owned.certificates == [status["certificateArn"]]
    assert len(owned.validation_records) == 1


# -- 3. drift -----------------------------------------------------------------------------------


def test_console_drift_of_alpn_principals_and_targets_is_put_back_within_a_drift_period(
    cluster: Cluster,
    world: World,
    provider_env: dict[str, str],
    operator_factory: OperatorFactory,
    imported_certificate: str,
) -> None:
    operator = start_operator(operator_factory, cluster, provider_env)
    cluster.apply(spec_dict(world, imported_certificate))
    status = cluster.wait_ready(timeout=30, operator=operator)
    elbv2, ec2 = world.client("elbv2"), world.client("ec2")
    intruder = "arn:aws:iam::444444444444:root"

    # Someone in the console: ALPN to HTTP1Only, an extra principal, one target gone, one added.
    elbv2.modify_listener(ListenerArn=status["listenerArn"], AlpnPolicy=["HTTP1Only"])
    ec2.modify_vpc_endpoint_service_permissions(
        ServiceId=status["serviceId"], AddAllowedPrincipals=[intruder]
    )
    tg = status["targetGroupArn"]
    elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "10.0.1.10", "Port": 8443}])
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "10.0.1.99", "Port": 8443}])

    def put_back() -> bool:
        alpn = listener_of(world, status["loadBalancerArn"]).get("AlpnPolicy")
        principals = [
            p["Principal"]
            for p in ec2.describe_vpc_endpoint_service_permissions(ServiceId=status["serviceId"])[
                "AllowedPrincipals"
            ]
        ]
        targets = sorted(
            d["Target"]["Id"]
            for d in elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        )
        return (
            alpn == ["HTTP2Preferred"]
            and principals == [CONSUMER_ROOT]
            and targets == ["10.0.1.10", "10.0.2.20"]
        )

    # One drift period, plus the time of a pass and of the operator's loop.
    eventually(put_back, timeout=DRIFT_PERIOD + 4, message="the drift to be put back")

    def drift_events() -> list[str]:
        return [e["message"] for e in cluster.events() if e["reason"] == "DriftCorrected"]

    messages = eventually(lambda: len(drift_events()) >= 4 and drift_events(), 5, "Events")
    assert any("listener" in m and "ALPN HTTP1Only -> HTTP2Preferred" in m for m in messages)
    assert any("permissions" in m and intruder in m for m in messages)
    assert any("targets" in m and "10.0.1.99" in m for m in messages)
    assert any("targets" in m and "10.0.1.10" in m for m in messages)


# -- 5. delete ----------------------------------------------------------------------------------


def _connect_consumer(world: World, service_name: str) -> str:
    """An interface endpoint from the consumer account, as its owner would create it."""
    ec2 = world.client("ec2", CONSUMER_ACCOUNT)
    endpoint = ec2.create_vpc_endpoint(
        VpcEndpointType="Interface",
        VpcId=world.consumer.vpc_id,
        SubnetIds=world.consumer.subnet_ids,
        ServiceName=service_name,
        PrivateDnsEnabled=False,
    )["VpcEndpoint"]
    endpoint_id: str = endpoint["VpcEndpointId"]
    return endpoint_id


def _endpoint_state(world: World, endpoint_id: str) -> str:
    ec2 = world.client("ec2", CONSUMER_ACCOUNT)
    found = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"]
    return str(found[0]["State"]) if found else "gone"


def test_deleting_removes_everything_tagged_for_the_object_even_with_a_connected_endpoint(
    cluster: Cluster,
    world: World,
    provider_env: dict[str, str],
    operator_factory: OperatorFactory,
) -> None:
    operator = start_operator(operator_factory, cluster, provider_env)
    cluster.apply(spec_dict(world))  # requested certificate: the operator owns it too
    status = cluster.wait_ready(timeout=30, operator=operator)
    uid = (cluster.get() or {})["metadata"]["uid"]
    endpoint_id = _connect_consumer(world, status["serviceName"])
    eventually(
        lambda: _endpoint_state(world, endpoint_id).lower() == "available",
        timeout=DRIFT_PERIOD + 6,
        message="the consumer's endpoint to be accepted by the operator",
    )
    eventually(
        lambda: (
            [c["endpointId"] for c in cluster.status().get("connections") or []] == [endpoint_id]
        ),
        timeout=DRIFT_PERIOD + 4,
        message="status.connections to list the endpoint",
    )
    before = owned_resources(world, uid)
    assert before.counts() == dict.fromkeys(before.counts(), 1)
    mark = world.emulator.calls.mark()

    cluster.delete()
    cluster.wait_gone(timeout=30)

    after = owned_resources(world, uid)
    assert after.empty, after.counts()
    assert _endpoint_state(world, endpoint_id).lower() in ("rejected", "gone")
    writes = [c for c in world.emulator.calls.writes(since=mark) if c.status == 200]
    assert [c.action for c in writes] == [
        "ChangeResourceRecordSets",  # the TXT ownership record, known only with the service
        "RejectVpcEndpointConnections",
        "DeleteVpcEndpointServiceConfigurations",
        "DeleteListener",
        "DeleteLoadBalancer",
        "DeleteTargetGroup",
        "ChangeResourceRecordSets",  # the certificate's validation CNAME
        "DeleteCertificate",
    ]
    deleted = [e["message"] for e in cluster.events() if e["reason"] == "Deleted"]
    assert len(deleted) == 7, deleted


def test_retain_deletion_policy_leaves_every_aws_resource_and_says_so(
    cluster: Cluster,
    world: World,
    provider_env: dict[str, str],
    operator_factory: OperatorFactory,
    aws_emulator: AwsEmulator,
) -> None:
    operator = start_operator(operator_factory, cluster, provider_env)
    cluster.apply(spec_dict(world, deletionPolicy="Retain"))
    cluster.wait_ready(timeout=30, operator=operator)
    uid = (cluster.get() or {})["metadata"]["uid"]
    before = owned_resources(world, uid)
    mark = aws_emulator.calls.mark()

    cluster.delete()
    cluster.wait_gone(timeout=20)

    assert aws_emulator.calls.writes(since=mark) == []
    after = owned_resources(world, uid)
    assert after.counts() == before.counts() == dict.fromkeys(before.counts(), 1)
    retained = [e for e in cluster.events() if e["reason"] == "Retained"]
    assert retained and "left in place" in retained[0]["message"]


# -- 6. ownership -------------------------------------------------------------------------------


@pytest.mark.parametrize("tags", ["untagged", "another-cluster"])
def test_a_load_balancer_with_our_name_but_not_our_tags_is_never_touched(
    cluster: Cluster,
    world: World,
    provider_env: dict[str, str],
    operator_factory: OperatorFactory,
    imported_certificate: str,
    aws_emulator: AwsEmulator,
    tags: str,
) -> None:
    obj = cluster.apply(spec_dict(world, imported_certificate))
    uid = obj["metadata"]["uid"]
    ours = Owner("default", "PrivateLinkService", cluster.namespace, cluster.name, uid)
    lb_tags = (
        []
        if tags == "untagged"
        else [
            {"Key": k, "Value": v}
            for k, v in Owner("other", "PrivateLinkService", cluster.namespace, cluster.name, uid)
            .tags("load-balancer")
            .items()
        ]
    )
    squatter = world.client("elbv2").create_load_balancer(
        Name=ours.elb_name(),
        Subnets=world.provider.subnet_ids,
        Type="network",
        Scheme="internal",
        **({"Tags": lb_tags} if lb_tags else {}),
    )["LoadBalancers"][0]
    mark = aws_emulator.calls.mark()
    operator = start_operator(operator_factory, cluster, provider_env)

    stalled = cluster.wait_condition("Stalled", "True", "NotOwned", timeout=20)

    assert squatter["LoadBalancerArn"] in stalled["message"]
    ready = cluster.condition("Ready")
    assert (ready["status"], ready["reason"]) == ("False", "NotOwned")
    # Let the operator come back at least once more (drift period), then delete the object.
    eventually(
        lambda: aws_emulator.calls.count("elbv2", "DescribeLoadBalancers", since=mark) >= 2,
        timeout=DRIFT_PERIOD + 4,
        message="a second pass",
    )
    cluster.delete()
    cluster.wait_gone(timeout=20)
    writes = aws_emulator.calls.writes(since=mark)
    assert [w.action for w in writes if w.service == "elbv2"] == [], operator.log()[-2000:]
    lbs = world.client("elbv2").describe_load_balancers()["LoadBalancers"]
    assert [lb["LoadBalancerArn"] for lb in lbs] == [squatter["LoadBalancerArn"]]
    assert (
        world.client("elbv2").describe_listeners(LoadBalancerArn=squatter["LoadBalancerArn"])[
            "Listeners"
        ]
        == []
    )


# -- bad input ----------------------------------------------------------------------------------


def test_a_subnet_that_does_not_exist_stalls_with_a_clear_message_and_no_retry_storm(
    cluster: Cluster,
    world: World,
    provider_env: dict[str, str],
    operator_factory: OperatorFactory,
    imported_certificate: str,
    aws_emulator: AwsEmulator,
) -> None:
    start_operator(operator_factory, cluster, provider_env)
    cluster.apply(spec_dict(world, imported_certificate, subnetIds=["subnet-0123456789abcdef0"]))

    stalled = cluster.wait_condition("Stalled", "True", timeout=20)

    assert "subnet-0123456789abcdef0" in stalled["message"]
    assert stalled["reason"].startswith("InvalidSubnet")
    mark = aws_emulator.calls.mark()
    time.sleep(2 * DRIFT_PERIOD)
    calls = aws_emulator.calls.all(since=mark)
    assert [c for c in calls if c.is_write] == []
    # One read per drift period, not a storm of retries.
    assert len([c for c in calls if c.action == "DescribeSubnets"]) <= 3
