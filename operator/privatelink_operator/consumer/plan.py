"""Pure: what a PrivateLinkEndpoint should have in AWS, and the calls that get it there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..api import PrivateLinkEndpointSpec
from ..ownership import ROLE_ENDPOINT, ROLE_SECURITY_GROUP, Owner, tag_list
from ..provider.diff import tag_steps
from ..provider.plan import Plan, Ref, Step

SHORT = 5.0
ACCEPTANCE_POLL = 10.0
LIVE = ("pendingacceptance", "pending", "available")


@dataclass(frozen=True)
class ServiceInfo:
    """The endpoint service as this account sees it (DescribeVpcEndpointServices)."""

    name: str
    id: str | None
    private_dns_name: str | None
    verification_state: str | None
    acceptance_required: bool

    @property
    def dns_verified(self) -> bool:
        return (self.verification_state or "").lower() == "verified"


@dataclass
class ActualEndpoint:
    id: str
    state: str
    service_name: str
    vpc_id: str
    subnets: frozenset[str]
    security_groups: frozenset[str]
    private_dns_enabled: bool
    ip_address_type: str
    dns_entries: list[dict[str, Any]]
    last_error: dict[str, str] | None
    tags: dict[str, str]


@dataclass
class ActualGroup:
    id: str
    rules: frozenset[tuple[int, str]]  # (port, cidr)
    tags: dict[str, str]


@dataclass
class ConsumerActual:
    service: ServiceInfo | None = None
    endpoint: ActualEndpoint | None = None
    group: ActualGroup | None = None
    stale_endpoints: list[ActualEndpoint] = field(default_factory=list)
    # The endpoint status last named, now gone (deleted behind our back): a new one needs a
    # new ClientToken, since EC2 answers a reused token with the original (deleted) endpoint.
    gone_endpoint_id: str | None = None


def wanted_rules(spec: PrivateLinkEndpointSpec) -> frozenset[tuple[int, str]]:
    return frozenset((spec.probe.port, cidr) for cidr in spec.allowed_cidrs)


def _permissions(rules: frozenset[tuple[int, str]]) -> list[dict[str, Any]]:
    perms = []
    for port, cidr in sorted(rules):
        ranges_key, item_key = ("Ipv6Ranges", "CidrIpv6") if ":" in cidr else ("IpRanges", "CidrIp")
        perms.append(
            {
                "IpProtocol": "tcp",
                "FromPort": port,
                "ToPort": port,
                ranges_key: [{item_key: cidr, "Description": "privatelink-operator"}],
            }
        )
    return perms


def plan_endpoint(spec: PrivateLinkEndpointSpec, owner: Owner, actual: ConsumerActual) -> Plan:
    """Calls for the owned security group (with allowedCidrs) and the interface endpoint."""
    plan = Plan()
    service = actual.service
    assert service is not None
    extra = dict(spec.tags)
    groups: list[object] = list(spec.security_group_ids)
    if spec.allowed_cidrs:
        want_rules = wanted_rules(spec)
        group = actual.group
        if group is None:
            plan.add(
                Step(
                    "security-group",
                    "create",
                    f"security group in {spec.vpc_id} for port {spec.probe.port}",
                    "ec2",
                    "create_security_group",
                    {
                        "GroupName": f"plo-{owner.key[:24]}",
                        "Description": f"privatelink-operator: {owner.describe()}"[:255],
                        "VpcId": spec.vpc_id,
                        "TagSpecifications": [
                            {
                                "ResourceType": "security-group",
                                "Tags": tag_list(owner.tags(ROLE_SECURITY_GROUP, extra)),
                            }
                        ],
                    },
                    produces="security_group_id",
                )
            )
            plan.add(
                Step(
                    "security-group",
                    "authorize",
                    ", ".join(f"tcp/{p} from {c}" for p, c in sorted(want_rules)),
                    "ec2",
                    "authorize_security_group_ingress",
                    {
                        "GroupId": Ref("security_group_id"),
                        "IpPermissions": _permissions(want_rules),
                    },
                )
            )
            groups = [Ref("security_group_id")]
        else:
            add = want_rules - group.rules
            remove = group.rules - want_rules
            if add:
                plan.add(
                    Step(
                        "security-group",
                        "authorize",
                        ", ".join(f"tcp/{p} from {c}" for p, c in sorted(add)),
                        "ec2",
                        "authorize_security_group_ingress",
                        {"GroupId": group.id, "IpPermissions": _permissions(frozenset(add))},
                    )
                )
            if remove:
                plan.add(
                    Step(
                        "security-group",
                        "revoke",
                        ", ".join(f"tcp/{p} from {c}" for p, c in sorted(remove)),
                        "ec2",
                        "revoke_security_group_ingress",
                        {"GroupId": group.id, "IpPermissions": _permissions(frozenset(remove))},
                    )
                )
            plan.steps.extend(
                tag_steps(
                    "security-group",
                    "ec2",
                    group.id,
                    group.tags,
                    owner.tags(ROLE_SECURITY_GROUP, extra),
                )
            )
            groups = [group.id]
    private_dns = spec.private_dns_enabled and service.dns_verified
    endpoint = actual.endpoint
    tags = owner.tags(ROLE_ENDPOINT, extra)
    if endpoint is None:
        params: dict[str, Any] = {
            "VpcEndpointType": "Interface",
            "VpcId": spec.vpc_id,
            "ServiceName": service.name,
            "SubnetIds": sorted(spec.subnet_ids),
            "PrivateDnsEnabled": private_dns,
            "IpAddressType": spec.ip_address_type,
            "ClientToken": owner.token(
                "endpoint", service.name, *filter(None, [actual.gone_endpoint_id])
            ),
            "TagSpecifications": [{"ResourceType": "vpc-endpoint", "Tags": tag_list(tags)}],
        }
        if groups:
            params["SecurityGroupIds"] = groups
        if spec.service_region:
            params["ServiceRegion"] = spec.service_region
        plan.add(
            Step(
                "endpoint",
                "create",
                f"interface endpoint to {service.name} in {spec.vpc_id}"
                + (" with private DNS" if private_dns else ""),
                "ec2",
                "create_vpc_endpoint",
                params,
                produces="endpoint_id",
            )
        )
        _delete_unwanted(spec, actual, plan)
        return plan
    modify: dict[str, Any] = {}
    changes = []
    want_subnets = frozenset(spec.subnet_ids)
    if want_subnets - endpoint.subnets:
        modify["AddSubnetIds"] = sorted(want_subnets - endpoint.subnets)
    if endpoint.subnets - want_subnets:
        modify["RemoveSubnetIds"] = sorted(endpoint.subnets - want_subnets)
    if "AddSubnetIds" in modify or "RemoveSubnetIds" in modify:
        changes.append(f"subnets -> {sorted(want_subnets)}")
    concrete = frozenset(g for g in groups if isinstance(g, str))
    created = [g for g in groups if isinstance(g, Ref)]  # the owned group, created above
    if groups and (created or concrete != endpoint.security_groups):
        if created or concrete - endpoint.security_groups:
            modify["AddSecurityGroupIds"] = [*created, *sorted(concrete - endpoint.security_groups)]
        if endpoint.security_groups - concrete:
            modify["RemoveSecurityGroupIds"] = sorted(endpoint.security_groups - concrete)
        changes.append(f"security groups -> {[*map(str, created), *sorted(concrete)]}")
    if private_dns != endpoint.private_dns_enabled and endpoint.state.lower() == "available":
        modify["PrivateDnsEnabled"] = private_dns
        changes.append(f"private DNS -> {'enabled' if private_dns else 'disabled'}")
    if endpoint.ip_address_type != spec.ip_address_type:
        modify["IpAddressType"] = spec.ip_address_type
        changes.append(f"IP address type -> {spec.ip_address_type}")
    if modify:
        plan.add(
            Step(
                "endpoint",
                "modify",
                "; ".join(changes),
                "ec2",
                "modify_vpc_endpoint",
                {"VpcEndpointId": endpoint.id, **modify},
            )
        )
    plan.steps.extend(tag_steps("endpoint", "ec2", endpoint.id, endpoint.tags, tags))
    _delete_unwanted(spec, actual, plan)
    return plan


def _delete_unwanted(spec: PrivateLinkEndpointSpec, actual: ConsumerActual, plan: Plan) -> None:
    """Owned endpoints to a service no longer wanted (or twins), and an owned security group the
    spec no longer asks for, once no endpoint of ours uses it (AWS refuses it before)."""
    stale = [e for e in actual.stale_endpoints if e.state.lower() not in ("deleting", "deleted")]
    if stale:
        plan.add(
            Step(
                "endpoint",
                "delete",
                f"{', '.join(e.id for e in stale)} (no longer wanted)",
                "ec2",
                "delete_vpc_endpoints",
                {"VpcEndpointIds": [e.id for e in stale]},
                ignore_not_found=True,
            )
        )
    group = actual.group
    if spec.allowed_cidrs or group is None:
        return
    users = ([actual.endpoint] if actual.endpoint else []) + actual.stale_endpoints
    if any(group.id in e.security_groups for e in users):
        return
    plan.add(
        Step(
            "security-group",
            "delete",
            f"{group.id} (allowedCidrs removed)",
            "ec2",
            "delete_security_group",
            {"GroupId": group.id},
            ignore_not_found=True,
        )
    )


def plan_endpoint_delete(actual: ConsumerActual) -> Plan:
    """Delete the endpoint, then (once it is gone) the owned security group."""
    plan = Plan()
    endpoints = ([actual.endpoint] if actual.endpoint else []) + actual.stale_endpoints
    live = [e for e in endpoints if e.state.lower() != "deleting"]
    if live:
        plan.add(
            Step(
                "endpoint",
                "delete",
                ", ".join(e.id for e in live),
                "ec2",
                "delete_vpc_endpoints",
                {"VpcEndpointIds": [e.id for e in live]},
                ignore_not_found=True,
            )
        )
    if endpoints:
        plan.wait("EndpointAvailable", "Deleting", "the endpoint is being deleted", SHORT)
        return plan
    if actual.group is not None:
        plan.add(
            Step(
                "security-group",
                "delete",
                actual.group.id,
                "ec2",
                "delete_security_group",
                {"GroupId": actual.group.id},
                ignore_not_found=True,
            )
        )
    return plan
