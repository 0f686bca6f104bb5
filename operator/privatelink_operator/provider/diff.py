"""Pure: (desired, actual) -> the ordered plan of AWS calls, and the waits that remain.

No call without drift: every field is compared, principals, targets, regions and tags as sets.
Order follows AWS's dependencies: certificate, load balancer, target group and targets,
listener, endpoint service and its permissions, ownership TXT record and verification,
connections; then the removal of what a replacement left behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ..ownership import Owner, tag_list
from ..status import Stall
from .actual import ProviderActual, txt_record_name
from .desired import ALPN_NONE, DesiredService
from .plan import Plan, Ref, Step

SHORT = 5.0  # seconds: transitional AWS states are polled this often
VERIFICATION_POLL = 15.0
TXT_TTL = 300


@dataclass(frozen=True)
class Memory:
    """What the previous pass recorded in status that AWS cannot tell us."""

    certificate_arn: str | None = None
    service_id: str | None = None
    target_group_arn: str | None = None
    last_verification_start: datetime | None = None
    verification_attempts: int = 0


def verification_backoff(attempts: int) -> timedelta:
    """Wait before starting verification again after ``failed``: 1, 2, 4 ... 60 minutes."""
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def tag_steps(
    resource: str, service: str, ident: object, actual: Mapping[str, str], want: Mapping[str, str]
) -> list[Step]:
    """The tag calls that turn ``actual`` into ``want`` (a set diff; ``aws:`` keys are AWS's)."""
    add = {k: v for k, v in want.items() if actual.get(k) != v}
    remove = sorted(k for k in actual if k not in want and not k.startswith("aws:"))
    steps = []
    if service == "elbv2":
        if add:
            steps.append(
                Step(
                    resource,
                    "tag",
                    f"tags {sorted(add)}",
                    "elbv2",
                    "add_tags",
                    {"ResourceArns": [ident], "Tags": tag_list(add)},
                )
            )
        if remove:
            steps.append(
                Step(
                    resource,
                    "untag",
                    f"tags {remove}",
                    "elbv2",
                    "remove_tags",
                    {"ResourceArns": [ident], "TagKeys": remove},
                )
            )
    elif service == "ec2":
        if add:
            steps.append(
                Step(
                    resource,
                    "tag",
                    f"tags {sorted(add)}",
                    "ec2",
                    "create_tags",
                    {"Resources": [ident], "Tags": tag_list(add)},
                )
            )
        if remove:
            steps.append(
                Step(
                    resource,
                    "untag",
                    f"tags {remove}",
                    "ec2",
                    "delete_tags",
                    {"Resources": [ident], "Tags": [{"Key": k} for k in remove]},
                )
            )
    elif service == "acm":
        if add:
            steps.append(
                Step(
                    resource,
                    "tag",
                    f"tags {sorted(add)}",
                    "acm",
                    "add_tags_to_certificate",
                    {"CertificateArn": ident, "Tags": tag_list(add)},
                )
            )
        if remove:
            steps.append(
                Step(
                    resource,
                    "untag",
                    f"tags {remove}",
                    "acm",
                    "remove_tags_from_certificate",
                    {"CertificateArn": ident, "Tags": [{"Key": k} for k in remove]},
                )
            )
    return steps


def _txt(value: str) -> str:
    return '"' + value.replace('"', '\\"') + '"'


def plan_service(
    desired: DesiredService, actual: ProviderActual, memory: Memory, now: datetime
) -> Plan:
    plan = Plan()
    owner = desired.owner
    if actual.foreign:
        plan.stall = Stall(
            "NotOwned",
            "AWS already holds resources with the names this object needs, without its "
            f"ownership tags: {'; '.join(actual.foreign)}. The operator never changes what it "
            "does not own: delete or rename them, or delete and recreate this object.",
        )
        return plan
    cert_arn = _plan_certificate(desired, actual, owner, plan)
    if plan.stall:
        return plan
    _plan_load_balancer(desired, actual, plan)
    _plan_target_group(desired, actual, plan)
    _plan_listener(desired, actual, cert_arn, plan)
    _plan_endpoint_service(desired, actual, owner, plan)
    if plan.stall:
        return plan
    _plan_private_dns(desired, actual, memory, now, plan)
    _plan_connections(desired, actual, plan)
    _plan_leftovers(desired, actual, plan)
    return plan


def _plan_certificate(
    desired: DesiredService, actual: ProviderActual, owner: Owner, plan: Plan
) -> str | None:
    want = desired.certificate
    cert = actual.certificate
    if not want.requested:
        if cert is None:
            plan.stall = Stall(
                "CertificateNotFound",
                f"certificate {want.arn} does not exist in this account and region: fix "
                "spec.listener.certificateArn",
            )
            return None
        if want.domain and not _covers([cert.domain, *cert.sans], want.domain):
            plan.stall = Stall(
                "CertificateDoesNotCoverName",
                f"certificate {cert.arn} is for {', '.join([cert.domain, *cert.sans])}, not "
                f"{want.domain}: clients would reject it; use a certificate that covers "
                "privateDnsName",
            )
            return None
        if cert.status != "ISSUED":
            plan.wait(
                "LoadBalancerReady",
                "CertificateNotIssued",
                f"certificate {cert.arn} is {cert.status}, waiting for ISSUED",
                30.0,
            )
            return None
        return cert.arn
    if cert is None:
        plan.add(
            Step(
                "certificate",
                "create",
                f"request ACM certificate for {want.domain}, DNS-validated",
                "acm",
                "request_certificate",
                {
                    "DomainName": want.domain,
                    "ValidationMethod": "DNS",
                    "IdempotencyToken": owner.token("certificate", want.domain)[:32],
                    "Tags": tag_list(want.tags),
                },
                produces="certificate_arn",
            )
        )
        plan.wait("LoadBalancerReady", "CertificatePending", "certificate requested", SHORT)
        return None
    for step in tag_steps("certificate", "acm", cert.arn, cert.tags, want.tags):
        plan.add(step)
    if cert.status in ("FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED"):
        plan.stall = Stall(
            "CertificateFailed",
            f"ACM certificate {cert.arn} for {cert.domain} is {cert.status}: check the "
            "validation record in the hosted zone, then delete and recreate this object",
        )
        return None
    if cert.status != "ISSUED":
        if actual.zone is not None and desired.dns.mode == "Route53":
            for record in cert.validation_records:
                if actual.validation_cname != record:
                    plan.add(
                        Step(
                            "validation-record",
                            "publish",
                            f"CNAME {record['Name']} in zone {actual.zone.id} for ACM validation",
                            "route53",
                            "change_resource_record_sets",
                            {
                                "HostedZoneId": actual.zone.id,
                                "ChangeBatch": {
                                    "Comment": f"ACM validation for {owner.describe()}",
                                    "Changes": [
                                        {
                                            "Action": "UPSERT",
                                            "ResourceRecordSet": {
                                                "Name": record["Name"],
                                                "Type": record["Type"],
                                                "TTL": TXT_TTL,
                                                "ResourceRecords": [{"Value": record["Value"]}],
                                            },
                                        }
                                    ],
                                },
                            },
                        )
                    )
        plan.wait(
            "LoadBalancerReady",
            "CertificatePending",
            f"ACM certificate for {cert.domain} is {cert.status}, waiting for DNS validation",
            SHORT * 2,
        )
        return None
    return cert.arn


def _covers(names: list[str], host: str) -> bool:
    for name in names:
        if name == host:
            return True
        if name.startswith("*.") and host.count(".") == name.count(".") and host.endswith(name[1:]):
            return True
    return False


def _plan_load_balancer(desired: DesiredService, actual: ProviderActual, plan: Plan) -> None:
    want = desired.load_balancer
    lb = actual.load_balancer
    if lb is None:
        params: dict[str, object] = {
            "Name": want.name,
            "Subnets": sorted(want.subnets),
            "Scheme": "internal",
            "Type": "network",
            "IpAddressType": "ipv4",
            "Tags": tag_list(want.tags),
        }
        if want.security_groups:
            params["SecurityGroups"] = list(want.security_groups)
        plan.add(
            Step(
                "load-balancer",
                "create",
                f"internal NLB {want.name} in {', '.join(sorted(want.subnets))}",
                "elbv2",
                "create_load_balancer",
                params,
                produces="load_balancer_arn",
            )
        )
        plan.wait("LoadBalancerReady", "Provisioning", "the NLB is provisioning", SHORT)
        return
    if lb.subnets != want.subnets:
        plan.add(
            Step(
                "load-balancer",
                "modify",
                f"subnets {sorted(lb.subnets)} -> {sorted(want.subnets)}",
                "elbv2",
                "set_subnets",
                {"LoadBalancerArn": lb.arn, "Subnets": sorted(want.subnets)},
            )
        )
    if want.security_groups is not None and tuple(lb.security_groups) != want.security_groups:
        plan.add(
            Step(
                "load-balancer",
                "modify",
                f"security groups -> {list(want.security_groups)}",
                "elbv2",
                "set_security_groups",
                {"LoadBalancerArn": lb.arn, "SecurityGroups": list(want.security_groups)},
            )
        )
    for step in tag_steps("load-balancer", "elbv2", lb.arn, lb.tags, want.tags):
        plan.add(step)
    if lb.state != "active":
        plan.wait("LoadBalancerReady", "Provisioning", f"the NLB is {lb.state}", SHORT)


def _plan_target_group(desired: DesiredService, actual: ProviderActual, plan: Plan) -> None:
    want = desired.target_group
    tg = actual.target_group(want.name)
    if tg is None:
        params: dict[str, object] = {
            "Name": want.name,
            "Protocol": want.protocol,
            "Port": want.port,
            "VpcId": want.vpc_id,
            "TargetType": want.target_type,
            "Tags": tag_list(want.tags),
            **want.health_check,
        }
        replacing = [t.name for t in actual.target_groups]
        summary = f"{want.protocol} target group {want.name} port {want.port} ({want.target_type})"
        if replacing:
            summary += f", replacing {', '.join(replacing)}"
            plan.notes.append(
                "the target group's protocol, port or type changed, which AWS cannot modify: "
                "a new target group replaces the old one"
            )
        plan.add(
            Step(
                "target-group",
                "replace" if replacing else "create",
                summary,
                "elbv2",
                "create_target_group",
                params,
                produces="target_group_arn",
            )
        )
        if want.proxy_protocol_v2:
            plan.add(_attributes_step(Ref("target_group_arn"), True))
        if desired.targets:
            plan.add(_targets_step("register", Ref("target_group_arn"), desired.targets))
        return
    changed = {k: v for k, v in want.health_check.items() if tg.health_check.get(k) != v}
    if changed:
        plan.add(
            Step(
                "target-group",
                "modify",
                f"health check {sorted(changed)}",
                "elbv2",
                "modify_target_group",
                {"TargetGroupArn": tg.arn, **changed},
            )
        )
    if tg.proxy_protocol_v2 is not None and tg.proxy_protocol_v2 != want.proxy_protocol_v2:
        plan.add(_attributes_step(tg.arn, want.proxy_protocol_v2))
    for step in tag_steps("target-group", "elbv2", tg.arn, tg.tags, want.tags):
        plan.add(step)
    if desired.targets_known and tg.targets is not None:
        add = desired.targets - tg.targets
        remove = tg.targets - desired.targets
        if remove:
            plan.add(_targets_step("deregister", tg.arn, remove))
        if add:
            plan.add(_targets_step("register", tg.arn, add))


def _attributes_step(arn: object, enabled: bool) -> Step:
    value = "true" if enabled else "false"
    return Step(
        "target-group",
        "modify",
        f"proxy_protocol_v2.enabled={value}",
        "elbv2",
        "modify_target_group_attributes",
        {
            "TargetGroupArn": arn,
            "Attributes": [{"Key": "proxy_protocol_v2.enabled", "Value": value}],
        },
    )


def _targets_step(action: str, arn: object, targets: frozenset[object]) -> Step:
    items = []
    for t in sorted(targets):  # type: ignore[type-var]
        item = {"Id": t.id, "Port": t.port}  # type: ignore[attr-defined]
        if t.availability_zone:  # type: ignore[attr-defined]
            item["AvailabilityZone"] = t.availability_zone  # type: ignore[attr-defined]
        items.append(item)
    shown = ", ".join(f"{i['Id']}:{i['Port']}" for i in items)
    return Step(
        "targets",
        action,
        shown,
        "elbv2",
        f"{action}_targets",
        {"TargetGroupArn": arn, "Targets": items},
    )


def _plan_listener(
    desired: DesiredService, actual: ProviderActual, cert_arn: str | None, plan: Plan
) -> None:
    want = desired.listener
    listener = actual.listener
    tg = actual.target_group(desired.target_group.name)
    tg_ref: object = tg.arn if tg is not None else Ref("target_group_arn")
    lb_ref: object = (
        actual.load_balancer.arn if actual.load_balancer is not None else Ref("load_balancer_arn")
    )
    alpn = [want.alpn_policy]
    if listener is None:
        if cert_arn is None:
            plan.wait(
                "LoadBalancerReady",
                "CertificatePending",
                "the TLS listener waits for its certificate",
                SHORT,
            )
            return
        plan.add(
            Step(
                "listener",
                "create",
                f"TLS:{want.port} {want.ssl_policy} ALPN {want.alpn_policy}",
                "elbv2",
                "create_listener",
                {
                    "LoadBalancerArn": lb_ref,
                    "Protocol": "TLS",
                    "Port": want.port,
                    "Certificates": [{"CertificateArn": cert_arn}],
                    "SslPolicy": want.ssl_policy,
                    "AlpnPolicy": alpn,
                    "DefaultActions": [{"Type": "forward", "TargetGroupArn": tg_ref}],
                    "Tags": tag_list(want.tags),
                },
                produces="listener_arn",
            )
        )
        return
    params: dict[str, object] = {}
    changes = []
    if listener.port != want.port:
        params["Port"] = want.port
        changes.append(f"port {listener.port} -> {want.port}")
    if listener.protocol != "TLS":
        params["Protocol"] = "TLS"
        changes.append(f"protocol {listener.protocol} -> TLS")
    if cert_arn is not None and listener.certificate_arn != cert_arn:
        params["Certificates"] = [{"CertificateArn": cert_arn}]
        changes.append("certificate")
    if listener.ssl_policy != want.ssl_policy:
        params["SslPolicy"] = want.ssl_policy
        changes.append(f"SSL policy {listener.ssl_policy} -> {want.ssl_policy}")
    if listener.alpn_policy != want.alpn_policy:
        params["AlpnPolicy"] = alpn
        changes.append(f"ALPN {listener.alpn_policy} -> {want.alpn_policy}")
    if tg is None or listener.target_group_arn != tg.arn:
        params["DefaultActions"] = [{"Type": "forward", "TargetGroupArn": tg_ref}]
        changes.append(f"forward to {desired.target_group.name}")
    if params:
        plan.add(
            Step(
                "listener",
                "modify",
                "; ".join(changes),
                "elbv2",
                "modify_listener",
                {"ListenerArn": listener.arn, **params},
            )
        )
    for step in tag_steps("listener", "elbv2", listener.arn, listener.tags, want.tags):
        plan.add(step)
    if want.alpn_policy == ALPN_NONE:
        plan.notes.append("ALPN policy None: clients cannot negotiate h2 through this listener")


def _plan_endpoint_service(
    desired: DesiredService, actual: ProviderActual, owner: Owner, plan: Plan
) -> None:
    want = desired.endpoint_service
    service = actual.endpoint_service
    lb = actual.load_balancer
    if service is None:
        if lb is None or lb.state != "active":
            plan.wait(
                "EndpointServiceAvailable",
                "WaitingForLoadBalancer",
                "the endpoint service is created once the NLB is active",
                SHORT,
            )
            return
        params: dict[str, object] = {
            "NetworkLoadBalancerArns": [lb.arn],
            "AcceptanceRequired": want.acceptance_required,
            "SupportedIpAddressTypes": sorted(want.ip_address_types),
            "ClientToken": owner.token("endpoint-service"),
            "TagSpecifications": [
                {"ResourceType": "vpc-endpoint-service", "Tags": tag_list(want.tags)}
            ],
        }
        if want.private_dns_name:
            params["PrivateDnsName"] = want.private_dns_name
        if want.regions:
            params["SupportedRegions"] = sorted(want.regions)
        plan.add(
            Step(
                "endpoint-service",
                "create",
                f"endpoint service on {lb.name}, acceptance "
                f"{'required' if want.acceptance_required else 'automatic'}"
                + (f", private DNS {want.private_dns_name}" if want.private_dns_name else ""),
                "ec2",
                "create_vpc_endpoint_service_configuration",
                params,
                produces="service_id",
            )
        )
        if want.principals:
            plan.add(
                Step(
                    "permissions",
                    "modify",
                    f"allow {', '.join(sorted(want.principals))}",
                    "ec2",
                    "modify_vpc_endpoint_service_permissions",
                    {
                        "ServiceId": Ref("service_id"),
                        "AddAllowedPrincipals": sorted(want.principals),
                    },
                )
            )
        return
    params = {}
    changes = []
    if service.acceptance_required != want.acceptance_required:
        params["AcceptanceRequired"] = want.acceptance_required
        changes.append(f"acceptance required -> {want.acceptance_required}")
    if (service.private_dns_name or None) != want.private_dns_name:
        if want.private_dns_name:
            params["PrivateDnsName"] = want.private_dns_name
        else:
            params["RemovePrivateDnsName"] = True
        changes.append(f"private DNS name -> {want.private_dns_name or 'none'}")
    add_ip = sorted(want.ip_address_types - service.ip_address_types)
    remove_ip = sorted(service.ip_address_types - want.ip_address_types)
    if add_ip:
        params["AddSupportedIpAddressTypes"] = add_ip
    if remove_ip:
        params["RemoveSupportedIpAddressTypes"] = remove_ip
    if add_ip or remove_ip:
        changes.append(f"IP address types -> {sorted(want.ip_address_types)}")
    add_regions = sorted(want.regions - service.regions)
    remove_regions = sorted(service.regions - want.regions)
    if add_regions:
        params["AddSupportedRegions"] = add_regions
    if remove_regions:
        params["RemoveSupportedRegions"] = remove_regions
    if add_regions or remove_regions:
        changes.append(f"regions -> {sorted(want.regions)}")
    if lb is not None and lb.arn not in service.load_balancer_arns:
        params["AddNetworkLoadBalancerArns"] = [lb.arn]
        stale = [a for a in service.load_balancer_arns if a != lb.arn]
        if stale:
            params["RemoveNetworkLoadBalancerArns"] = stale
        changes.append(f"load balancer -> {lb.name}")
    if params:
        plan.add(
            Step(
                "endpoint-service",
                "modify",
                "; ".join(changes),
                "ec2",
                "modify_vpc_endpoint_service_configuration",
                {"ServiceId": service.id, **params},
            )
        )
    add_p = sorted(want.principals - service.principals)
    remove_p = sorted(service.principals - want.principals)
    if add_p or remove_p:
        perm: dict[str, object] = {"ServiceId": service.id}
        if add_p:
            perm["AddAllowedPrincipals"] = add_p
        if remove_p:
            perm["RemoveAllowedPrincipals"] = remove_p
        plan.add(
            Step(
                "permissions",
                "modify",
                "; ".join(
                    ([f"allow {', '.join(add_p)}"] if add_p else [])
                    + ([f"disallow {', '.join(remove_p)}"] if remove_p else [])
                ),
                "ec2",
                "modify_vpc_endpoint_service_permissions",
                perm,
            )
        )
    for step in tag_steps("endpoint-service", "ec2", service.id, service.tags, want.tags):
        plan.add(step)
    state = service.state.lower()
    if state in ("failed",):
        plan.stall = Stall(
            "EndpointServiceFailed",
            f"endpoint service {service.id} is Failed in AWS; delete and recreate this object",
        )
    elif state != "available":
        plan.wait(
            "EndpointServiceAvailable", "Pending", f"endpoint service is {service.state}", SHORT
        )


def _plan_private_dns(
    desired: DesiredService, actual: ProviderActual, memory: Memory, now: datetime, plan: Plan
) -> None:
    name = desired.endpoint_service.private_dns_name
    service = actual.endpoint_service
    if not name or service is None or service.private_dns_name != name:
        return
    config = service.dns_config or {}
    state = (config.get("State") or "").lower()
    if state == "verified" or not config.get("Name"):
        return
    record = txt_record_name(config, name)
    if desired.dns.mode == "Route53":
        if actual.zone is None:
            plan.stall = Stall(
                "HostedZoneNotFound", actual.zone_problem or f"no public hosted zone for {name}"
            )
            return
        value = _txt(config["Value"])
        if actual.txt_values != [value]:
            plan.add(
                Step(
                    "txt-record",
                    "publish",
                    f"TXT {record} = {value} in zone {actual.zone.id}",
                    "route53",
                    "change_resource_record_sets",
                    {
                        "HostedZoneId": actual.zone.id,
                        "ChangeBatch": {
                            "Comment": "PrivateLink domain ownership for "
                            + desired.owner.describe(),
                            "Changes": [
                                {
                                    "Action": "UPSERT",
                                    "ResourceRecordSet": {
                                        "Name": record,
                                        "Type": "TXT",
                                        "TTL": TXT_TTL,
                                        "ResourceRecords": [{"Value": value}],
                                    },
                                }
                            ],
                        },
                    },
                )
            )
    start = False
    if state == "pendingverification" and memory.last_verification_start is None:
        start = True
    elif state == "failed":
        last = memory.last_verification_start
        start = last is None or now - last >= verification_backoff(memory.verification_attempts)
        if not start and last is not None:
            due = last + verification_backoff(memory.verification_attempts)
            plan.wait(
                "DnsVerified",
                "VerificationFailed",
                f"AWS could not verify TXT {record}; trying again at {due:%H:%M:%S}Z",
                max(SHORT, (due - now).total_seconds()),
            )
    if start:
        plan.add(
            Step(
                "dns-verification",
                "verify",
                f"start private DNS verification of {name}",
                "ec2",
                "start_vpc_endpoint_service_private_dns_verification",
                {"ServiceId": service.id},
            )
        )
    if desired.dns.mode == "Manual" and plan.waits and plan.waits[-1].condition == "DnsVerified":
        last_wait = plan.waits[-1]
        plan.waits[-1] = replace(
            last_wait,
            reason="WaitingForTxtRecord",
            message=f'publish TXT {record} = "{config["Value"]}" in the public zone of '
            f"{name} (dns.mode Manual); {last_wait.message}",
        )
    if state != "failed" or start:
        manual = " (published by you: dns.mode Manual)" if desired.dns.mode == "Manual" else ""
        plan.wait(
            "DnsVerified",
            "PendingVerification",
            f"AWS is verifying TXT {record}{manual}",
            VERIFICATION_POLL,
        )


def _plan_connections(desired: DesiredService, actual: ProviderActual, plan: Plan) -> None:
    service = actual.endpoint_service
    if service is None:
        return
    want = desired.endpoint_service
    accept, reject = [], []
    for conn in service.connections:
        state = str(conn.get("VpcEndpointState", "")).lower()
        owner = str(conn.get("VpcEndpointOwner", ""))
        endpoint = str(conn["VpcEndpointId"])
        if owner not in want.allowed_accounts and state in (
            "pendingacceptance",
            "pending",
            "available",
        ):
            reject.append(endpoint)
        elif state == "pendingacceptance" and owner in want.auto_accept_accounts:
            accept.append(endpoint)
    if accept:
        plan.add(
            Step(
                "connections",
                "accept",
                ", ".join(sorted(accept)),
                "ec2",
                "accept_vpc_endpoint_connections",
                {"ServiceId": service.id, "VpcEndpointIds": sorted(accept)},
            )
        )
    if reject:
        plan.add(
            Step(
                "connections",
                "reject",
                f"{', '.join(sorted(reject))} (account no longer allowed)",
                "ec2",
                "reject_vpc_endpoint_connections",
                {"ServiceId": service.id, "VpcEndpointIds": sorted(reject)},
            )
        )


def _plan_leftovers(desired: DesiredService, actual: ProviderActual, plan: Plan) -> None:
    """Delete what a replacement left behind, once nothing uses it."""
    for tg in actual.target_groups:
        if tg.name == desired.target_group.name:
            continue
        plan.add(
            Step(
                "target-group",
                "delete",
                f"{tg.name} (replaced)",
                "elbv2",
                "delete_target_group",
                {"TargetGroupArn": tg.arn},
                ignore_not_found=True,
            )
        )


def plan_delete(desired: DesiredService, actual: ProviderActual) -> Plan:
    """Everything this object owns, removed in the order AWS requires."""
    plan = Plan()
    service = actual.endpoint_service
    # The TXT record first: its name and value are known only while the endpoint service exists
    # (Route 53 records carry no tags), so an operator killed after the service's deletion
    # would otherwise leave it behind for good. Nothing in AWS depends on it.
    if (
        service is not None
        and actual.zone is not None
        and service.dns_config
        and service.private_dns_name
        and actual.txt_values == [_txt(service.dns_config.get("Value", ""))]
    ):
        record = txt_record_name(service.dns_config, service.private_dns_name)
        plan.add(_record_delete("txt-record", actual.zone.id, record, "TXT", actual.txt_values))
    if service is not None:
        live = sorted(
            str(c["VpcEndpointId"])
            for c in service.connections
            if str(c.get("VpcEndpointState", "")).lower()
            in ("pendingacceptance", "pending", "available")
        )
        if live:
            plan.add(
                Step(
                    "connections",
                    "reject",
                    ", ".join(live),
                    "ec2",
                    "reject_vpc_endpoint_connections",
                    {"ServiceId": service.id, "VpcEndpointIds": live},
                )
            )
        plan.add(
            Step(
                "endpoint-service",
                "delete",
                service.id,
                "ec2",
                "delete_vpc_endpoint_service_configurations",
                {"ServiceIds": [service.id]},
                ignore_not_found=True,
            )
        )
    if actual.listener is not None:
        plan.add(
            Step(
                "listener",
                "delete",
                actual.listener.arn,
                "elbv2",
                "delete_listener",
                {"ListenerArn": actual.listener.arn},
                ignore_not_found=True,
            )
        )
    if actual.load_balancer is not None:
        plan.add(
            Step(
                "load-balancer",
                "delete",
                actual.load_balancer.name,
                "elbv2",
                "delete_load_balancer",
                {"LoadBalancerArn": actual.load_balancer.arn},
                ignore_not_found=True,
            )
        )
    for tg in actual.target_groups:
        plan.add(
            Step(
                "target-group",
                "delete",
                tg.name,
                "elbv2",
                "delete_target_group",
                {"TargetGroupArn": tg.arn},
                ignore_not_found=True,
            )
        )
    cert = actual.certificate
    if cert is not None and cert.owned:
        if actual.zone is not None and actual.validation_cname is not None:
            rec = actual.validation_cname
            plan.add(
                _record_delete(
                    "validation-record", actual.zone.id, rec["Name"], rec["Type"], [rec["Value"]]
                )
            )
        plan.add(
            Step(
                "certificate",
                "delete",
                cert.arn,
                "acm",
                "delete_certificate",
                {"CertificateArn": cert.arn},
                ignore_not_found=True,
            )
        )
    return plan


def _record_delete(resource: str, zone: str, name: str, rtype: str, values: list[str]) -> Step:
    return Step(
        resource,
        "delete",
        f"{rtype} {name}",
        "route53",
        "change_resource_record_sets",
        {
            "HostedZoneId": zone,
            "ChangeBatch": {
                "Changes": [
                    {
                        "Action": "DELETE",
                        "ResourceRecordSet": {
                            "Name": name,
                            "Type": rtype,
                            "TTL": TXT_TTL,
                            "ResourceRecords": [{"Value": v} for v in values],
                        },
                    }
                ]
            },
        },
        ignore_not_found=True,
    )
