"""Pure: a PrivateLinkService spec (plus cluster facts) -> the AWS resources it should have."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..api import PrivateLinkServiceSpec
from ..ownership import (
    ROLE_CERTIFICATE,
    ROLE_ENDPOINT_SERVICE,
    ROLE_LISTENER,
    ROLE_LOAD_BALANCER,
    ROLE_TARGET_GROUP,
    Owner,
    short_hash,
)

ALPN_NONE = "None"


@dataclass(frozen=True, order=True)
class Target:
    id: str
    port: int
    availability_zone: str | None = None


@dataclass(frozen=True)
class Certificate:
    domain: str
    requested: bool
    arn: str | None  # the given ARN; None while a requested certificate does not exist yet
    tags: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class LoadBalancer:
    name: str
    subnets: frozenset[str]
    security_groups: tuple[str, ...] | None
    tags: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class TargetGroup:
    name: str
    protocol: str
    port: int
    target_type: str
    vpc_id: str | None
    health_check: Mapping[str, Any]
    proxy_protocol_v2: bool
    tags: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Listener:
    port: int
    ssl_policy: str
    alpn_policy: str
    tags: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class EndpointService:
    acceptance_required: bool
    private_dns_name: str | None
    ip_address_types: frozenset[str]
    regions: frozenset[str]
    principals: frozenset[str]
    auto_accept_accounts: frozenset[str]
    allowed_accounts: frozenset[str]
    tags: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Dns:
    mode: str
    hosted_zone_id: str | None


@dataclass(frozen=True)
class DesiredService:
    owner: Owner
    certificate: Certificate
    load_balancer: LoadBalancer
    target_group: TargetGroup
    targets: frozenset[Target]
    listener: Listener
    endpoint_service: EndpointService
    dns: Dns
    targets_known: bool = True  # False while the Service's endpoints could not be read


def principal_account(principal: str) -> str | None:
    """The account id of an IAM principal ARN (arn:aws:iam::ACCOUNT:...)."""
    parts = principal.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[2] == "iam" and parts[4].isdigit():
        return parts[4]
    return None


def health_check_params(spec: PrivateLinkServiceSpec) -> dict[str, Any]:
    """ELBv2 target group health-check parameters, as CreateTargetGroup/ModifyTargetGroup take."""
    hc = spec.backend.health_check
    if hc is None:
        return {"HealthCheckProtocol": "TCP", "HealthCheckPort": "traffic-port"}
    params: dict[str, Any] = {
        "HealthCheckProtocol": hc.protocol,
        "HealthCheckPort": str(hc.port) if hc.port else "traffic-port",
        "HealthCheckIntervalSeconds": hc.interval_seconds,
        "HealthCheckTimeoutSeconds": hc.timeout_seconds,
        "HealthyThresholdCount": hc.healthy_threshold,
        "UnhealthyThresholdCount": hc.unhealthy_threshold,
    }
    if hc.protocol != "TCP" and hc.path:
        params["HealthCheckPath"] = hc.path
    return params


def desired_service(
    spec: PrivateLinkServiceSpec,
    owner: Owner,
    vpc_id: str | None,
    endpoint_targets: Iterable[Target] | None = None,
) -> DesiredService:
    """What AWS should hold for ``spec``.

    ``vpc_id`` is the subnets' VPC (a fact read from AWS); ``endpoint_targets`` are the ready
    addresses of ``backend.serviceRef`` (None when they could not be read: targets are then
    left as they are rather than emptied).
    """
    extra = dict(spec.tags)
    backend = spec.backend
    if backend.service_ref is not None:
        targets = frozenset(endpoint_targets or ())
        targets_known = endpoint_targets is not None
    else:
        targets = frozenset(
            Target(t.id, t.port or backend.port, t.availability_zone) for t in backend.targets
        )
        targets_known = True
    # The target group's name changes with what AWS cannot modify in place, so a change of
    # protocol, port, type or VPC creates a new group that replaces the old one.
    tg_suffix = short_hash(backend.protocol, backend.port, backend.target_type, vpc_id)
    es = spec.endpoint_service
    domain = spec.private_dns_name or ""
    return DesiredService(
        owner=owner,
        certificate=Certificate(
            domain=domain,
            requested=spec.listener.request_certificate,
            arn=spec.listener.certificate_arn,
            tags=owner.tags(ROLE_CERTIFICATE, extra),
        ),
        load_balancer=LoadBalancer(
            name=owner.elb_name(),
            subnets=frozenset(spec.subnet_ids),
            security_groups=(
                tuple(sorted(spec.security_group_ids))
                if spec.security_group_ids is not None
                else None
            ),
            tags=owner.tags(ROLE_LOAD_BALANCER, extra),
        ),
        target_group=TargetGroup(
            name=owner.elb_name(tg_suffix),
            protocol=backend.protocol,
            port=backend.port,
            target_type=backend.target_type,
            vpc_id=vpc_id,
            health_check=health_check_params(spec),
            proxy_protocol_v2=backend.proxy_protocol_v2,
            tags=owner.tags(ROLE_TARGET_GROUP, extra),
        ),
        targets=targets,
        listener=Listener(
            port=spec.listener.port,
            ssl_policy=spec.listener.ssl_policy,
            alpn_policy=spec.listener.alpn_policy,
            tags=owner.tags(ROLE_LISTENER, extra),
        ),
        endpoint_service=EndpointService(
            acceptance_required=es.acceptance_required,
            private_dns_name=spec.private_dns_name,
            ip_address_types=frozenset(es.supported_ip_address_types),
            regions=frozenset(es.supported_regions),
            principals=frozenset(es.allowed_principals),
            auto_accept_accounts=frozenset(
                a for a in map(principal_account, es.auto_accept_principals) if a
            ),
            allowed_accounts=frozenset(
                a for a in map(principal_account, es.allowed_principals) if a
            ),
            tags=owner.tags(ROLE_ENDPOINT_SERVICE, extra),
        ),
        dns=Dns(mode=spec.dns.mode, hosted_zone_id=spec.dns.hosted_zone_id),
        targets_known=targets_known,
    )
