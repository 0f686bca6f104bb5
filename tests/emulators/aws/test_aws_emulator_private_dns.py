"""Private DNS name verification depends on the TXT record really present in Route 53."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from privatelink_operator.testing.aws import CONSUMER_ACCOUNT

CONSUMER_ROOT = f"arn:aws:iam::{CONSUMER_ACCOUNT}:root"


def dns_state(world: Any, service_id: str) -> str:
    state: str = world.describe_service(service_id)["PrivateDnsNameConfiguration"]["State"]
    return state


def test_service_with_a_private_dns_name_gets_a_txt_challenge_pending_verification(
    world: Any,
) -> None:
    config = world.service(private_dns_name="vpce.example.com")
    challenge = config["PrivateDnsNameConfiguration"]
    assert challenge["State"] == "pendingVerification"
    assert challenge["Type"] == "TXT"
    assert re.fullmatch(r"_[a-z0-9]{20}", challenge["Name"])
    assert challenge["Value"].startswith("vpce:")


def test_verification_without_the_txt_record_fails(world: Any) -> None:
    config = world.service(private_dns_name="vpce.example.com")
    world.public_zone("example.com")
    world.ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=config["ServiceId"])
    assert dns_state(world, config["ServiceId"]) == "failed"


def test_verification_with_the_exact_txt_record_in_a_public_zone_succeeds(world: Any) -> None:
    config = world.service(private_dns_name="vpce.example.com")
    world.publish_txt(config, world.public_zone("example.com"), "vpce.example.com")
    world.ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=config["ServiceId"])
    assert dns_state(world, config["ServiceId"]) == "verified"


def test_txt_value_compares_case_sensitively(world: Any) -> None:
    config = world.service(private_dns_name="vpce.example.com")
    challenge = config["PrivateDnsNameConfiguration"]
    zone = world.public_zone("example.com")
    world.upsert(
        zone, f"{challenge['Name']}.vpce.example.com", "TXT", f'"{challenge["Value"].upper()}"'
    )
    world.ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=config["ServiceId"])
    assert dns_state(world, config["ServiceId"]) == "failed"


def test_txt_record_in_a_private_zone_does_not_count(world: Any) -> None:
    config = world.service(private_dns_name="vpce.example.com")
    vpc = world.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    zone = world.route53.create_hosted_zone(
        Name="example.com",
        CallerReference="private-zone",
        HostedZoneConfig={"PrivateZone": True},
        VPC={"VPCRegion": "us-east-1", "VPCId": vpc},
    )["HostedZone"]["Id"]
    world.publish_txt(config, zone, "vpce.example.com")
    world.ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=config["ServiceId"])
    assert dns_state(world, config["ServiceId"]) == "failed"


def test_verifying_the_parent_domain_covers_the_subdomain(world: Any) -> None:
    config = world.service(private_dns_name="orders.vpce.example.com")
    world.publish_txt(config, world.public_zone("example.com"), "example.com")
    world.ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=config["ServiceId"])
    assert dns_state(world, config["ServiceId"]) == "verified"


def test_verification_takes_time_when_a_delay_is_set_then_resolves(
    world: Any, aws_emulator: Any, eventually: Any
) -> None:
    aws_emulator.set_delays(dns_verification=0.3)
    config = world.service(private_dns_name="vpce.example.com")
    world.publish_txt(config, world.public_zone("example.com"), "vpce.example.com")
    world.ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=config["ServiceId"])
    assert dns_state(world, config["ServiceId"]) == "pendingVerification"
    eventually(lambda: dns_state(world, config["ServiceId"]) == "verified")


def test_failed_verification_can_be_started_again_after_publishing_the_record(
    world: Any,
) -> None:
    config = world.service(private_dns_name="vpce.example.com")
    zone = world.public_zone("example.com")
    world.ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=config["ServiceId"])
    assert dns_state(world, config["ServiceId"]) == "failed"
    world.publish_txt(config, zone, "vpce.example.com")
    world.ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=config["ServiceId"])
    assert dns_state(world, config["ServiceId"]) == "verified"


def test_changing_the_private_dns_name_needs_a_new_verification(world: Any) -> None:
    config = world.verified_service("vpce.example.com")
    assert config["PrivateDnsNameConfiguration"]["State"] == "verified"
    world.ec2.modify_vpc_endpoint_service_configuration(
        ServiceId=config["ServiceId"], PrivateDnsName="other.example.com"
    )
    changed = world.describe_service(config["ServiceId"])
    assert changed["PrivateDnsName"] == "other.example.com"
    assert changed["PrivateDnsNameConfiguration"]["State"] == "pendingVerification"
    assert (
        changed["PrivateDnsNameConfiguration"]["Name"]
        != (config["PrivateDnsNameConfiguration"]["Name"])
    )


def test_starting_verification_without_a_private_dns_name_fails(world: Any) -> None:
    config = world.service()
    with pytest.raises(ClientError):
        world.ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=config["ServiceId"])


def test_consumer_sees_the_verification_state_change_to_verified(world: Any) -> None:
    config = world.verified_service("vpce.example.com", allow=[CONSUMER_ROOT])
    detail = world.consumer_ec2.describe_vpc_endpoint_services(
        ServiceNames=[config["ServiceName"]]
    )["ServiceDetails"][0]
    assert detail["PrivateDnsNameVerificationState"] == "verified"


def test_private_dns_enabled_fails_while_the_name_is_not_verified(world: Any) -> None:
    config = world.service(private_dns_name="vpce.example.com", allow=[CONSUMER_ROOT])
    with pytest.raises(ClientError) as excinfo:
        world.endpoint(config["ServiceName"], PrivateDnsEnabled=True)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameter"
    assert "Private DNS can't be enabled because the service" in str(excinfo.value)


def test_private_dns_enabled_fails_for_a_service_without_a_private_dns_name(world: Any) -> None:
    config = world.service(allow=[CONSUMER_ROOT])
    with pytest.raises(ClientError) as excinfo:
        world.endpoint(config["ServiceName"], PrivateDnsEnabled=True)
    assert "does not provide a private DNS name" in str(excinfo.value)


def test_private_dns_enabled_needs_the_vpc_dns_attributes(world: Any) -> None:
    config = world.verified_service("vpce.example.com", allow=[CONSUMER_ROOT])
    vpc, subnets = world.consumer_network(dns_attributes=False)
    with pytest.raises(ClientError) as excinfo:
        world.consumer_ec2.create_vpc_endpoint(
            VpcEndpointType="Interface",
            VpcId=vpc,
            SubnetIds=subnets,
            ServiceName=config["ServiceName"],
            PrivateDnsEnabled=True,
        )
    assert "enableDnsHostnames" in str(excinfo.value)


def test_private_dns_enabled_works_once_verified_and_adds_the_name_to_dns_entries(
    world: Any,
) -> None:
    config = world.verified_service("vpce.example.com", acceptance=False, allow=[CONSUMER_ROOT])
    endpoint = world.endpoint(config["ServiceName"], PrivateDnsEnabled=True)
    assert endpoint["PrivateDnsEnabled"] is True
    described = world.consumer_ec2.describe_vpc_endpoints(
        VpcEndpointIds=[endpoint["VpcEndpointId"]]
    )["VpcEndpoints"][0]
    assert "vpce.example.com" in [e["DnsName"] for e in described["DnsEntries"]]


def test_private_dns_can_be_turned_on_later_only_once_the_name_is_verified(world: Any) -> None:
    config = world.service(
        private_dns_name="vpce.example.com", acceptance=False, allow=[CONSUMER_ROOT]
    )
    endpoint = world.endpoint(config["ServiceName"], PrivateDnsEnabled=False)
    with pytest.raises(ClientError) as excinfo:
        world.consumer_ec2.modify_vpc_endpoint(
            VpcEndpointId=endpoint["VpcEndpointId"], PrivateDnsEnabled=True
        )
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameter"
    world.publish_txt(config, world.public_zone("example.com"), "vpce.example.com")
    world.ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=config["ServiceId"])
    world.consumer_ec2.modify_vpc_endpoint(
        VpcEndpointId=endpoint["VpcEndpointId"], PrivateDnsEnabled=True
    )
    described = world.consumer_ec2.describe_vpc_endpoints(
        VpcEndpointIds=[endpoint["VpcEndpointId"]]
    )["VpcEndpoints"][0]
    assert described["PrivateDnsEnabled"] is True
