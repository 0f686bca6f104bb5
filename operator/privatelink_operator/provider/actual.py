"""Read-only: what AWS holds for one PrivateLinkService, found by names, ids and ownership tags.

Nothing here writes. A resource that has our deterministic name but not our tags is reported
in ``foreign`` and treated as absent: the operator stalls rather than touch it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..aws import AwsCaller, AwsError
from ..ownership import TAG_UID, Owner, tag_dict
from .desired import ALPN_NONE, Target


@dataclass
class ActualCertificate:
    arn: str
    domain: str
    status: str
    sans: list[str]
    validation_records: list[dict[str, str]]
    in_use_by: list[str]
    owned: bool
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class ActualLoadBalancer:
    arn: str
    name: str
    dns_name: str
    state: str
    subnets: frozenset[str]
    security_groups: tuple[str, ...]
    tags: dict[str, str]


@dataclass
class ActualTargetGroup:
    arn: str
    name: str
    protocol: str
    port: int
    target_type: str
    vpc_id: str | None
    health_check: dict[str, Any]
    load_balancer_arns: list[str]
    tags: dict[str, str]
    proxy_protocol_v2: bool | None = None
    targets: frozenset[Target] | None = None
    target_states: dict[str, str] = field(default_factory=dict)


@dataclass
class ActualListener:
    arn: str
    port: int
    protocol: str
    certificate_arn: str | None
    ssl_policy: str | None
    alpn_policy: str
    target_group_arn: str | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class ActualEndpointService:
    id: str
    name: str
    state: str
    acceptance_required: bool
    private_dns_name: str | None
    dns_config: dict[str, str] | None
    ip_address_types: frozenset[str]
    regions: frozenset[str]
    load_balancer_arns: list[str]
    tags: dict[str, str]
    principals: frozenset[str] = frozenset()
    connections: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class HostedZone:
    id: str
    name: str


@dataclass
class ProviderActual:
    vpc_id: str | None = None
    certificate: ActualCertificate | None = None
    load_balancer: ActualLoadBalancer | None = None
    target_groups: list[ActualTargetGroup] = field(default_factory=list)
    listener: ActualListener | None = None
    endpoint_service: ActualEndpointService | None = None
    zone: HostedZone | None = None
    zone_problem: str | None = None
    txt_values: list[str] | None = None
    validation_cname: dict[str, str] | None = None
    foreign: list[str] = field(default_factory=list)

    def target_group(self, name: str) -> ActualTargetGroup | None:
        for tg in self.target_groups:
            if tg.name == name:
                return tg
        return None


def _normalise_alpn(policy: list[str] | None) -> str:
    if not policy:
        return ALPN_NONE
    return policy[0]


def txt_record_name(dns_config: Mapping[str, str], private_dns_name: str) -> str:
    """Where AWS looks for the ownership TXT record: ``<Name>.<private DNS name>``."""
    return f"{dns_config['Name'].rstrip('.')}.{private_dns_name.rstrip('.')}"


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


class Reader:
    """Reads the actual state of one object's resources."""

    def __init__(self, aws: AwsCaller, owner: Owner) -> None:
        self.aws = aws
        self.owner = owner

    def _not_found(self, exc: AwsError) -> bool:
        return exc.kind == "not_found"

    def subnets_vpc(self, subnet_ids: list[str]) -> str | None:
        answer = self.aws.call("ec2", "describe_subnets", SubnetIds=sorted(subnet_ids))
        vpcs = {s["VpcId"] for s in answer.get("Subnets", [])}
        if len(vpcs) > 1:
            raise AwsError(
                "user",
                "SubnetsInSeveralVpcs",
                f"subnetIds are in several VPCs ({', '.join(sorted(vpcs))}); an NLB's subnets "
                "must all be in one VPC",
                "DescribeSubnets",
            )
        return next(iter(vpcs), None)

    def load_balancer(self, name: str, actual: ProviderActual) -> None:
        try:
            answer = self.aws.call("elbv2", "describe_load_balancers", Names=[name])
        except AwsError as exc:
            if self._not_found(exc):
                return
            raise
        for lb in answer.get("LoadBalancers", []):
            tags = self._elb_tags([lb["LoadBalancerArn"]]).get(lb["LoadBalancerArn"], {})
            if not self.owner.owns(tags) and not self.owner.may_adopt(tags):
                actual.foreign.append(f"load balancer {name} ({lb['LoadBalancerArn']})")
                return
            actual.load_balancer = ActualLoadBalancer(
                arn=lb["LoadBalancerArn"],
                name=lb["LoadBalancerName"],
                dns_name=lb.get("DNSName", ""),
                state=lb.get("State", {}).get("Code", "active"),
                subnets=frozenset(z["SubnetId"] for z in lb.get("AvailabilityZones", [])),
                security_groups=tuple(sorted(lb.get("SecurityGroups", []) or [])),
                tags=tags,
            )

    def _elb_tags(self, arns: list[str]) -> dict[str, dict[str, str]]:
        tags: dict[str, dict[str, str]] = {}
        for start in range(0, len(arns), 20):  # DescribeTags takes at most 20 ARNs
            answer = self.aws.call("elbv2", "describe_tags", ResourceArns=arns[start : start + 20])
            for d in answer["TagDescriptions"]:
                tags[d["ResourceArn"]] = tag_dict(d.get("Tags", []))
        return tags

    def target_groups(
        self, desired_name: str, known_arns: list[str], actual: ProviderActual
    ) -> None:
        found: dict[str, dict[str, Any]] = {}
        try:
            answer = self.aws.call("elbv2", "describe_target_groups", Names=[desired_name])
            found.update({tg["TargetGroupArn"]: tg for tg in answer["TargetGroups"]})
        except AwsError as exc:
            if not self._not_found(exc):
                raise
        if actual.load_balancer is not None:
            try:
                answer = self.aws.call(
                    "elbv2", "describe_target_groups", LoadBalancerArn=actual.load_balancer.arn
                )
                found.update({tg["TargetGroupArn"]: tg for tg in answer["TargetGroups"]})
            except AwsError as exc:
                if not self._not_found(exc):
                    raise
        missing = [arn for arn in known_arns if arn and arn not in found]
        if missing:
            try:
                answer = self.aws.call("elbv2", "describe_target_groups", TargetGroupArns=missing)
                found.update({tg["TargetGroupArn"]: tg for tg in answer["TargetGroups"]})
            except AwsError as exc:
                if not self._not_found(exc):
                    raise
        tags = self._elb_tags(sorted(found))
        for arn, tg in sorted(found.items()):
            named = tg["TargetGroupName"] == desired_name
            adopted = named and self.owner.may_adopt(tags.get(arn, {}))
            if not self.owner.owns(tags.get(arn, {})) and not adopted:
                if named:
                    actual.foreign.append(f"target group {desired_name} ({arn})")
                continue
            actual.target_groups.append(
                ActualTargetGroup(
                    arn=arn,
                    name=tg["TargetGroupName"],
                    protocol=tg.get("Protocol", ""),
                    port=int(tg.get("Port", 0)),
                    target_type=tg.get("TargetType", "instance"),
                    vpc_id=tg.get("VpcId"),
                    health_check={
                        k: tg[k]
                        for k in (
                            "HealthCheckProtocol",
                            "HealthCheckPort",
                            "HealthCheckIntervalSeconds",
                            "HealthCheckTimeoutSeconds",
                            "HealthyThresholdCount",
                            "UnhealthyThresholdCount",
                            "HealthCheckPath",
                        )
                        if k in tg
                    },
                    load_balancer_arns=list(tg.get("LoadBalancerArns", [])),
                    tags=tags.get(arn, {}),
                )
            )

    def target_group_details(self, tg: ActualTargetGroup) -> None:
        attrs = self.aws.call("elbv2", "describe_target_group_attributes", TargetGroupArn=tg.arn)
        values = {a["Key"]: a["Value"] for a in attrs.get("Attributes", [])}
        tg.proxy_protocol_v2 = values.get("proxy_protocol_v2.enabled", "false") == "true"
        health = self.aws.call("elbv2", "describe_target_health", TargetGroupArn=tg.arn)
        targets = set()
        for desc in health.get("TargetHealthDescriptions", []):
            t = desc["Target"]
            az = t.get("AvailabilityZone")
            targets.add(Target(t["Id"], int(t.get("Port", tg.port)), az if az == "all" else None))
            tg.target_states[t["Id"]] = desc.get("TargetHealth", {}).get("State", "unknown")
        tg.targets = frozenset(targets)

    def listener(self, port: int, actual: ProviderActual) -> None:
        if actual.load_balancer is None:
            return
        answer = self.aws.call(
            "elbv2", "describe_listeners", LoadBalancerArn=actual.load_balancer.arn
        )
        listeners = answer.get("Listeners", [])
        # Only a listener with our tags is ours: one that someone added to our NLB by hand is
        # never modified (and blocks the port it holds).
        tags = self._elb_tags([x["ListenerArn"] for x in listeners])
        mine = [x for x in listeners if self.owner.owns(tags.get(x["ListenerArn"], {}))]
        if not mine:  # adoption: an untagged listener on our port of our (adopted) NLB
            mine = [
                x
                for x in listeners
                if x["Port"] == port and self.owner.may_adopt(tags.get(x["ListenerArn"], {}))
            ]
        chosen = next((x for x in mine if x["Port"] == port), None)
        if chosen is None and mine:
            chosen = mine[0]
        if chosen is None:
            taken = next((x for x in listeners if x["Port"] == port), None)
            if taken is not None:
                actual.foreign.append(
                    f"listener on port {port} of load balancer {actual.load_balancer.name} "
                    f"({taken['ListenerArn']})"
                )
            return
        certs = chosen.get("Certificates") or []
        forward: dict[str, Any] = next(
            (a for a in chosen.get("DefaultActions", []) if a.get("Type") == "forward"), {}
        )
        actual.listener = ActualListener(
            arn=chosen["ListenerArn"],
            port=int(chosen["Port"]),
            protocol=chosen.get("Protocol", ""),
            certificate_arn=certs[0]["CertificateArn"] if certs else None,
            ssl_policy=chosen.get("SslPolicy"),
            alpn_policy=_normalise_alpn(chosen.get("AlpnPolicy")),
            target_group_arn=forward.get("TargetGroupArn"),
            tags=tags.get(chosen["ListenerArn"], {}),
        )

    def endpoint_service(self, known_id: str | None, actual: ProviderActual) -> None:
        filters = [{"Name": f"tag:{TAG_UID}", "Values": [self.owner.uid]}]
        answer = self.aws.call(
            "ec2", "describe_vpc_endpoint_service_configurations", Filters=filters
        )
        configs = list(answer.get("ServiceConfigurations", []))
        if known_id and not any(c["ServiceId"] == known_id for c in configs):
            try:
                more = self.aws.call(
                    "ec2",
                    "describe_vpc_endpoint_service_configurations",
                    ServiceIds=[known_id],
                )
                configs += more.get("ServiceConfigurations", [])
            except AwsError as exc:
                if not self._not_found(exc):
                    raise
        mine = [
            c
            for c in configs
            if self.owner.owns(tag_dict(c.get("Tags", [])))
            and c.get("ServiceState", "").lower() not in ("deleted", "deleting")
        ]
        if not mine:
            return
        mine.sort(key=lambda c: (c["ServiceId"] != known_id, c["ServiceId"]))
        config = mine[0]
        dns_config = config.get("PrivateDnsNameConfiguration")
        service = ActualEndpointService(
            id=config["ServiceId"],
            name=config.get("ServiceName", ""),
            state=config.get("ServiceState", "Available"),
            acceptance_required=bool(config.get("AcceptanceRequired", False)),
            private_dns_name=config.get("PrivateDnsName"),
            dns_config=dict(dns_config) if dns_config else None,
            ip_address_types=frozenset(config.get("SupportedIpAddressTypes", []) or ["ipv4"]),
            regions=frozenset(
                r["Region"] for r in config.get("SupportedRegions", []) or [] if "Region" in r
            ),
            load_balancer_arns=list(config.get("NetworkLoadBalancerArns", [])),
            tags=tag_dict(config.get("Tags", [])),
        )
        perms = self.aws.call(
            "ec2", "describe_vpc_endpoint_service_permissions", ServiceId=service.id
        )
        service.principals = frozenset(
            p["Principal"] for p in perms.get("AllowedPrincipals", []) if "Principal" in p
        )
        conns = self.aws.call(
            "ec2",
            "describe_vpc_endpoint_connections",
            Filters=[{"Name": "service-id", "Values": [service.id]}],
        )
        service.connections = [
            c for c in conns.get("VpcEndpointConnections", []) if c.get("ServiceId") == service.id
        ]
        actual.endpoint_service = service

    def certificate(self, arn: str, actual: ProviderActual, requested: bool) -> None:
        try:
            answer = self.aws.call("acm", "describe_certificate", CertificateArn=arn)
        except AwsError as exc:
            if self._not_found(exc):
                return
            raise
        cert = answer["Certificate"]
        owned = False
        tags: dict[str, str] = {}
        if requested:
            answer = self.aws.call("acm", "list_tags_for_certificate", CertificateArn=arn)
            tags = tag_dict(answer.get("Tags", []))
            owned = self.owner.owns(tags)
            if not owned:
                actual.foreign.append(f"certificate {arn}")
                return
        records = []
        for option in cert.get("DomainValidationOptions", []) or []:
            record = option.get("ResourceRecord")
            if record:
                records.append(
                    {"Name": record["Name"], "Type": record["Type"], "Value": record["Value"]}
                )
        actual.certificate = ActualCertificate(
            arn=arn,
            domain=cert.get("DomainName", ""),
            status=cert.get("Status", ""),
            sans=list(cert.get("SubjectAlternativeNames", []) or []),
            validation_records=records,
            in_use_by=list(cert.get("InUseBy", []) or []),
            owned=owned,
            tags=tags,
        )

    def find_requested_certificate(self, domain: str, actual: ProviderActual) -> None:
        """After a crash, find a certificate we requested for ``domain`` by its tags."""
        paginator_args: dict[str, Any] = {}
        while True:
            answer = self.aws.call("acm", "list_certificates", **paginator_args)
            for summary in answer.get("CertificateSummaryList", []):
                if summary.get("DomainName") != domain:
                    continue
                tags = self.aws.call(
                    "acm", "list_tags_for_certificate", CertificateArn=summary["CertificateArn"]
                )
                if self.owner.owns(tag_dict(tags.get("Tags", []))):
                    self.certificate(summary["CertificateArn"], actual, requested=True)
                    return
            token = answer.get("NextToken")
            if not token:
                return
            paginator_args = {"NextToken": token}

    def hosted_zone(self, name: str, zone_id: str | None, actual: ProviderActual) -> None:
        if zone_id:
            bare = zone_id.rsplit("/", 1)[-1]
            try:
                answer = self.aws.call("route53", "get_hosted_zone", Id=bare)
            except AwsError as exc:
                if exc.kind in ("not_found", "user"):
                    actual.zone_problem = (
                        f"hosted zone {bare} does not exist in this account: fix "
                        "spec.dns.hostedZoneId"
                    )
                    return
                raise
            zone = answer["HostedZone"]
            zone_name = zone["Name"].rstrip(".")
            if zone.get("Config", {}).get("PrivateZone"):
                actual.zone_problem = (
                    f"hosted zone {bare} ({zone_name}) is private; AWS verifies ownership "
                    "through a PUBLIC zone: set spec.dns.hostedZoneId to a public zone"
                )
                return
            if not (name == zone_name or name.endswith("." + zone_name)):
                actual.zone_problem = (
                    f"hosted zone {bare} ({zone_name}) does not cover {name}: set "
                    "spec.dns.hostedZoneId to a zone that does, or change privateDnsName"
                )
                return
            actual.zone = HostedZone(bare, zone_name)
            return
        best: HostedZone | None = None
        marker: dict[str, Any] = {}
        while True:
            answer = self.aws.call("route53", "list_hosted_zones", **marker)
            for zone in answer.get("HostedZones", []):
                if zone.get("Config", {}).get("PrivateZone"):
                    continue
                zone_name = zone["Name"].rstrip(".")
                covers = name == zone_name or name.endswith("." + zone_name)
                if covers and (best is None or len(zone_name) > len(best.name)):
                    best = HostedZone(zone["Id"].rsplit("/", 1)[-1], zone_name)
            if not answer.get("IsTruncated"):
                break
            marker = {"Marker": answer["NextMarker"]}
        if best is None:
            actual.zone_problem = (
                f"no public Route 53 hosted zone in this account covers {name}: create one, "
                "set spec.dns.hostedZoneId, or use spec.dns.mode: Manual and publish the TXT "
                "record yourself"
            )
        actual.zone = best

    def record_values(self, zone_id: str, name: str, rtype: str) -> list[str] | None:
        answer = self.aws.call(
            "route53",
            "list_resource_record_sets",
            HostedZoneId=zone_id,
            StartRecordName=_fqdn(name),
            StartRecordType=rtype,
            MaxItems="1",
        )
        for record in answer.get("ResourceRecordSets", []):
            if record["Name"].rstrip(".").lower() == name.rstrip(".").lower() and (
                record["Type"] == rtype
            ):
                return [r["Value"] for r in record.get("ResourceRecords", [])]
        return None
