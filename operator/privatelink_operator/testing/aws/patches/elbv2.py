"""ELBv2 as AWS validates it.

- Network load balancer ARNs (and their listeners') say ``/net/``; NLB DNS names look like
  AWS's; ``State`` is ``provisioning`` until the ``load_balancer`` delay has passed.
- Security groups of an NLB can be set only if it was created with some, and never emptied
  (``InvalidConfigurationRequest``): a change there means replacing the NLB.
- ``CreateListener`` and ``ModifyListener``: ALPN policy names checked (``ALPNPolicyNotFound``),
  one policy at most, only on TLS listeners; SSL policy names checked (``SSLPolicyNotFound``) and
  only on TLS/HTTPS listeners; TLS/HTTPS needs exactly one existing certificate
  (``CertificateNotFound``); one listener per port (``DuplicateListener``). ``ModifyListener``
  honours ``AlpnPolicy`` and ``Protocol=TLS`` (moto ignores the first and refuses the second).
- Creating an NLB, target group or listener again with the same name (port) and settings
  returns the existing one; other settings fail (``DuplicateLoadBalancerName``,
  ``DuplicateTargetGroupName``, ``DuplicateListener``), as on AWS.
- ``DeleteLoadBalancer`` refuses while an endpoint service uses the NLB (``ResourceInUse``).
- ``RegisterTargets`` checks ids: IP addresses for ``ip`` targets, existing instances for
  ``instance`` targets (``InvalidTarget``).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from moto.core.responses import ActionResult
from moto.elbv2.models import ELBv2Backend, FakeLoadBalancer
from moto.elbv2.responses import ELBV2Response
from moto.elbv2.ssl_policies import SSL_POLICIES

from ..state import STATE, now
from .core import AwsError, response_method

__all__ = ["ALPN_POLICIES", "apply"]

ALPN_POLICIES = ("HTTP1Only", "HTTP2Only", "HTTP2Optional", "HTTP2Preferred", "None")
_TLS = ("TLS", "HTTPS")
_DEFAULT_SSL_POLICY = "ELBSecurityPolicy-2016-08"  # AWS's default through the API


def _validate_alpn(alpn: list[str], protocol: str) -> None:
    if not alpn:
        return
    if len(alpn) > 1:
        raise AwsError("ValidationError", "You can specify only one ALPN policy")
    if alpn[0] not in ALPN_POLICIES:
        raise AwsError("ALPNPolicyNotFound", f"ALPN policy '{alpn[0]}' not found")
    if protocol != "TLS":
        raise AwsError("ALPNPolicyNotFound", "ALPN policies are supported only with TLS listeners")


def _validate_ssl_policy(ssl_policy: str | None, protocol: str) -> None:
    if ssl_policy is None:
        return
    if ssl_policy not in SSL_POLICIES:
        raise AwsError("SSLPolicyNotFound", f"SSL policy '{ssl_policy}' not found")
    if protocol not in _TLS:
        raise AwsError(
            "ValidationError", f"An SSL policy cannot be specified for {protocol} listeners"
        )


def _validate_certificates(backend: Any, certificates: list[str], protocol: str) -> None:
    if protocol in _TLS and not certificates:
        raise AwsError(
            "ValidationError", f"A certificate must be specified for {protocol} listeners"
        )
    if protocol in _TLS and len(certificates) > 1:
        raise AwsError(
            "ValidationError", "You must provide exactly one default certificate for a listener"
        )
    if protocol not in _TLS and certificates:
        raise AwsError(
            "ValidationError", f"Certificates cannot be specified for {protocol} listeners"
        )
    for arn in certificates:
        if not backend._certificate_exists(certificate_arn=arn):
            raise AwsError("CertificateNotFound", f"Certificate '{arn}' not found")


def _check_port_free(balancer: Any, port: Any, except_arn: str | None = None) -> None:
    for listener in balancer.listeners.values():
        if listener.arn != except_arn and str(listener.port) == str(port):
            raise AwsError(
                "DuplicateListener",
                f"A listener already exists on this port for this load balancer '{balancer.arn}'",
            )


def _same_name_balancer(backend: Any, name: str, *args: Any, **kwargs: Any) -> Any | None:
    """AWS: a create with the name and settings of an existing NLB returns it; other settings
    under that name fail with ``DuplicateLoadBalancerName``."""
    for balancer in backend.load_balancers.values():
        if balancer.name != name:
            continue
        subnet_ids = set(kwargs.get("subnet_ids") or (args[1] if len(args) > 1 else []) or [])
        for mapping in kwargs.get("subnet_mappings") or []:
            subnet_ids.add(mapping["SubnetId"])
        same = (
            (kwargs.get("loadbalancer_type") or "application") == balancer.type
            and (kwargs.get("scheme") or "internet-facing") == balancer.scheme
            and subnet_ids == {s.id for s in balancer.subnets}
            and set(kwargs.get("security_groups") or []) == set(balancer.security_groups or [])
        )
        if same:
            return balancer
        raise AwsError(
            "DuplicateLoadBalancerName",
            f"A load balancer with the same name '{name}' exists, but with different settings",
        )
    return None


def _same_listener(
    balancer: Any,
    port: Any,
    protocol: str,
    certificates: list[str],
    ssl_policy: str | None,
    alpn: list[str],
) -> Any | None:
    for listener in balancer.listeners.values():
        if str(listener.port) != str(port) or listener.protocol != protocol:
            continue
        if list(listener.certificates or []) != certificates:
            return None
        if protocol in _TLS and (ssl_policy or _DEFAULT_SSL_POLICY) != listener.ssl_policy:
            return None
        if list(listener.alpn_policy or []) != alpn:
            return None
        return listener
    return None


def _cert_arns(certificates: list[Any]) -> list[str]:
    return [c["CertificateArn"] if isinstance(c, dict) else str(c) for c in certificates or []]


def _balancer_of(backend: Any, listener_arn: str) -> tuple[Any, Any]:
    for balancer in backend.load_balancers.values():
        listener = balancer.listeners.get(listener_arn)
        if listener is not None:
            return balancer, listener
    raise AwsError("ListenerNotFound", "The specified listener does not exist.")


def _used_by_endpoint_service(lb_arn: str, account: str, region: str) -> str | None:
    from moto.ec2.models import ec2_backends

    backend = dict.get(dict.get(ec2_backends, account) or {}, region)
    if backend is None:
        return None
    for config in backend.configurations.values():
        if lb_arn in config.network_load_balancer_arns or lb_arn in getattr(
            config, "gateway_load_balancer_arns", []
        ):
            return str(config.id)
    return None


def apply() -> None:
    original_create_lb = ELBv2Backend.create_load_balancer

    def create_load_balancer(self: Any, *args: Any, **kwargs: Any) -> Any:
        existing = _same_name_balancer(self, *args, **kwargs)
        if existing is not None:
            return existing
        balancer = original_create_lb(self, *args, **kwargs)
        if balancer.type in ("network", "gateway"):
            kind = "net" if balancer.type == "network" else "gwy"
            old = balancer.arn
            new = old.replace(":loadbalancer/app/", f":loadbalancer/{kind}/")
            self.load_balancers.pop(old)
            balancer.arn = new
            self.load_balancers[new] = balancer
            tags = self.tagging_service.tags.pop(old, None)
            if tags is not None:
                self.tagging_service.tags[new] = tags
            suffix = new.rsplit("/", 1)[1]
            balancer.dns_name = f"{balancer.name}-{suffix}.elb.{self.region_name}.amazonaws.com"
        balancer._plo_active_at = now() + STATE.delays.load_balancer  # type: ignore[attr-defined]
        balancer._plo_created_with_sgs = bool(balancer.security_groups)  # type: ignore[attr-defined]
        return balancer

    setattr(ELBv2Backend, "create_load_balancer", create_load_balancer)  # noqa: B010

    def activate(self: Any) -> None:
        if self.state == "provisioning" and now() >= getattr(self, "_plo_active_at", 0.0):
            self.state = "active"

    setattr(FakeLoadBalancer, "activate", activate)  # noqa: B010

    original_create_tg = ELBv2Backend.create_target_group

    def create_target_group(self: Any, name: str, **kwargs: Any) -> Any:
        for group in self.target_groups.values():
            if group.name != name:
                continue
            wanted = (
                kwargs.get("protocol"),
                str(kwargs.get("port")),
                kwargs.get("vpc_id"),
                kwargs.get("target_type") or "instance",
            )
            have = (group.protocol, str(group.port), group.vpc_id, group.target_type)
            if wanted == have:
                return group  # same name and settings: AWS returns the existing group
            raise AwsError("DuplicateTargetGroupName", "A target group with the same name exists")
        return original_create_tg(self, name, **kwargs)

    setattr(ELBv2Backend, "create_target_group", create_target_group)  # noqa: B010

    original_set_sgs = ELBv2Backend.set_security_groups

    def set_security_groups(self: Any, arn: str, sec_groups: list[str]) -> None:
        balancer = self.load_balancers.get(arn)
        if balancer is not None and balancer.type == "network":
            if not getattr(balancer, "_plo_created_with_sgs", True):
                raise AwsError(
                    "InvalidConfigurationRequest",
                    "You cannot set security groups on a Network Load Balancer which was "
                    "created without any security groups.",
                )
            if not sec_groups:
                raise AwsError(
                    "InvalidConfigurationRequest",
                    "You cannot remove all security groups from a Network Load Balancer which "
                    "was created with security groups.",
                )
        original_set_sgs(self, arn, sec_groups)

    setattr(ELBv2Backend, "set_security_groups", set_security_groups)  # noqa: B010

    original_delete_lb = ELBv2Backend.delete_load_balancer

    def delete_load_balancer(self: Any, arn: str) -> None:
        service_id = _used_by_endpoint_service(arn, self.account_id, self.region_name)
        if service_id is not None:
            raise AwsError(
                "ResourceInUse",
                f"Load balancer '{arn}' cannot be deleted because it is currently associated "
                f"with another service ({service_id})",
            )
        original_delete_lb(self, arn)

    setattr(ELBv2Backend, "delete_load_balancer", delete_load_balancer)  # noqa: B010

    original_register = ELBv2Backend.register_targets

    def register_targets(self: Any, target_group_arn: str, instances: list[Any]) -> None:
        group = self.target_groups.get(target_group_arn)
        if group is not None:
            bad = []
            for target in instances:
                target_id = str(target.get("Id", ""))
                if group.target_type == "ip":
                    try:
                        ipaddress.ip_address(target_id)
                    except ValueError:
                        raise AwsError(
                            "ValidationError",
                            f"The IP address '{target_id}' is not a valid IPv4 address",
                        ) from None
                elif group.target_type == "instance" and not self.ec2_backend.get_instance_by_id(
                    target_id
                ):
                    bad.append(target_id)
            if bad:
                raise AwsError(
                    "InvalidTarget",
                    "The following targets are not valid instances: "
                    + ", ".join(f"'{b}'" for b in bad),
                )
        original_register(self, target_group_arn, instances)

    setattr(ELBv2Backend, "register_targets", register_targets)  # noqa: B010

    R = ELBV2Response
    original_create_listener = R.create_listener

    @response_method(R, "create_listener")
    def create_listener(self: Any) -> Any:
        protocol = str(self._get_param("Protocol") or "").upper()
        balancer = self.elbv2_backend.load_balancers.get(self._get_param("LoadBalancerArn"))
        if balancer is None:
            raise AwsError("LoadBalancerNotFound", "The specified load balancer does not exist.")
        params = self._get_params()
        same = _same_listener(
            balancer,
            self._get_param("Port"),
            protocol,
            _cert_arns(self._get_param("Certificates", [])),
            self._get_param("SslPolicy"),
            list(params.get("AlpnPolicy") or []),
        )
        if same is not None:
            return ActionResult({"Listeners": [same]})  # same settings: idempotent on AWS
        _check_port_free(balancer, self._get_param("Port"))
        _validate_alpn(list(params.get("AlpnPolicy") or []), protocol)
        ssl_policy = self._get_param("SslPolicy")
        _validate_ssl_policy(ssl_policy, protocol)
        _validate_certificates(
            self.elbv2_backend, _cert_arns(self._get_param("Certificates", [])), protocol
        )
        result = original_create_listener(self)
        if protocol not in _TLS:
            for listener in balancer.listeners.values():
                if listener.protocol not in _TLS:
                    listener.ssl_policy = None
        return result

    @response_method(R, "modify_listener")
    def modify_listener(self: Any) -> ActionResult:
        backend = self.elbv2_backend
        balancer, listener = _balancer_of(backend, self._get_param("ListenerArn"))
        params = self._get_params()
        port = self._get_param("Port")
        protocol = str(self._get_param("Protocol") or listener.protocol).upper()
        if protocol not in ("TCP", "TLS", "UDP", "TCP_UDP", "HTTP", "HTTPS"):
            raise AwsError("UnsupportedProtocol", f"Protocol '{protocol}' is not supported")
        if balancer.type == "network" and protocol in ("HTTP", "HTTPS"):
            raise AwsError(
                "UnsupportedProtocol",
                f"Protocol '{protocol}' is not supported by network load balancers",
            )
        if port is not None:
            _check_port_free(balancer, port, except_arn=listener.arn)
        certificates = self._get_param("Certificates")
        cert_arns = _cert_arns(certificates) if certificates else list(listener.certificates)
        if protocol not in _TLS and not certificates:
            cert_arns = []
        _validate_certificates(backend, cert_arns, protocol)
        ssl_policy = self._get_param("SslPolicy")
        _validate_ssl_policy(ssl_policy, protocol)
        alpn = params.get("AlpnPolicy")
        if alpn is not None:
            _validate_alpn(list(alpn), protocol)
        actions = params.get("DefaultActions") or []
        if port is not None:
            listener.port = port
        listener.protocol = protocol
        listener.certificates = cert_arns
        listener.certificate = cert_arns[0] if cert_arns else None
        if protocol in _TLS:
            listener.ssl_policy = ssl_policy or listener.ssl_policy or _DEFAULT_SSL_POLICY
        else:
            listener.ssl_policy = None
        if alpn is not None:
            listener.alpn_policy = list(alpn)
        if protocol != "TLS":
            listener.alpn_policy = []
        if actions:
            from moto.elbv2.models import FakeAction

            default_actions = [FakeAction(a) for a in actions]
            backend._validate_actions(default_actions)
            listener.default_actions = default_actions
            listener._default_rule[0].actions = default_actions
        return ActionResult({"Listeners": [listener]})
