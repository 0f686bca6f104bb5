"""The floor: the provider chain's minimal AWS calls for N objects, made by a bare script.

No Kubernetes, no reads beyond what the chain needs (the private DNS challenge comes back in
the endpoint service's create answer), no status: what any tool would have to call at least.
The objects are spread over ``workers`` threads (each walks one object's chain in order), as
the operator spreads its passes over its thread pool.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..testing.aws import AwsEmulator
from ..testing.world import World

# The chain's write calls for one PrivateLinkService with a given certificate, static IP
# targets and private DNS (counted once; bench/README.md lists them).
FLOOR_WRITES = (
    ("elbv2", "CreateLoadBalancer"),
    ("elbv2", "CreateTargetGroup"),
    ("elbv2", "RegisterTargets"),
    ("elbv2", "CreateListener"),
    ("ec2", "CreateVpcEndpointServiceConfiguration"),
    ("ec2", "ModifyVpcEndpointServicePermissions"),
    ("route53", "ChangeResourceRecordSets"),
    ("ec2", "StartVpcEndpointServicePrivateDnsVerification"),
)


@dataclass
class FloorResult:
    n: int
    seconds: float
    calls: Counter[str] = field(default_factory=Counter)

    @property
    def writes(self) -> int:
        return sum(self.calls.values())


def _chain(world: World, emulator: AwsEmulator, i: int, certificate_arn: str, domain: str) -> None:
    elbv2 = emulator.client("elbv2")
    ec2 = emulator.client("ec2")
    route53 = emulator.client("route53")
    tags = [{"Key": "bench", "Value": "floor"}]
    name = f"floor-{i}"
    lb = elbv2.create_load_balancer(
        Name=name,
        Subnets=list(world.provider.subnet_ids),
        Scheme="internal",
        Type="network",
        Tags=tags,
    )["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elbv2.create_target_group(
        Name=name,
        Protocol="TLS",
        Port=8443,
        VpcId=world.provider.vpc_id,
        TargetType="ip",
        Tags=tags,
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(
        TargetGroupArn=tg, Targets=[{"Id": "10.0.1.10", "Port": 8443}, {"Id": "10.0.2.20"}]
    )
    elbv2.create_listener(
        LoadBalancerArn=lb,
        Protocol="TLS",
        Port=443,
        Certificates=[{"CertificateArn": certificate_arn}],
        SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        AlpnPolicy=["HTTP2Preferred"],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
        Tags=tags,
    )
    dns_name = f"{name}.{domain}"
    service: dict[str, Any] = ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[lb],
        AcceptanceRequired=True,
        PrivateDnsName=dns_name,
        TagSpecifications=[{"ResourceType": "vpc-endpoint-service", "Tags": tags}],
        ClientToken=f"floor-{i}-{time.time_ns()}",
    )["ServiceConfiguration"]
    service_id = service["ServiceId"]
    ec2.modify_vpc_endpoint_service_permissions(
        ServiceId=service_id, AddAllowedPrincipals=["arn:aws:iam::222222222222:root"]
    )
    challenge = service.get("PrivateDnsNameConfiguration") or {}
    route53.change_resource_record_sets(
        HostedZoneId=world.zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": f"{challenge.get('Name', '_x')}.{dns_name}",
                        "Type": "TXT",
                        "TTL": 1800,
                        "ResourceRecords": [{"Value": f'"{challenge.get("Value", "x")}"'}],
                    },
                }
            ]
        },
    )
    ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=service_id)


def run_floor(
    world: World,
    certificate_arn: str,
    n: int,
    *,
    domain: str = "vpce.example.com",
    workers: int = 6,
) -> FloorResult:
    """Time the chain for ``n`` objects; the calls are counted from the emulator's log."""
    emulator = world.emulator
    for service in ("elbv2", "ec2", "route53"):
        emulator.client(service)  # create the clients outside the timed part
    mark = emulator.calls.mark()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(_chain, world, emulator, i, certificate_arn, domain) for i in range(n)
        ]
        for future in futures:
            future.result()
    seconds = time.perf_counter() - started
    calls = Counter(f"{c.service}:{c.action}" for c in emulator.calls.all(since=mark))
    return FloorResult(n, seconds, calls)
