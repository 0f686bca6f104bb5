"""The floor: the provider chain's minimal AWS calls for N objects, made by a bare script.

No Kubernetes, no reads beyond what the chain needs (the private DNS challenge comes back in
the endpoint service's create answer), no status: what any tool would have to call at least.
The objects are spread over ``workers`` threads (each walks one object's chain in order), as
the operator spreads its passes over its thread pool. With ``throttle`` (the operator's
``--aws-api-throttle`` syntax; None: the operator's defaults; ``"off"``: none) the script paces
its calls with the same client-side limits as the operator, as any script that must not be
throttled by AWS would.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..aws import RateLimiter, throttle_rules
from ..testing.aws import PROVIDER_ACCOUNT, AwsEmulator
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
    # The script's own CPU (this process: botocore building, signing, sending and parsing the
    # calls, the limiter), not the emulator's.
    cpu_seconds: float = 0.0

    @property
    def writes(self) -> int:
        return sum(self.calls.values())


def _clients(emulator: AwsEmulator, limiter: RateLimiter) -> dict[str, Any]:
    import boto3
    import botocore.config

    session = boto3.Session(
        aws_access_key_id=PROVIDER_ACCOUNT,
        aws_secret_access_key="emulated",
        region_name=emulator.region,
    )
    config = botocore.config.Config(
        retries={"mode": "adaptive", "max_attempts": 6}, max_pool_connections=32
    )
    clients = {}
    for service in ("elbv2", "ec2", "route53"):
        client = session.client(
            service,
            endpoint_url=emulator.endpoint_url,
            config=config,
        )
        client.meta.events.register("before-send", limiter.hook(service))
        clients[service] = client
    return clients


def _chain(
    world: World, clients: dict[str, Any], name: str, certificate_arn: str, domain: str
) -> None:
    elbv2, ec2, route53 = clients["elbv2"], clients["ec2"], clients["route53"]
    tags = [{"Key": "bench", "Value": "floor"}]
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
        ClientToken=f"{name}-{time.time_ns()}",
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
    throttle: str | None = None,
    prefix: str = "floor",
) -> FloorResult:
    """Time the chain for ``n`` objects; the calls are counted from the emulator's log.

    Its CPU is this process's: call it with nothing else at work in the process (the bench
    starts the Kubernetes emulator, a thread of its own, after the floor)."""
    emulator = world.emulator
    clients = _clients(emulator, RateLimiter(throttle_rules(throttle)))  # before the clock
    mark = emulator.calls.mark()
    started = time.perf_counter()
    cpu = time.process_time()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(_chain, world, clients, f"{prefix}-{i}", certificate_arn, domain)
            for i in range(n)
        ]
        for future in futures:
            future.result()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    calls = Counter(f"{c.service}:{c.action}" for c in emulator.calls.all(since=mark))
    return FloorResult(n, seconds, calls, cpu)
