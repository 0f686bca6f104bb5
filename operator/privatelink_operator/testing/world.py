"""A small AWS world for end-to-end tests and the sandbox: a provider and a consumer account.

Provider: a VPC with two subnets and a public hosted zone (example.com). Consumer: a VPC with
DNS support and hostnames enabled, and two subnets. Built through boto3 over HTTP, like any
other client of the emulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .aws import CONSUMER_ACCOUNT, PROVIDER_ACCOUNT, AwsEmulator


@dataclass
class Account:
    account_id: str
    vpc_id: str
    subnet_ids: list[str]


@dataclass
class World:
    emulator: AwsEmulator
    provider: Account
    consumer: Account
    zone_id: str
    domain: str

    def client(self, service: str, account_id: str = PROVIDER_ACCOUNT) -> Any:
        return self.emulator.client(service, account_id)


def _vpc(emulator: AwsEmulator, account: str, cidr: str) -> Account:
    ec2 = emulator.client("ec2", account)
    vpc = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr}.{i}.0/24", AvailabilityZone=az)["Subnet"][
            "SubnetId"
        ]
        for i, az in ((1, "us-east-1a"), (2, "us-east-1b"))
    ]
    return Account(account, vpc, subnets)


def build_world(emulator: AwsEmulator, domain: str = "example.com") -> World:
    provider = _vpc(emulator, PROVIDER_ACCOUNT, "10.0")
    consumer = _vpc(emulator, CONSUMER_ACCOUNT, "10.20")
    zone = emulator.client("route53", PROVIDER_ACCOUNT).create_hosted_zone(
        Name=domain, CallerReference=f"world-{domain}"
    )
    zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
    return World(emulator, provider, consumer, zone_id, domain)
