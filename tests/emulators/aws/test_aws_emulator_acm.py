"""ACM: DNS validation needs the CNAME in Route 53; certificates in use cannot be deleted."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def status(world: Any, arn: str) -> str:
    value: str = world.acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"]
    return value


def publish_validation_records(world: Any, arn: str, zone_id: str) -> None:
    options = world.acm.describe_certificate(CertificateArn=arn)["Certificate"][
        "DomainValidationOptions"
    ]
    for option in options:
        record = option["ResourceRecord"]
        world.upsert(zone_id, record["Name"], record["Type"], record["Value"])


def test_requested_certificate_stays_pending_validation_without_the_cname(world: Any) -> None:
    arn = world.certificate("vpce.example.com")
    world.public_zone("example.com")
    assert status(world, arn) == "PENDING_VALIDATION"


def test_certificate_is_issued_once_its_validation_cname_is_published(world: Any) -> None:
    arn = world.certificate("vpce.example.com")
    publish_validation_records(world, arn, world.public_zone("example.com"))
    assert status(world, arn) == "ISSUED"


def test_certificate_validation_takes_at_least_the_configured_delay(
    world: Any, aws_emulator: Any, eventually: Any
) -> None:
    aws_emulator.set_delays(certificate=0.3)
    arn = world.certificate("vpce.example.com")
    publish_validation_records(world, arn, world.public_zone("example.com"))
    assert status(world, arn) == "PENDING_VALIDATION"
    eventually(lambda: status(world, arn) == "ISSUED")


def test_certificate_used_by_a_listener_cannot_be_deleted_and_reports_in_use_by(
    world: Any,
) -> None:
    nlb = world.nlb()
    arn = world.certificate()
    group = world.elbv2.create_target_group(
        Name="tg-acm", Protocol="TLS", Port=8443, VpcId=nlb["VpcId"], TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    listener = world.elbv2.create_listener(
        LoadBalancerArn=nlb["LoadBalancerArn"],
        Protocol="TLS",
        Port=443,
        Certificates=[{"CertificateArn": arn}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )["Listeners"][0]
    in_use = world.acm.describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"]
    assert in_use == [nlb["LoadBalancerArn"]]
    with pytest.raises(ClientError) as excinfo:
        world.acm.delete_certificate(CertificateArn=arn)
    assert excinfo.value.response["Error"]["Code"] == "ResourceInUseException"
    world.elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    world.acm.delete_certificate(CertificateArn=arn)
