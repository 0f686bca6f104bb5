"""The custom resources' spec and status, as pydantic models: the single source of truth.

``crdgen`` turns these models into ``crds/*.yaml`` (structural OpenAPI schema, defaults, enums and
CEL rules); the operator parses objects with them. Field names are the public contract of
``API.md``: add fields, never rename or drop one.

Rules that the schema alone cannot say are written once, as CEL (``x-kubernetes-validations``):
the API server enforces them at admission, and ``model_validator`` below evaluates the same rules
when a model is built in Python (transition rules, which need ``oldSelf``, only at admission).
Formats (subnet ids, ARNs, hostnames) are CEL ``matches`` rules rather than OpenAPI ``pattern``s
so that the API server's message says what is wrong in words instead of quoting a regex.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from . import celrules

# -- shared pieces ------------------------------------------------------------------------------

AlpnPolicy = Literal["HTTP1Only", "HTTP2Only", "HTTP2Optional", "HTTP2Preferred", "None"]
DeletionPolicy = Literal["Delete", "Retain"]
ConditionStatus = Literal["True", "False", "Unknown"]

HOSTNAME_RE = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
SUBNET_RE = r"^subnet-[0-9a-z]+$"
SECURITY_GROUP_RE = r"^sg-[0-9a-z]+$"
VPC_RE = r"^vpc-[0-9a-z]+$"
PRINCIPAL_RE = (
    r"^arn:aws[a-z-]*:iam::[0-9]{12}:(root|role/[A-Za-z0-9+=,.@_-]+|user/[A-Za-z0-9+=,.@_-]+)$"
)
REGION_RE = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"
SERVICE_NAME_RE = r"^com\.amazonaws\.vpce\.[a-z]{2}(-[a-z]+)+-[0-9]+\.vpce-svc-[0-9a-z]+$"
ACM_ARN_RE = r"^arn:aws[a-z-]*:acm:"
HOSTED_ZONE_RE = r"^(/hostedzone/)?[A-Z0-9]{1,32}$"
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_RE = rf"^({_OCTET}\.){{3}}{_OCTET}$"
IPV4_CIDR_RE = IPV4_RE[:-1] + r"/([0-9]|[12][0-9]|3[0-2])$"
IPV6_CIDR_RE = r"^[0-9a-fA-F:]*:[0-9a-fA-F:.]*/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8])$"
INSTANCE_RE = r"^i-[0-9a-f]{8}([0-9a-f]{9})?$"
K8S_NAME_RE = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

_MAX_LIST = 64


def cel(rule: str, message: str, **extra: str) -> dict[str, Any]:
    """One ``x-kubernetes-validations`` entry."""
    return {"rule": rule, "message": message, **extra}


def _formats(name: str, regex: str, message: str) -> dict[str, Any]:
    return cel(f"self.matches(r'{regex}')", message.format(name=name))


def _schema_defaults(cls: type[BaseModel], schema: dict[str, Any]) -> None:
    """Put defaults made by ``default_factory`` into the schema, so the API server applies them.

    A nested model's default is ``{}``: the API server then fills in that model's own defaults.
    """
    properties = schema.get("properties", {})
    for name, field in cls.model_fields.items():
        prop = properties.get(field.alias or name)
        if prop is None or field.default_factory is None:
            continue
        value = field.default_factory()  # type: ignore[call-arg]
        prop["default"] = {} if isinstance(value, BaseModel) else value


class _Model(BaseModel):
    """camelCase on the wire, snake_case in Python; CEL rules of ``__cel__`` checked on build."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_default=True,
        strict=True,
    )
    __cel__: ClassVar[list[dict[str, Any]]] = []

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        schema: dict[str, Any] = super().__get_pydantic_json_schema__(core_schema, handler)
        target = handler.resolve_ref_schema(schema)
        _schema_defaults(cls, target)
        rules = cls.__dict__.get("__cel__")
        if rules:
            target["x-kubernetes-validations"] = list(rules)
        return schema

    @model_validator(mode="after")
    def _check_cel(self) -> Any:
        """The CEL rules of this model and of its fields (formats), as the API server runs them."""
        data = self.model_dump(by_alias=True, exclude_none=True, mode="json")
        failures = celrules.failed_messages(type(self).__dict__.get("__cel__", []), data)
        for name, field in type(self).model_fields.items():
            extra = field.json_schema_extra
            value = data.get(field.alias or name)
            if not isinstance(extra, dict) or value is None:
                continue
            rules: Any = extra.get("x-kubernetes-validations", [])
            failures += celrules.failed_messages(rules, value)
            if extra.get("x-kubernetes-list-type") == "set" and isinstance(value, list):
                duplicates = sorted({str(v) for i, v in enumerate(value) if v in value[:i]})
                if duplicates:
                    failures.append(f"{field.alias or name} lists {', '.join(duplicates)} twice")
            items: Any = extra.get("items", {})
            if isinstance(items, dict) and isinstance(value, list):
                for item in value:
                    failures += celrules.failed_messages(
                        items.get("x-kubernetes-validations", []), item
                    )
        if failures:
            raise ValueError("; ".join(dict.fromkeys(failures)))
        return self


class _Status(BaseModel):
    """Status models tolerate fields they do not know (an older operator reading a newer status)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


def _str_list(
    description: str, item_rule: dict[str, Any] | None = None, max_items: int = _MAX_LIST
) -> Any:
    items: dict[str, Any] = {"type": "string", "maxLength": 256}
    if item_rule:
        items["x-kubernetes-validations"] = [item_rule]
    return Field(
        default_factory=list,
        description=description,
        json_schema_extra={
            "items": items,
            "maxItems": max_items,
            "x-kubernetes-list-type": "set",
        },
    )


class Condition(_Status):
    """A kstatus condition (Ready, Reconciling, Stalled and one per part of the chain)."""

    type: str
    status: ConditionStatus
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None
    observed_generation: int | None = None


# -- PrivateLinkService -------------------------------------------------------------------------


class Listener(_Model):
    """The NLB's TLS listener: certificate, SSL policy and ALPN policy."""

    __cel__ = [
        cel(
            "has(self.certificateArn) != self.requestCertificate",
            "set exactly one of listener.certificateArn (an existing ACM certificate) and "
            "listener.requestCertificate: true (the operator requests one for privateDnsName)",
        ),
    ]

    port: int = Field(443, ge=1, le=65535, description="TLS listener port (default 443)")
    certificate_arn: str | None = Field(
        None,
        max_length=2048,
        description="ARN of an existing ACM certificate that covers privateDnsName",
        json_schema_extra={
            "x-kubernetes-validations": [
                _formats(
                    "certificateArn",
                    ACM_ARN_RE,
                    "{name} must be an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:"
                    "certificate/ID)",
                )
            ]
        },
    )
    request_certificate: bool = Field(
        False,
        description="request an ACM certificate for privateDnsName, DNS-validated through "
        "Route 53 (dns.hostedZoneId)",
    )
    ssl_policy: str = Field(
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        max_length=128,
        description="ELB security policy of the TLS listener",
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "self.matches(r'^ELBSecurityPolicy-[A-Za-z0-9-]+$')",
                    "sslPolicy must name an ELB security policy, such as "
                    "ELBSecurityPolicy-TLS13-1-2-2021-06",
                )
            ]
        },
    )
    alpn_policy: AlpnPolicy = Field(
        "HTTP2Preferred",
        description="ALPN policy of the TLS listener: HTTP2Preferred offers h2 then http/1.1; "
        "None offers no ALPN (clients then speak HTTP/1.1)",
    )


class ServiceRef(_Model):
    """A Service in the same namespace whose EndpointSlices' ready addresses become targets."""

    name: str = Field(
        ...,
        min_length=1,
        max_length=63,
        description="Service name",
        json_schema_extra={
            "x-kubernetes-validations": [
                _formats(
                    "serviceRef.name",
                    K8S_NAME_RE,
                    "{name} must be a Kubernetes Service name (lower-case letters, digits, '-')",
                )
            ]
        },
    )
    port: int | str | None = Field(
        None,
        description="the Service port (number or name) whose endpoints are the targets; "
        "omitted: the Service's only port",
    )


class Target(_Model):
    """A static target: an instance id (targetType instance) or an IP address (targetType ip)."""

    id: str = Field(..., min_length=1, max_length=64, description="instance id or IP address")
    port: int | None = Field(None, ge=1, le=65535, description="overrides backend.port")
    availability_zone: str | None = Field(
        None, max_length=64, description="'all' for IP targets outside the VPC"
    )


class HealthCheck(_Model):
    """The target group's health check."""

    __cel__ = [
        cel(
            "self.protocol == 'TCP' || has(self.path)",
            "healthCheck.path is required for HTTP and HTTPS health checks",
        ),
        cel(
            "self.timeoutSeconds < self.intervalSeconds",
            "healthCheck.timeoutSeconds must be less than intervalSeconds",
        ),
    ]

    protocol: Literal["TCP", "HTTP", "HTTPS"] = Field("TCP")
    port: int | None = Field(None, ge=1, le=65535, description="default: the traffic port")
    path: str | None = Field(
        None,
        max_length=1024,
        json_schema_extra={
            "x-kubernetes-validations": [
                cel("self.startsWith('/')", "healthCheck.path must start with /")
            ]
        },
    )
    interval_seconds: int = Field(10, ge=5, le=300)
    timeout_seconds: int = Field(6, ge=2, le=120)
    healthy_threshold: int = Field(3, ge=2, le=10)
    unhealthy_threshold: int = Field(3, ge=2, le=10)


class Backend(_Model):
    """The target group in front of the real servers."""

    __cel__ = [
        cel(
            "has(self.serviceRef) != (has(self.targets) && size(self.targets) > 0)",
            "set exactly one of backend.serviceRef (a Service whose ready endpoints become "
            "targets) and backend.targets (a static list)",
        ),
        cel(
            "!has(self.serviceRef) || self.targetType == 'ip'",
            "backend.serviceRef needs targetType ip: EndpointSlices hold IP addresses",
        ),
        cel(
            "!has(self.targets) || self.targetType != 'instance' || "
            f"self.targets.all(t, t.id.matches(r'{INSTANCE_RE}'))",
            "with targetType instance every target id must be an EC2 instance id (i-...)",
        ),
        cel(
            "!has(self.targets) || self.targetType != 'ip' || "
            f"self.targets.all(t, t.id.matches(r'{IPV4_RE}') || t.id.contains(':'))",
            "with targetType ip every target id must be an IP address",
        ),
    ]

    protocol: Literal["TLS", "TCP"] = Field(
        "TLS", description="TLS (default: HTTP/2 end to end) or TCP to the targets"
    )
    port: int = Field(..., ge=1, le=65535, description="target port")
    target_type: Literal["ip", "instance"] = Field("ip")
    service_ref: ServiceRef | None = None
    targets: list[Target] = Field(
        default_factory=list,
        json_schema_extra={"maxItems": 500, "x-kubernetes-list-type": "atomic"},
    )
    proxy_protocol_v2: bool = Field(
        False, description="send the client address and VPC endpoint id to targets"
    )
    health_check: HealthCheck | None = None


def _ipv4_only() -> list[Literal["ipv4", "ipv6"]]:
    return ["ipv4"]


class EndpointServiceSpec(_Model):
    """The VPC endpoint service on the NLB, and who may connect to it."""

    __cel__ = [
        cel(
            "!self.allowedPrincipals.exists(p, p == '*')",
            "allowedPrincipals must not contain '*': it would open the service to every AWS "
            "account; list account ARNs such as arn:aws:iam::123456789012:root",
        ),
        cel(
            "self.autoAcceptPrincipals.all(p, p in self.allowedPrincipals)",
            "every autoAcceptPrincipals entry must also be in allowedPrincipals",
        ),
    ]

    acceptance_required: bool = Field(
        True,
        description="connections wait for acceptance (auto-accepted from autoAcceptPrincipals)",
    )
    allowed_principals: list[str] = _str_list(
        "IAM principals (account root, role or user ARNs) allowed to connect",
        cel(
            f"self == '*' || self.matches(r'{PRINCIPAL_RE}')",
            "each principal must be an IAM ARN without a path: arn:aws:iam::ACCOUNT:root, "
            ":role/NAME or :user/NAME",
        ),
    )
    auto_accept_principals: list[str] = _str_list(
        "pending connections from these principals are accepted by the operator",
        cel(
            f"self.matches(r'{PRINCIPAL_RE}')",
            "each autoAcceptPrincipals entry must be an IAM ARN without a path",
        ),
    )
    supported_ip_address_types: list[Literal["ipv4", "ipv6"]] = Field(
        default_factory=_ipv4_only,
        min_length=1,
        json_schema_extra={"maxItems": 2, "x-kubernetes-list-type": "set"},
    )
    supported_regions: list[str] = _str_list(
        "regions from which consumers may connect (cross-region PrivateLink)",
        cel(f"self.matches(r'{REGION_RE}')", "each supportedRegions entry must be a region name"),
        max_items=32,
    )


class DnsSpec(_Model):
    """Where the TXT record that proves ownership of privateDnsName goes."""

    __cel__ = [
        cel(
            f"!has(self.hostedZoneId) || self.hostedZoneId.matches(r'{HOSTED_ZONE_RE}')",
            "dns.hostedZoneId must be a Route 53 hosted zone id such as Z0123456789ABC",
        )
    ]

    hosted_zone_id: str | None = Field(
        None,
        max_length=64,
        description="public Route 53 zone for the TXT ownership record; omitted: the "
        "longest-suffix public zone in the account",
    )
    mode: Literal["Route53", "Manual"] = Field(
        "Route53", description="Manual: publish nothing, report the record in status"
    )


def _id_set(name: str, regex: str, what: str, max_items: int) -> dict[str, Any]:
    """Schema of a list of AWS ids: unique, bounded, each checked with a worded CEL rule."""
    return {
        "maxItems": max_items,
        "x-kubernetes-list-type": "set",
        "items": {
            "type": "string",
            "maxLength": 64,
            "x-kubernetes-validations": [
                _formats(name, regex, f"each {{name}} entry must be {what}")
            ],
        },
    }


def _tags_field() -> Any:
    return Field(
        default_factory=dict,
        description="extra AWS tags on everything created",
        json_schema_extra={
            "maxProperties": 40,
            "additionalProperties": {"type": "string", "maxLength": 256},
            "x-kubernetes-validations": [
                cel(
                    "self.all(k, !k.startsWith('aws:') && "
                    "!k.startsWith('privatelink.operator.dev/') && size(k) <= 128)",
                    "tag keys must be at most 128 characters and must not start with 'aws:' or "
                    "'privatelink.operator.dev/' (reserved for AWS and for ownership tags)",
                )
            ],
        },
    )


class PrivateLinkServiceSpec(_Model):
    """Provider side: certificate, NLB with TLS/ALPN listener, target group, endpoint service."""

    __cel__ = [
        cel(
            "!self.listener.requestCertificate || has(self.privateDnsName)",
            "listener.requestCertificate needs privateDnsName: the certificate is requested for it",
        ),
        cel(
            "has(oldSelf.securityGroupIds) == has(self.securityGroupIds) && "
            "(!has(self.securityGroupIds) || self.securityGroupIds == oldSelf.securityGroupIds)",
            "securityGroupIds is immutable: an NLB's security groups are chosen when it is "
            "created (an NLB created without them can never get them); create a new "
            "PrivateLinkService to change them",
            reason="FieldValueForbidden",
        ),
    ]

    private_dns_name: str | None = Field(
        None,
        max_length=253,
        description="the hostname clients use; must be covered by the certificate",
        json_schema_extra={
            "x-kubernetes-validations": [
                _formats(
                    "privateDnsName",
                    HOSTNAME_RE,
                    "{name} must be a lower-case DNS name such as api.example.com",
                )
            ]
        },
    )
    subnet_ids: list[str] = Field(
        ...,
        min_length=1,
        description="the internal NLB's subnets (one per availability zone)",
        json_schema_extra=_id_set("subnetIds", SUBNET_RE, "a subnet id (subnet-...)", 16),
    )
    security_group_ids: list[str] | None = Field(
        None,
        description="NLB security groups; can only be set when the NLB is created",
        json_schema_extra=_id_set(
            "securityGroupIds", SECURITY_GROUP_RE, "a security group id (sg-...)", 5
        ),
    )
    listener: Listener
    backend: Backend
    endpoint_service: EndpointServiceSpec = Field(default_factory=EndpointServiceSpec)
    dns: DnsSpec = Field(default_factory=DnsSpec)
    tags: dict[str, str] = _tags_field()
    deletion_policy: DeletionPolicy = Field(
        "Delete", description="Retain leaves every AWS resource in place when the object goes"
    )


class TxtRecord(_Status):
    name: str
    value: str


class PrivateDnsStatus(_Status):
    name: str | None = None
    state: str | None = None
    txt_record: TxtRecord | None = None
    hosted_zone_id: str | None = None
    last_verification_start: datetime | None = None
    verification_attempts: int = 0


class Connection(_Status):
    endpoint_id: str
    owner: str | None = None
    state: str | None = None
    created_at: datetime | None = None


class _ObjectStatus(_Status):
    """What both kinds' statuses share: kstatus conditions and the generations they describe."""

    observed_generation: int | None = None
    stalled_generation: int | None = Field(
        None,
        description="the generation whose spec AWS rejected; no write calls are made until "
        "the spec changes",
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )


class PrivateLinkServiceStatus(_ObjectStatus):
    service_id: str | None = None
    service_name: str | None = None
    load_balancer_arn: str | None = None
    load_balancer_dns_name: str | None = None
    listener_arn: str | None = None
    target_group_arn: str | None = None
    certificate_arn: str | None = None
    private_dns: PrivateDnsStatus | None = None
    connections: list[Connection] = Field(default_factory=list)
    targets: int | None = Field(None, description="number of registered targets")


# -- PrivateLinkEndpoint ------------------------------------------------------------------------


class CaBundleRef(_Model):
    """Extra trust roots for the probe, from a ConfigMap or Secret in the same namespace."""

    kind: Literal["ConfigMap", "Secret"] = "ConfigMap"
    name: str = Field(..., min_length=1, max_length=253)
    key: str = Field("ca.crt", min_length=1, max_length=253)


class ProbeSpec(_Model):
    """The continuous HTTP/2 readiness probe through the endpoint."""

    __cel__ = [
        cel(
            "self.timeoutSeconds < self.intervalSeconds",
            "probe.timeoutSeconds must be less than probe.intervalSeconds",
        ),
    ]

    enabled: bool = True
    port: int = Field(443, ge=1, le=65535)
    path: str = Field(
        "/",
        max_length=2048,
        json_schema_extra={
            "x-kubernetes-validations": [
                cel("self.startsWith('/')", "probe.path must start with /")
            ]
        },
    )
    interval_seconds: int = Field(30, ge=5, le=3600)
    timeout_seconds: int = Field(5, ge=1, le=60)
    expected_statuses: list[Annotated[int, Field(ge=100, le=599)]] = Field(
        default_factory=list,
        description="empty: any HTTP status counts (h2 readiness is about the protocol)",
        json_schema_extra={
            "maxItems": 32,
            "x-kubernetes-list-type": "set",
        },
    )
    ca_bundle_ref: CaBundleRef | None = None


class PrivateLinkEndpointSpec(_Model):
    """Consumer side: an interface VPC endpoint and the HTTP/2 readiness of the service."""

    __cel__ = [
        cel(
            "has(self.serviceName) || has(self.privateDnsName)",
            "set serviceName or privateDnsName (or both, if they agree) to choose the service",
        ),
        cel(
            "!(has(self.securityGroupIds) && size(self.securityGroupIds) > 0 && "
            "has(self.allowedCidrs) && size(self.allowedCidrs) > 0)",
            "set securityGroupIds or allowedCidrs, not both: with allowedCidrs the operator "
            "creates and owns the endpoint's security group",
        ),
        cel(
            "!has(oldSelf.vpcId) || self.vpcId == oldSelf.vpcId",
            "vpcId is immutable: an endpoint cannot move to another VPC; create a new "
            "PrivateLinkEndpoint instead",
            reason="FieldValueForbidden",
        ),
    ]

    service_name: str | None = Field(
        None,
        max_length=256,
        json_schema_extra={
            "x-kubernetes-validations": [
                _formats(
                    "serviceName",
                    SERVICE_NAME_RE,
                    "{name} must be an endpoint service name such as "
                    "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
                )
            ]
        },
    )
    private_dns_name: str | None = Field(
        None,
        max_length=253,
        json_schema_extra={
            "x-kubernetes-validations": [
                _formats(
                    "privateDnsName",
                    HOSTNAME_RE,
                    "{name} must be a lower-case DNS name such as api.example.com",
                )
            ]
        },
    )
    service_region: str | None = Field(
        None,
        max_length=32,
        description="the service's region, for a cross-region endpoint",
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    f"self == '' || self.matches(r'{REGION_RE}')",
                    "serviceRegion must be a region name such as us-east-1",
                )
            ]
        },
    )
    vpc_id: str = Field(
        ...,
        max_length=64,
        json_schema_extra={
            "x-kubernetes-validations": [
                _formats("vpcId", VPC_RE, "{name} must be a VPC id (vpc-...)")
            ]
        },
    )
    subnet_ids: list[str] = Field(
        ...,
        min_length=1,
        json_schema_extra=_id_set("subnetIds", SUBNET_RE, "a subnet id (subnet-...)", 16),
    )
    security_group_ids: list[str] = Field(
        default_factory=list,
        json_schema_extra=_id_set(
            "securityGroupIds", SECURITY_GROUP_RE, "a security group id (sg-...)", 5
        ),
    )
    allowed_cidrs: list[str] = _str_list(
        "CIDRs allowed to reach the endpoint; the operator creates and owns a security group",
        cel(
            f"self.matches(r'{IPV4_CIDR_RE}') || self.matches(r'{IPV6_CIDR_RE}')",
            "each allowedCidrs entry must be a CIDR such as 10.0.0.0/16",
        ),
        max_items=50,
    )
    private_dns_enabled: bool = True
    ip_address_type: Literal["ipv4", "dualstack", "ipv6"] = "ipv4"
    probe: ProbeSpec = Field(default_factory=ProbeSpec)
    tags: dict[str, str] = _tags_field()
    deletion_policy: DeletionPolicy = "Delete"


class Certificate(_Status):
    subject: str | None = None
    issuer: str | None = None
    not_after: str | None = None
    dns_names: list[str] = Field(default_factory=list)


class H2Status(_Status):
    ready: bool = False
    reason: str | None = None
    alpn: str | None = None
    http_version: str | None = None
    status_code: int | None = None
    tls_version: str | None = None
    certificate: Certificate | None = None
    latency_ms: int | None = None
    last_probe_time: str | None = None
    message: str | None = None


class DnsEntry(_Status):
    dns_name: str
    hosted_zone_id: str | None = None


class PrivateLinkEndpointStatus(_ObjectStatus):
    endpoint_id: str | None = None
    service_name: str | None = None
    service_id: str | None = None
    private_dns_name: str | None = None
    security_group_id: str | None = Field(None, description="the security group the operator owns")
    state: str | None = None
    dns_entries: list[DnsEntry] = Field(default_factory=list)
    h2: H2Status | None = None


# -- the kinds ----------------------------------------------------------------------------------


class KindInfo(BaseModel):
    kind: str
    plural: str
    singular: str
    short_names: list[str]
    spec: type[_Model]
    status: type[_Status]
    printer_columns: list[dict[str, Any]]


_READY = '.status.conditions[?(@.type=="Ready")].status'
_REASON = '.status.conditions[?(@.type=="Ready")].reason'

KINDS: list[KindInfo] = [
    KindInfo(
        kind="PrivateLinkService",
        plural="privatelinkservices",
        singular="privatelinkservice",
        short_names=["pls"],
        spec=PrivateLinkServiceSpec,
        status=PrivateLinkServiceStatus,
        printer_columns=[
            {"name": "Service", "type": "string", "jsonPath": ".status.serviceName"},
            {"name": "DNS", "type": "string", "jsonPath": ".status.privateDns.state"},
            {"name": "Ready", "type": "string", "jsonPath": _READY},
            {"name": "Reason", "type": "string", "jsonPath": _REASON, "priority": 1},
            {
                "name": "DNS-Name",
                "type": "string",
                "jsonPath": ".spec.privateDnsName",
                "priority": 1,
            },
            {
                "name": "ALPN",
                "type": "string",
                "jsonPath": ".spec.listener.alpnPolicy",
                "priority": 1,
            },
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        ],
    ),
    KindInfo(
        kind="PrivateLinkEndpoint",
        plural="privatelinkendpoints",
        singular="privatelinkendpoint",
        short_names=["ple"],
        spec=PrivateLinkEndpointSpec,
        status=PrivateLinkEndpointStatus,
        printer_columns=[
            {"name": "Service", "type": "string", "jsonPath": ".status.serviceName"},
            {"name": "State", "type": "string", "jsonPath": ".status.state"},
            {"name": "Ready", "type": "string", "jsonPath": _READY},
            {"name": "H2", "type": "string", "jsonPath": ".status.h2.alpn"},
            {"name": "Reason", "type": "string", "jsonPath": _REASON, "priority": 1},
            {"name": "Endpoint", "type": "string", "jsonPath": ".status.endpointId", "priority": 1},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        ],
    ),
]


def kind_info(kind: str) -> KindInfo:
    for info in KINDS:
        if info.kind == kind:
            return info
    raise KeyError(f"unknown kind {kind!r}; known: {', '.join(k.kind for k in KINDS)}")
