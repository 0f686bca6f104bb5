"""PrivateLink as AWS does it: endpoint services, interface endpoints, connections, private DNS.

What moto 5.2.5 gets wrong and this module makes faithful:

- service ids ``vpce-svc-`` + 17 hex digits; ``SupportedIpAddressTypes`` kept; ``ClientToken``;
- filters (``service-id``, ``service-name``, ``service-state``, ``tag:K``, ``tag-key``...) on
  ``DescribeVpcEndpointServiceConfigurations`` and ``DescribeVpcEndpoints``;
- allowed principals enforced: ``DescribeVpcEndpointServices`` and ``CreateVpcEndpoint`` see
  another account's service only when that account (``arn:aws:iam::<acct>:root``) or ``*`` is
  allowed, and fail with ``InvalidServiceName`` otherwise or for names that do not exist;
- private DNS verification: a real ``_name``/``vpce:value`` TXT challenge, ``pendingVerification``
  until ``StartVpcEndpointServicePrivateDnsVerification``, then ``verified`` only if the TXT
  record with the exact value is present in a public Route 53 zone (of any account), else
  ``failed``; consumers see ``PrivateDnsNameVerificationState``; ``PrivateDnsEnabled=true``
  fails while the name is not verified, or without the VPC's DNS attributes;
- endpoint lifecycle ``pending -> pendingAcceptance -> (accept) pending -> available`` or
  ``rejected``; without acceptance ``pending -> available``; ``deleting`` -> gone;
- ``DescribeVpcEndpointConnections``, ``Accept/RejectVpcEndpointConnections`` (with
  ``Unsuccessful`` items), and deleting a service with live connections is refused;
- the Resource Groups Tagging API lists endpoint services and endpoints.
"""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ec2.models.vpc_service_configuration import VPCServiceConfiguration
from moto.ec2.responses import EC2Response
from moto.ec2.utils import add_tag_specification

from ..state import STATE, now
from .core import AwsError, backends_in_region, response_method

__all__ = ["apply", "find_service", "service_dns_state", "txt_record_present"]

LIVE_STATES = ("pendingAcceptance", "pending", "available")
_HEX = "0123456789abcdef"
_DEFAULT_HOSTED_ZONE = "Z7HUB22UULQXV"  # the vpce.amazonaws.com zone id AWS returns (us-east-1)


def _hex(n: int) -> str:
    return "".join(secrets.choice(_HEX) for _ in range(n))


def _alnum(n: int, alphabet: str = string.ascii_lowercase + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


# ----------------------------------------------------------------------------------------------
# Private DNS name verification
# ----------------------------------------------------------------------------------------------
@dataclass
class DnsVerification:
    name: str
    value: str
    state: str = "pendingVerification"
    check_at: float | None = None  # when the started verification looks the record up

    @classmethod
    def new(cls) -> DnsVerification:
        return cls(
            name="_" + _alnum(20),
            value="vpce:" + _alnum(20, string.ascii_letters + string.digits),
        )


def _norm(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _txt_values(records: list[Any]) -> list[str]:
    values = []
    for record in records:
        raw = record.get("Value", "") if isinstance(record, dict) else str(record)
        raw = raw.strip()
        if raw.startswith('"'):  # one or more quoted strings, concatenated as DNS does
            parts = []
            for piece in raw.split('" "'):
                parts.append(piece.strip().strip('"'))
            raw = "".join(parts)
        values.append(raw)
    return values


def txt_record_present(private_dns_name: str, name: str, value: str) -> bool:
    """Is ``<name>.<domain>`` TXT ``value`` published in a public zone (any account)?

    ``domain`` is the private DNS name or one of its parents (verifying a parent domain covers
    its subdomains). The value compares case-sensitively, as AWS does.
    """
    from moto.route53.models import route53_backends

    base = _norm(private_dns_name)
    if base.startswith("*."):
        base = base[2:]
    labels = base.split(".")
    wanted = {f"{_norm(name)}.{'.'.join(labels[i:])}" for i in range(len(labels) - 1)}
    for _, backend in backends_in_region(route53_backends, "aws"):
        for zone in list(backend.zones.values()):
            if zone.private_zone:
                continue
            zone_name = _norm(zone.name)
            for rrset in zone.rrsets:
                record_name = _norm(rrset.name)
                if rrset.type != "TXT" or record_name not in wanted:
                    continue
                if not (record_name == zone_name or record_name.endswith("." + zone_name)):
                    continue
                if value in _txt_values(rrset.records):
                    return True
    return False


def service_dns_state(config: Any) -> DnsVerification | None:
    """The service's verification, advanced to now (the TXT lookup happens when it is due)."""
    dns: DnsVerification | None = getattr(config, "_plo_dns", None)
    if dns is None or not config.private_dns_name:
        return None
    if dns.state == "pendingVerification" and dns.check_at is not None and now() >= dns.check_at:
        present = txt_record_present(config.private_dns_name, dns.name, dns.value)
        dns.state = "verified" if present else "failed"
        dns.check_at = None
    return dns


# ----------------------------------------------------------------------------------------------
# Services across accounts
# ----------------------------------------------------------------------------------------------
def _all_services(region: str) -> list[Any]:
    return [
        config
        for _, backend in backends_in_region(ec2_backends, region)
        for config in list(backend.configurations.values())
    ]


def find_service(region: str, service_name: str) -> Any | None:
    for config in _all_services(region):
        if config.service_name == service_name:
            return config
    return None


def _owner(config: Any) -> str:
    return str(config.ec2_backend.account_id)


def _visible(config: Any, account: str) -> bool:
    """AWS shows a service to its owner and to allowed principals (``*`` or the account root)."""
    if _owner(config) == account:
        return True
    allowed = set(config.principals)
    return "*" in allowed or any(
        p.startswith("arn:") and p.split(":")[4] == account and p.endswith(":root")
        for p in allowed
        if p.count(":") >= 5
    )


def _tag_dict(resource: Any) -> dict[str, str]:
    """The resource's tags, straight from the backend's tag table by resource id: moto's
    ``get_tags`` scans every tag of the region for each resource, so describing N services
    cost O(N^2) and the emulator, not AWS's rate limits, set the pace at N=1000."""
    table = getattr(getattr(resource, "ec2_backend", None), "tags", None)
    if isinstance(table, dict):
        return dict(table.get(resource.id, {}))
    return {t["key"]: t["value"] for t in resource.get_tags()}


def _tags_of(resource: Any) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in _tag_dict(resource).items()]


def _service_configuration(config: Any) -> dict[str, Any]:
    dns = service_dns_state(config)
    result: dict[str, Any] = {
        "ServiceType": [{"ServiceType": config._service_type_name}],
        "ServiceId": config.id,
        "ServiceName": config.service_name,
        "ServiceState": config.service_state,
        "AvailabilityZones": sorted(set(config.availability_zones)),
        "AcceptanceRequired": bool(config.acceptance_required),
        "ManagesVpcEndpoints": False,
        "NetworkLoadBalancerArns": list(config.network_load_balancer_arns),
        "GatewayLoadBalancerArns": list(config.gateway_load_balancer_arns),
        "SupportedIpAddressTypes": list(getattr(config, "_plo_ip_types", ["ipv4"])),
        "BaseEndpointDnsNames": [config.endpoint_dns_name],
        "PayerResponsibility": getattr(config, "_plo_payer", "ServiceOwner"),
        "Tags": _tags_of(config),
        "SupportedRegions": [
            {"Region": r, "ServiceState": "Available"} for r in config._supported_region_names
        ],
    }
    if config.private_dns_name:
        result["PrivateDnsName"] = config.private_dns_name
    if dns is not None:
        result["PrivateDnsNameConfiguration"] = {
            "State": dns.state,
            "Type": "TXT",
            "Value": dns.value,
            "Name": dns.name,
        }
    return result


def _service_detail(config: Any, region: str) -> dict[str, Any]:
    """A service as a consumer sees it in DescribeVpcEndpointServices."""
    dns = service_dns_state(config)
    detail: dict[str, Any] = {
        "ServiceName": config.service_name,
        "ServiceId": config.id,
        "ServiceType": [{"ServiceType": config._service_type_name}],
        "ServiceRegion": region,
        "AvailabilityZones": sorted(set(config.availability_zones)),
        "Owner": _owner(config),
        "BaseEndpointDnsNames": [config.endpoint_dns_name],
        "VpcEndpointPolicySupported": False,
        "AcceptanceRequired": bool(config.acceptance_required),
        "ManagesVpcEndpoints": False,
        "PayerResponsibility": getattr(config, "_plo_payer", "ServiceOwner"),
        "SupportedIpAddressTypes": list(getattr(config, "_plo_ip_types", ["ipv4"])),
        "Tags": _tags_of(config),
    }
    if config.private_dns_name and dns is not None:
        detail["PrivateDnsName"] = config.private_dns_name
        detail["PrivateDnsNames"] = [{"PrivateDnsName": config.private_dns_name}]
        detail["PrivateDnsNameVerificationState"] = dns.state
    return detail


# ----------------------------------------------------------------------------------------------
# Filters (AWS semantics: values within a filter OR, filters AND, * and ? wildcards)
# ----------------------------------------------------------------------------------------------
def _filters(response: Any) -> list[tuple[str, list[str]]]:
    out = []
    for item in response._get_param("Filters", []) or []:
        values = item.get("Values", item.get("Value", [])) or []
        if isinstance(values, str):
            values = [values]
        out.append((str(item.get("Name", "")), [str(v) for v in values]))
    return out


def _match(
    filters: list[tuple[str, list[str]]], fields: dict[str, Any], tags: dict[str, str]
) -> bool:
    for name, values in filters:
        if name.startswith("tag:"):
            key = name[4:]
            candidates = [tags[key]] if key in tags else []
        elif name == "tag-key":
            candidates = list(tags)
        elif name == "tag-value":
            candidates = list(tags.values())
        elif name in fields:
            raw = fields[name]
            candidates = [str(v) for v in raw] if isinstance(raw, list) else [str(raw)]
        else:
            raise AwsError("InvalidParameterValue", f"The filter '{name}' is invalid")
        if not any(fnmatchcase(c, v) for c in candidates for v in values):
            return False
    return True


def _paginate(response: Any, items: list[Any], key: str) -> dict[str, Any]:
    max_results = response._get_int_param("MaxResults") or 1000
    token = response._get_param("NextToken")
    start = int(token) if token and str(token).isdigit() else 0
    page = items[start : start + max_results]
    result: dict[str, Any] = {key: page}
    if start + max_results < len(items):
        result["NextToken"] = str(start + max_results)
    return result


# ----------------------------------------------------------------------------------------------
# Endpoints: lifecycle
# ----------------------------------------------------------------------------------------------
def _schedule(endpoint: Any, *steps: tuple[float, str]) -> None:
    """Set the endpoint's state to the first step's and queue the rest at their delays."""
    at = now()
    plan: list[tuple[float, str]] = []
    for delay, state in steps:
        at += delay
        plan.append((at, state))
    endpoint.state = plan[0][1]
    endpoint._plo_plan = plan[1:]
    endpoint._plo_since = datetime.now(UTC)
    advance_endpoint(endpoint)


def advance_endpoint(endpoint: Any) -> None:
    plan: list[tuple[float, str]] = getattr(endpoint, "_plo_plan", [])
    t = now()
    while plan and plan[0][0] <= t:
        endpoint.state = plan.pop(0)[1]


def _live_endpoints(region: str) -> list[Any]:
    """Every endpoint in the region, all accounts, advanced to now; gone ones dropped."""
    result = []
    for _, backend in backends_in_region(ec2_backends, region):
        for endpoint_id, endpoint in list(backend.vpc_end_points.items()):
            advance_endpoint(endpoint)
            if endpoint.state in ("deleted", "gone"):
                backend.vpc_end_points.pop(endpoint_id, None)
                continue
            result.append(endpoint)
    return result


def _connections_of(config: Any, region: str) -> list[Any]:
    return [
        e
        for e in _live_endpoints(region)
        if getattr(e, "_plo_service_id", None) == config.id
        and e.service_name == config.service_name
    ]


def _dns_entries(endpoint_id: str, config: Any | None, service_name: str, region: str) -> list[Any]:
    suffix = f"{config.id}.{region}.vpce.amazonaws.com" if config else service_name
    token = _alnum(8)
    entries = [{"DnsName": f"{endpoint_id}-{token}.{suffix}", "HostedZoneId": _DEFAULT_HOSTED_ZONE}]
    for az in sorted(set(config.availability_zones)) if config else []:
        entries.append(
            {
                "DnsName": f"{endpoint_id}-{token}-{az}.{suffix}",
                "HostedZoneId": _DEFAULT_HOSTED_ZONE,
            }
        )
    return entries


def _endpoint_dict(endpoint: Any, region: str) -> dict[str, Any]:
    entries = list(getattr(endpoint, "_plo_dns_entries", []) or [])
    config = getattr(endpoint, "_plo_service", None)
    if (
        endpoint.private_dns_enabled
        and config is not None
        and config.private_dns_name
        and endpoint.state == "available"
    ):
        entries.append({"DnsName": config.private_dns_name, "HostedZoneId": _alnum(21).upper()})
    result: dict[str, Any] = {
        "VpcEndpointId": endpoint.id,
        "VpcEndpointType": endpoint.vpc_endpoint_type or "Gateway",
        "VpcId": endpoint.vpc_id,
        "ServiceName": endpoint.service_name,
        "State": endpoint.state,
        "PolicyDocument": endpoint.policy_document,
        "RouteTableIds": list(endpoint.route_table_ids or []),
        "SubnetIds": list(endpoint.subnet_ids or []),
        "Groups": endpoint.groups,
        "IpAddressType": getattr(endpoint, "_plo_ip_type", "ipv4"),
        "DnsOptions": {"DnsRecordIpType": getattr(endpoint, "_plo_ip_type", "ipv4")},
        "PrivateDnsEnabled": bool(endpoint.private_dns_enabled),
        "RequesterManaged": False,
        "NetworkInterfaceIds": list(endpoint.network_interface_ids or []),
        "DnsEntries": entries,
        "CreationTimestamp": endpoint.creation_timestamp,
        "Tags": _tags_of(endpoint),
        "OwnerId": endpoint.ec2_backend.account_id,
    }
    if getattr(endpoint, "_plo_service_region", None):
        result["ServiceRegion"] = endpoint._plo_service_region
    if endpoint.state == "rejected":
        result["LastError"] = {
            "Code": "Rejected",
            "Message": "The endpoint connection was rejected by the service owner",
        }
    return result


def _endpoint_not_found(endpoint_id: str) -> Exception:
    return AwsError(
        "InvalidVpcEndpointId.NotFound", f"The Vpc Endpoint Id '{endpoint_id}' does not exist"
    )


def _no_private_dns(service_name: str) -> Exception:
    return AwsError(
        "InvalidParameter",
        f"Private DNS can't be enabled because the service {service_name} "
        "does not provide a private DNS name.",
    )


def _name_verified(config: Any) -> bool:
    dns = service_dns_state(config)
    return dns is not None and dns.state == "verified"


def _check_vpc_dns_attributes(vpc: Any) -> None:
    if not (_bool(vpc.enable_dns_support) and _bool(vpc.enable_dns_hostnames)):
        raise AwsError(
            "InvalidParameter",
            "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames "
            f"VPC attributes set to true for {vpc.id}",
        )


def _find_own_service(backend: Any, service_id: str) -> Any:
    config = backend.configurations.get(service_id)
    if config is None:
        raise AwsError(
            "InvalidVpcEndpointServiceId.NotFound",
            f"The VpcEndpointService Id '{service_id}' does not exist",
        )
    return config


_PRINCIPAL = r"arn:aws[a-z-]*:iam::\d{12}:(root|user/[\w+=,.@-]+|role/[\w+=,.@-]+)"


def _check_principal(principal: str) -> None:
    import re

    if principal == "*" or re.fullmatch(_PRINCIPAL, principal):
        return
    if re.fullmatch(r"\d{12}", principal):
        return
    raise AwsError("InvalidPrincipal", f"Invalid Principal: '{principal}'")


# ----------------------------------------------------------------------------------------------
# Installation
# ----------------------------------------------------------------------------------------------
def _iter_tagged_resources(original: Any) -> Any:
    """Add endpoint services and endpoints to the Resource Groups Tagging API's listing."""
    from moto.core.resource_tagging import TaggedResource

    def iter_tagged_resources(self: Any) -> Any:
        yield from original(self)
        prefix = f"arn:{self.partition}:ec2:{self.region_name}:{self.account_id}"
        for config in list(self.configurations.values()):
            yield TaggedResource(
                arn=f"{prefix}:vpc-endpoint-service/{config.id}",
                tags=dict(self.tags.get(config.id, {})),
                resource_type="ec2:vpc-endpoint-service",
            )
        for endpoint in list(self.vpc_end_points.values()):
            advance_endpoint(endpoint)
            if endpoint.state in ("deleted", "gone"):
                continue
            yield TaggedResource(
                arn=f"{prefix}:vpc-endpoint/{endpoint.id}",
                tags=dict(self.tags.get(endpoint.id, {})),
                resource_type="ec2:vpc-endpoint",
            )

    return iter_tagged_resources


def apply() -> None:
    from moto.ec2.models import EC2Backend

    setattr(  # noqa: B010
        EC2Backend,
        "iter_tagged_resources",
        _iter_tagged_resources(EC2Backend.iter_tagged_resources),
    )
    original_init = VPCServiceConfiguration.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        region = kwargs.get("region") or args[1]
        self.id = f"vpce-svc-{_hex(17)}"
        self.service_name = f"com.amazonaws.vpce.{region}.{self.id}"
        self.endpoint_dns_name = f"{self.id}.{region}.vpce.amazonaws.com"
        self._plo_dns = DnsVerification.new() if self.private_dns_name else None
        self._plo_ip_types = ["ipv4"]

    setattr(VPCServiceConfiguration, "__init__", init)  # noqa: B010
    setattr(  # noqa: B010
        VPCServiceConfiguration,
        "private_dns_name_configuration",
        property(lambda self: _service_configuration(self).get("PrivateDnsNameConfiguration", {})),
    )

    E = EC2Response

    # -- provider: endpoint services ---------------------------------------------------------
    @response_method(E, "create_vpc_endpoint_service_configuration")
    def create_service(self: Any) -> ActionResult:
        token = self._get_param("ClientToken")
        backend = self.ec2_backend
        tokens: dict[str, str] = backend.__dict__.setdefault("_plo_service_tokens", {})
        if token and token in tokens and tokens[token] in backend.configurations:
            return ActionResult(
                {
                    "ServiceConfiguration": _service_configuration(
                        backend.configurations[tokens[token]]
                    ),
                    "ClientToken": token,
                }
            )
        nlbs = self._get_param("NetworkLoadBalancerArns", []) or []
        glbs = self._get_param("GatewayLoadBalancerArns", []) or []
        if not nlbs and not glbs:
            raise AwsError(
                "InvalidParameter",
                "exactly one of NetworkLoadBalancerArns or GatewayLoadBalancerArns is required",
            )
        lbs = backend.elbv2_backend.describe_load_balancers(arns=nlbs or glbs, names=None)
        for lb in lbs:
            if nlbs and lb.type != "network":
                raise AwsError(
                    "InvalidParameter", f"Load balancer {lb.arn} is not a network load balancer"
                )
        ip_types = self._get_param("SupportedIpAddressTypes", []) or ["ipv4"]
        for ip_type in ip_types:
            if ip_type not in ("ipv4", "ipv6"):
                raise AwsError("InvalidParameter", f"Invalid SupportedIpAddressType '{ip_type}'")
        private_dns_name = self._get_param("PrivateDnsName")
        acceptance = self._get_param("AcceptanceRequired")
        tags = add_tag_specification(self._get_param("TagSpecifications", []))
        config = backend.create_vpc_endpoint_service_configuration(
            nlbs or glbs,
            acceptance_required=True if acceptance is None else _bool(acceptance),
            private_dns_name=private_dns_name,
            tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            supported_regions=self._get_param("SupportedRegions", []) or [],
        )
        config._plo_ip_types = list(ip_types)
        if token:
            tokens[token] = config.id
        result: dict[str, Any] = {"ServiceConfiguration": _service_configuration(config)}
        if token:
            result["ClientToken"] = token
        return ActionResult(result)

    @response_method(E, "describe_vpc_endpoint_service_configurations")
    def describe_services(self: Any) -> ActionResult:
        ids = self._get_param("ServiceIds", []) or []
        configs = list(self.ec2_backend.configurations.values())
        if ids:
            configs = [_find_own_service(self.ec2_backend, i) for i in ids]
        filters = _filters(self)
        selected = []
        for config in configs:
            fields = {
                "service-id": config.id,
                "service-name": config.service_name,
                "service-state": config.service_state,
                "supported-ip-address-types": list(getattr(config, "_plo_ip_types", ["ipv4"])),
            }
            if _match(filters, fields, _tag_dict(config)):
                selected.append(_service_configuration(config))
        return ActionResult(_paginate(self, selected, "ServiceConfigurations"))

    @response_method(E, "modify_vpc_endpoint_service_configuration")
    def modify_service(self: Any) -> ActionResult:
        config = _find_own_service(self.ec2_backend, self._get_param("ServiceId"))
        name = self._get_param("PrivateDnsName")
        if _bool(self._get_param("RemovePrivateDnsName")):
            config.private_dns_name = None
            config._plo_dns = None
        elif name is not None and name != config.private_dns_name:
            config.private_dns_name = name
            config._plo_dns = DnsVerification.new()
        acceptance = self._get_param("AcceptanceRequired")
        if acceptance is not None:
            config.acceptance_required = _bool(acceptance)
        for arn in self._get_param("AddNetworkLoadBalancerArns", []) or []:
            self.ec2_backend.elbv2_backend.describe_load_balancers(arns=[arn], names=None)
            if arn not in config.network_load_balancer_arns:
                config.network_load_balancer_arns.append(arn)
        for arn in self._get_param("RemoveNetworkLoadBalancerArns", []) or []:
            if arn in config.network_load_balancer_arns:
                config.network_load_balancer_arns.remove(arn)
        ip_types = list(getattr(config, "_plo_ip_types", ["ipv4"]))
        for ip_type in self._get_param("AddSupportedIpAddressTypes", []) or []:
            if ip_type not in ("ipv4", "ipv6"):
                raise AwsError("InvalidParameter", f"Invalid SupportedIpAddressType '{ip_type}'")
            if ip_type not in ip_types:
                ip_types.append(ip_type)
        for ip_type in self._get_param("RemoveSupportedIpAddressTypes", []) or []:
            if ip_type in ip_types:
                ip_types.remove(ip_type)
        if not ip_types:
            raise AwsError(
                "InvalidParameter", "An endpoint service must support at least one IP address type"
            )
        config._plo_ip_types = ip_types
        for region in self._get_param("AddSupportedRegions", []) or []:
            if region not in config._supported_region_names:
                config._supported_region_names.append(region)
        for region in self._get_param("RemoveSupportedRegions", []) or []:
            if region in config._supported_region_names:
                config._supported_region_names.remove(region)
        return ActionResult({"Return": True})

    @response_method(E, "modify_vpc_endpoint_service_permissions")
    def modify_permissions(self: Any) -> ActionResult:
        config = _find_own_service(self.ec2_backend, self._get_param("ServiceId"))
        add = self._get_param("AddAllowedPrincipals", []) or []
        remove = self._get_param("RemoveAllowedPrincipals", []) or []
        for principal in add:
            _check_principal(principal)
        principals = [p for p in config.principals if p not in remove]
        added = []
        for principal in add:
            if principal not in principals:
                principals.append(principal)
            added.append(
                {
                    "PrincipalType": _principal_type(principal),
                    "Principal": principal,
                    "ServicePermissionId": f"vpce-svc-perm-{_hex(17)}",
                    "ServiceId": config.id,
                }
            )
        config.principals = principals
        result: dict[str, Any] = {"ReturnValue": True}
        if added:
            result["AddedPrincipals"] = added
        return ActionResult(result)

    @response_method(E, "describe_vpc_endpoint_service_permissions")
    def describe_permissions(self: Any) -> ActionResult:
        config = _find_own_service(self.ec2_backend, self._get_param("ServiceId"))
        allowed = [{"PrincipalType": _principal_type(p), "Principal": p} for p in config.principals]
        return ActionResult(_paginate(self, allowed, "AllowedPrincipals"))

    @response_method(E, "start_vpc_endpoint_service_private_dns_verification")
    def start_verification(self: Any) -> ActionResult:
        config = _find_own_service(self.ec2_backend, self._get_param("ServiceId"))
        dns = service_dns_state(config)
        if dns is None:
            raise AwsError(
                "InvalidParameter",
                f"The service {config.id} does not have a private DNS name to verify",
            )
        if dns.state != "verified":
            dns.state = "pendingVerification"
            dns.check_at = now() + STATE.delays.dns_verification
            service_dns_state(config)
        return ActionResult({"ReturnValue": True})

    @response_method(E, "delete_vpc_endpoint_service_configurations")
    def delete_services(self: Any) -> ActionResult:
        unsuccessful = []
        for service_id in self._get_param("ServiceIds", []) or []:
            config = self.ec2_backend.configurations.get(service_id)
            if config is None:
                unsuccessful.append(
                    _failure(
                        service_id,
                        "InvalidVpcEndpointService.NotFound",
                        f"The VpcEndpointService Id '{service_id}' does not exist",
                    )
                )
                continue
            live = [e for e in _connections_of(config, self.region) if e.state in LIVE_STATES]
            if live:
                unsuccessful.append(
                    _failure(
                        service_id,
                        "ExistingVpcEndpointConnections",
                        "Service has existing active VPC Endpoint connections: "
                        + ", ".join(e.id for e in live),
                    )
                )
                continue
            self.ec2_backend.configurations.pop(service_id, None)
        return ActionResult({"Unsuccessful": unsuccessful})

    # -- provider: connections ---------------------------------------------------------------
    @response_method(E, "describe_vpc_endpoint_connections")
    def describe_connections(self: Any) -> ActionResult:
        filters = _filters(self)
        rows = []
        for config in list(self.ec2_backend.configurations.values()):
            for endpoint in _connections_of(config, self.region):
                fields = {
                    "service-id": config.id,
                    "vpc-endpoint-owner": endpoint.ec2_backend.account_id,
                    "vpc-endpoint-state": endpoint.state,
                    "vpc-endpoint-id": endpoint.id,
                    "vpc-endpoint-region": self.region,
                }
                if not _match(filters, fields, {}):
                    continue
                rows.append(
                    {
                        "ServiceId": config.id,
                        "VpcEndpointId": endpoint.id,
                        "VpcEndpointOwner": endpoint.ec2_backend.account_id,
                        "VpcEndpointState": endpoint.state,
                        "CreationTimestamp": endpoint.creation_timestamp,
                        "DnsEntries": list(getattr(endpoint, "_plo_dns_entries", [])),
                        "NetworkLoadBalancerArns": list(config.network_load_balancer_arns),
                        "GatewayLoadBalancerArns": list(config.gateway_load_balancer_arns),
                        "IpAddressType": getattr(endpoint, "_plo_ip_type", "ipv4"),
                        "VpcEndpointConnectionId": endpoint._plo_connection_id,
                        "Tags": [],
                        "VpcEndpointRegion": self.region,
                    }
                )
        return ActionResult(_paginate(self, rows, "VpcEndpointConnections"))

    def _decide(self: Any, accept: bool) -> ActionResult:
        config = _find_own_service(self.ec2_backend, self._get_param("ServiceId"))
        by_id = {e.id: e for e in _connections_of(config, self.region)}
        unsuccessful = []
        for endpoint_id in self._get_param("VpcEndpointIds", []) or []:
            endpoint = by_id.get(endpoint_id)
            if endpoint is None:
                unsuccessful.append(
                    _failure(
                        endpoint_id,
                        "InvalidVpcEndpointId.NotFound",
                        f"The Vpc Endpoint Id '{endpoint_id}' does not exist",
                    )
                )
            elif accept and endpoint.state != "pendingAcceptance":
                unsuccessful.append(
                    _failure(
                        endpoint_id,
                        "InvalidState",
                        f"Endpoint {endpoint_id} is {endpoint.state}: only connections in "
                        "pendingAcceptance can be accepted",
                    )
                )
            elif not accept and endpoint.state not in LIVE_STATES:
                unsuccessful.append(
                    _failure(
                        endpoint_id,
                        "InvalidState",
                        f"Endpoint {endpoint_id} is {endpoint.state} and cannot be rejected",
                    )
                )
            elif accept:
                _schedule(endpoint, (0.0, "pending"), (STATE.delays.endpoint, "available"))
            else:
                _schedule(endpoint, (0.0, "rejected"))
        return ActionResult({"Unsuccessful": unsuccessful})

    @response_method(E, "accept_vpc_endpoint_connections")
    def accept(self: Any) -> ActionResult:
        return _decide(self, True)

    @response_method(E, "reject_vpc_endpoint_connections")
    def reject(self: Any) -> ActionResult:
        return _decide(self, False)

    # -- consumer ----------------------------------------------------------------------------
    @response_method(E, "describe_vpc_endpoint_services")
    def describe_visible_services(self: Any) -> ActionResult:
        account = self.current_account
        region = self.region
        names = self._get_param("ServiceNames", []) or []
        defaults = self.ec2_backend._collect_default_endpoint_services(account, region)
        details = [dict(d) for d in defaults]
        details += [
            _service_detail(c, region) for c in _all_services(region) if _visible(c, account)
        ]
        known = {d["ServiceName"] for d in details}
        for name in names:
            if name not in known:
                raise AwsError(
                    "InvalidServiceName", f"The Vpc Endpoint Service '{name}' does not exist"
                )
        filters = _filters(self)
        selected = []
        for detail in sorted(details, key=lambda d: str(d["ServiceName"])):
            if names and detail["ServiceName"] not in names:
                continue
            fields = {
                "service-name": detail["ServiceName"],
                "service-type": [t["ServiceType"] for t in detail.get("ServiceType", [])],
                "owner": detail.get("Owner", "amazon"),
                "supported-ip-address-types": detail.get("SupportedIpAddressTypes", ["ipv4"]),
                "service-region": detail.get("ServiceRegion", region),
            }
            tags = {t["Key"]: t["Value"] for t in detail.get("Tags") or []}
            if _match(filters, fields, tags):
                selected.append(detail)
        page = _paginate(self, selected, "ServiceDetails")
        page["ServiceNames"] = [d["ServiceName"] for d in page["ServiceDetails"]]
        return ActionResult(page)

    @response_method(E, "create_vpc_endpoint")
    def create_endpoint(self: Any) -> ActionResult:
        backend = self.ec2_backend
        region = self.region
        account = self.current_account
        token = self._get_param("ClientToken")
        if token:
            for endpoint in _live_endpoints(region):
                if endpoint.ec2_backend is backend and endpoint.client_token == token:
                    return ActionResult(
                        {"VpcEndpoint": _endpoint_dict(endpoint, region), "ClientToken": token}
                    )
        endpoint_type = self._get_param("VpcEndpointType") or "Gateway"
        service_name = self._get_param("ServiceName")
        vpc_id = self._get_param("VpcId")
        vpc = backend.get_vpc(vpc_id)
        config = find_service(region, service_name)
        default_names = {
            d["ServiceName"] for d in backend._collect_default_endpoint_services(account, region)
        }
        if config is None and service_name not in default_names:
            raise AwsError(
                "InvalidServiceName", f"The Vpc Endpoint Service '{service_name}' does not exist"
            )
        if config is not None and not _visible(config, account):
            raise AwsError(
                "InvalidServiceName", f"The Vpc Endpoint Service '{service_name}' does not exist"
            )
        requested = self._get_param("PrivateDnsEnabled")
        private_dns = endpoint_type.lower() == "interface" and (
            _bool(requested) if requested is not None else True
        )
        if config is not None and private_dns and not _name_verified(config):
            if requested is not None:
                raise _no_private_dns(service_name)
            private_dns = False  # the default quietly does not apply
        if private_dns:
            _check_vpc_dns_attributes(vpc)
        ip_type = self._get_param("IpAddressType") or "ipv4"
        supported = getattr(config, "_plo_ip_types", ["ipv4"]) if config else ["ipv4", "ipv6"]
        if (ip_type in ("ipv4", "ipv6") and ip_type not in supported) or (
            ip_type == "dualstack" and not {"ipv4", "ipv6"} <= set(supported)
        ):
            raise AwsError(
                "InvalidParameter",
                f"The VPC endpoint service {service_name} does not support the IP address "
                f"type {ip_type}.",
            )
        endpoint = backend.create_vpc_endpoint(
            vpc_id=vpc_id,
            service_name=service_name,
            endpoint_type=endpoint_type,
            policy_document=self._get_param("PolicyDocument"),
            route_table_ids=self._get_param("RouteTableIds", []) or [],
            subnet_ids=self._get_param("SubnetIds", []) or [],
            client_token=token,
            security_group_ids=self._get_param("SecurityGroupIds", []) or [],
            tags=add_tag_specification(self._get_param("TagSpecifications", [])),
            private_dns_enabled=private_dns,
        )
        endpoint._plo_ip_type = ip_type
        endpoint._plo_connection_id = f"vpce-con-{uuid.uuid4().hex[:17]}"
        endpoint._plo_service_region = self._get_param("ServiceRegion")
        if config is not None:
            endpoint._plo_service = config
            endpoint._plo_service_id = config.id
            endpoint._plo_dns_entries = _dns_entries(endpoint.id, config, service_name, region)
            if config.acceptance_required:
                _schedule(
                    endpoint, (0.0, "pending"), (STATE.delays.acceptance, "pendingAcceptance")
                )
            else:
                _schedule(endpoint, (0.0, "pending"), (STATE.delays.endpoint, "available"))
        else:
            endpoint._plo_dns_entries = (
                _dns_entries(endpoint.id, None, service_name, region)
                if endpoint_type.lower() == "interface"
                else []
            )
            if endpoint_type.lower() == "interface":
                _schedule(endpoint, (0.0, "pending"), (STATE.delays.endpoint, "available"))
        result: dict[str, Any] = {"VpcEndpoint": _endpoint_dict(endpoint, region)}
        if token:
            result["ClientToken"] = token
        return ActionResult(result)

    @response_method(E, "describe_vpc_endpoints")
    def describe_endpoints(self: Any) -> ActionResult:
        region = self.region
        mine = [e for e in _live_endpoints(region) if e.ec2_backend is self.ec2_backend]
        ids = self._get_param("VpcEndpointIds", []) or []
        if ids:
            known = {e.id for e in mine}
            for endpoint_id in ids:
                if endpoint_id not in known:
                    raise _endpoint_not_found(endpoint_id)
            mine = [e for e in mine if e.id in ids]
        filters = _filters(self)
        selected = []
        for endpoint in mine:
            fields = {
                "service-name": endpoint.service_name,
                "vpc-id": endpoint.vpc_id,
                "vpc-endpoint-id": endpoint.id,
                "vpc-endpoint-state": endpoint.state,
                "vpc-endpoint-type": endpoint.vpc_endpoint_type or "Gateway",
                "ip-address-type": getattr(endpoint, "_plo_ip_type", "ipv4"),
            }
            if _match(filters, fields, _tag_dict(endpoint)):
                selected.append(_endpoint_dict(endpoint, region))
        return ActionResult(_paginate(self, selected, "VpcEndpoints"))

    original_modify_endpoint = E.modify_vpc_endpoint

    @response_method(E, "modify_vpc_endpoint")
    def modify_endpoint(self: Any) -> Any:
        endpoint_id = self._get_param("VpcEndpointId")
        mine = {e.id: e for e in _live_endpoints(self.region) if e.ec2_backend is self.ec2_backend}
        endpoint = mine.get(endpoint_id)
        if endpoint is None:
            raise _endpoint_not_found(endpoint_id)
        requested = self._get_param("PrivateDnsEnabled")
        if requested is not None and _bool(requested) and not endpoint.private_dns_enabled:
            config = getattr(endpoint, "_plo_service", None)
            if config is not None and not _name_verified(config):
                raise _no_private_dns(endpoint.service_name)
            _check_vpc_dns_attributes(self.ec2_backend.get_vpc(endpoint.vpc_id))
        answer = original_modify_endpoint(self)
        if requested is not None:
            endpoint.private_dns_enabled = _bool(requested)
        return answer

    @response_method(E, "delete_vpc_endpoints")
    def delete_endpoints(self: Any) -> ActionResult:
        region = self.region
        mine = {e.id: e for e in _live_endpoints(region) if e.ec2_backend is self.ec2_backend}
        unsuccessful = []
        for endpoint_id in self._get_param("VpcEndpointIds", []) or []:
            endpoint = mine.get(endpoint_id)
            if endpoint is None:
                unsuccessful.append(
                    _failure(
                        endpoint_id,
                        "InvalidVpcEndpoint.NotFound",
                        f"The VpcEndpoint Id '{endpoint_id}' does not exist",
                    )
                )
                continue
            if endpoint.state == "deleting":
                continue
            state_before = endpoint.state
            self.ec2_backend.delete_vpc_endpoints(vpce_ids=[endpoint_id])
            endpoint.state = state_before
            _schedule(endpoint, (0.0, "deleting"), (STATE.delays.endpoint_deletion, "gone"))
        _live_endpoints(region)
        return ActionResult({"Unsuccessful": unsuccessful})


def _principal_type(principal: str) -> str:
    if principal == "*":
        return "All"
    if ":role/" in principal:
        return "Role"
    if ":user/" in principal:
        return "User"
    return "Account"


def _failure(resource_id: str, code: str, message: str) -> dict[str, Any]:
    return {"ResourceId": resource_id, "Error": {"Code": code, "Message": message}}


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"
