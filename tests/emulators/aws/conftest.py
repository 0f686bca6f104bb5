"""Fixtures of the AWS emulator's own tests: the emulator, and a small two-account world."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from privatelink_operator.testing.aws import CONSUMER_ACCOUNT, PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.aws.fixtures import aws_emulator, aws_emulator_session

__all__ = ["aws_emulator", "aws_emulator_session"]


class World:
    """Provider 111111111111 and consumer 222222222222, built through boto3 over HTTP."""

    def __init__(self, emulator: AwsEmulator) -> None:
        self.emulator = emulator
        self.ec2 = emulator.client("ec2", PROVIDER_ACCOUNT)
        self.elbv2 = emulator.client("elbv2", PROVIDER_ACCOUNT)
        self.acm = emulator.client("acm", PROVIDER_ACCOUNT)
        self.route53 = emulator.client("route53", PROVIDER_ACCOUNT)
        self.consumer_ec2 = emulator.client("ec2", CONSUMER_ACCOUNT)
        self._names = 0

    def name(self, prefix: str) -> str:
        self._names += 1
        return f"{prefix}-{self._names}"

    # -- provider ---------------------------------------------------------------------------
    def provider_subnets(self) -> list[str]:
        vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        return [
            self.ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"][
                "SubnetId"
            ]
            for cidr, az in (("10.0.1.0/24", "us-east-1a"), ("10.0.2.0/24", "us-east-1b"))
        ]

    def nlb(self) -> dict[str, Any]:
        balancer: dict[str, Any] = self.elbv2.create_load_balancer(
            Name=self.name("nlb"),
            Subnets=self.provider_subnets(),
            Type="network",
            Scheme="internal",
        )["LoadBalancers"][0]
        return balancer

    def certificate(self, domain: str = "vpce.example.com") -> str:
        arn: str = self.acm.request_certificate(DomainName=domain, ValidationMethod="DNS")[
            "CertificateArn"
        ]
        return arn

    def service(
        self,
        *,
        acceptance: bool = True,
        private_dns_name: str | None = None,
        allow: list[str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "NetworkLoadBalancerArns": [self.nlb()["LoadBalancerArn"]],
            "AcceptanceRequired": acceptance,
        }
        if private_dns_name:
            kwargs["PrivateDnsName"] = private_dns_name
        if tags:
            kwargs["TagSpecifications"] = [
                {
                    "ResourceType": "vpc-endpoint-service",
                    "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                }
            ]
        config: dict[str, Any] = self.ec2.create_vpc_endpoint_service_configuration(**kwargs)[
            "ServiceConfiguration"
        ]
        if allow:
            self.ec2.modify_vpc_endpoint_service_permissions(
                ServiceId=config["ServiceId"], AddAllowedPrincipals=allow
            )
        return config

    def public_zone(self, name: str = "example.com") -> str:
        zone: str = self.route53.create_hosted_zone(Name=name, CallerReference=self.name("ref"))[
            "HostedZone"
        ]["Id"]
        return zone

    @staticmethod
    def upsert_batch(name: str, rtype: str, value: str) -> dict[str, Any]:
        record = {"Name": name, "Type": rtype, "TTL": 60, "ResourceRecords": [{"Value": value}]}
        return {"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]}

    def upsert(self, zone_id: str, name: str, rtype: str, value: str) -> dict[str, Any]:
        """UPSERT one record; returns the ChangeInfo."""
        info: dict[str, Any] = self.route53.change_resource_record_sets(
            HostedZoneId=zone_id, ChangeBatch=self.upsert_batch(name, rtype, value)
        )["ChangeInfo"]
        return info

    def publish_txt(self, config: dict[str, Any], zone_id: str, domain: str) -> None:
        challenge = config["PrivateDnsNameConfiguration"]
        self.upsert(zone_id, f"{challenge['Name']}.{domain}", "TXT", f'"{challenge["Value"]}"')

    def describe_service(self, service_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.ec2.describe_vpc_endpoint_service_configurations(
            ServiceIds=[service_id]
        )["ServiceConfigurations"][0]
        return found

    def verified_service(self, name: str = "vpce.example.com", **kwargs: Any) -> dict[str, Any]:
        config = self.service(private_dns_name=name, **kwargs)
        self.publish_txt(config, self.public_zone("example.com"), name)
        self.ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=config["ServiceId"])
        return self.describe_service(config["ServiceId"])

    # -- consumer ---------------------------------------------------------------------------
    def consumer_network(self, *, dns_attributes: bool = True) -> tuple[str, list[str]]:
        ec2 = self.consumer_ec2
        vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        if dns_attributes:
            ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
            ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnet = ec2.create_subnet(
            VpcId=vpc, CidrBlock="10.1.1.0/24", AvailabilityZone="us-east-1a"
        )
        return vpc, [subnet["Subnet"]["SubnetId"]]

    def endpoint(self, service_name: str, **kwargs: Any) -> dict[str, Any]:
        vpc, subnets = self.consumer_network()
        endpoint: dict[str, Any] = self.consumer_ec2.create_vpc_endpoint(
            VpcEndpointType="Interface",
            VpcId=vpc,
            SubnetIds=subnets,
            ServiceName=service_name,
            **kwargs,
        )["VpcEndpoint"]
        return endpoint

    def endpoint_state(self, endpoint_id: str) -> str:
        state: str = self.consumer_ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])[
            "VpcEndpoints"
        ][0]["State"]
        return state


@pytest.fixture
def world(aws_emulator: AwsEmulator) -> World:
    return World(aws_emulator)


def wait_for(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout}s")
        time.sleep(interval)


@pytest.fixture
def eventually() -> Callable[..., Any]:
    return wait_for
