"""One level-based pass for a PrivateLinkEndpoint: read -> plan -> execute -> status.

The HTTP/2 probe is not run here (it is asynchronous and shared by all endpoints); this pass
says whether the endpoint is there to probe and which hostname to probe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..api import PrivateLinkEndpointSpec
from ..aws import AwsClients, AwsError
from ..execute import Done, execute
from ..ownership import TAG_UID, Owner, tag_dict
from ..provider.plan import Plan
from ..status import Condition, Stall
from .plan import (
    ACCEPTANCE_POLL,
    SHORT,
    ActualEndpoint,
    ActualGroup,
    ConsumerActual,
    ServiceInfo,
    plan_endpoint,
    plan_endpoint_delete,
)

ENDPOINT_AVAILABLE = "EndpointAvailable"


@dataclass
class EndpointOutcome:
    plan: Plan
    status: dict[str, Any]
    part: Condition
    stall: Stall | None = None
    requeue: float | None = None
    events: list[tuple[str, str, str]] = field(default_factory=list)
    probe_host: str | None = None
    done: list[Done] = field(default_factory=list)

    @property
    def probe_ready(self) -> bool:
        """The endpoint is there and its private DNS name can be probed."""
        return self.part.status == "True" and self.probe_host is not None


class EndpointReader:
    def __init__(self, aws: AwsClients, owner: Owner) -> None:
        self.aws = aws
        self.owner = owner

    def service(self, spec: PrivateLinkEndpointSpec) -> ServiceInfo:
        """The service by name, or the one visible service offering privateDnsName."""
        if spec.service_name:
            try:
                answer = self.aws.call(
                    "ec2", "describe_vpc_endpoint_services", ServiceNames=[spec.service_name]
                )
            except AwsError as exc:
                if exc.code == "InvalidServiceName":
                    account = self._account()
                    raise AwsError(
                        "user",
                        "ServiceNotFound",
                        f"endpoint service {spec.service_name} does not exist or account "
                        f"{account} may not see it: ask the provider to add "
                        f"arn:aws:iam::{account}:root to allowedPrincipals",
                        "DescribeVpcEndpointServices",
                    ) from exc
                raise
            details = answer.get("ServiceDetails", [])
            info = _info(details[0]) if details else None
            if info is None:
                account = self._account()
                raise AwsError(
                    "user",
                    "ServiceNotFound",
                    f"endpoint service {spec.service_name} is not visible to account {account}",
                    "DescribeVpcEndpointServices",
                )
            if spec.private_dns_name and info.private_dns_name != spec.private_dns_name:
                raise AwsError(
                    "user",
                    "ServiceMismatch",
                    f"serviceName {spec.service_name} offers private DNS name "
                    f"{info.private_dns_name or '(none)'}, not {spec.private_dns_name}: "
                    "make serviceName and privateDnsName agree, or set only one",
                    "DescribeVpcEndpointServices",
                )
            return info
        name = spec.private_dns_name
        found: list[ServiceInfo] = []
        token: dict[str, Any] = {}
        while True:
            answer = self.aws.call("ec2", "describe_vpc_endpoint_services", **token)
            for detail in answer.get("ServiceDetails", []):
                names = {detail.get("PrivateDnsName")} | {
                    d.get("PrivateDnsName") for d in detail.get("PrivateDnsNames", []) or []
                }
                if name in names:
                    found.append(_info(detail))
            if not answer.get("NextToken"):
                break
            token = {"NextToken": answer["NextToken"]}
        if not found:
            account = self._account()
            raise AwsError(
                "user",
                "ServiceNotFound",
                f"no endpoint service visible to account {account} offers private DNS name "
                f"{name}: ask the provider to add arn:aws:iam::{account}:root to "
                "allowedPrincipals, or set serviceName",
                "DescribeVpcEndpointServices",
            )
        if len(found) > 1:
            raise AwsError(
                "user",
                "AmbiguousService",
                f"several endpoint services offer {name}: "
                f"{', '.join(sorted(f.name for f in found))}; set serviceName to choose one",
                "DescribeVpcEndpointServices",
            )
        return found[0]

    def _account(self) -> str:
        """Only for messages: STS is asked when a message names the account, not every pass."""
        try:
            answer = self.aws.call("sts", "get_caller_identity")
            return str(answer.get("Account", "this account"))
        except AwsError:
            return "this account"

    def endpoints(self, known_id: str | None, actual: ConsumerActual, service_name: str) -> None:
        filters = [{"Name": f"tag:{TAG_UID}", "Values": [self.owner.uid]}]
        answer = self.aws.call("ec2", "describe_vpc_endpoints", Filters=filters)
        items = list(answer.get("VpcEndpoints", []))
        if known_id and not any(e["VpcEndpointId"] == known_id for e in items):
            try:
                more = self.aws.call("ec2", "describe_vpc_endpoints", VpcEndpointIds=[known_id])
                items += more.get("VpcEndpoints", [])
            except AwsError as exc:
                if exc.kind != "not_found":
                    raise
        for item in items:
            tags = tag_dict(item.get("Tags", []))
            if not self.owner.owns(tags):
                continue
            state = str(item.get("State", ""))
            if state.lower() in ("deleted",):
                continue
            endpoint = ActualEndpoint(
                id=item["VpcEndpointId"],
                state=state,
                service_name=item.get("ServiceName", ""),
                vpc_id=item.get("VpcId", ""),
                subnets=frozenset(item.get("SubnetIds", []) or []),
                security_groups=frozenset(g["GroupId"] for g in item.get("Groups", []) or []),
                private_dns_enabled=bool(item.get("PrivateDnsEnabled", False)),
                ip_address_type=str(item.get("IpAddressType") or "ipv4"),
                dns_entries=list(item.get("DnsEntries", []) or []),
                last_error=item.get("LastError"),
                tags=tags,
            )
            if (
                endpoint.service_name == service_name
                and actual.endpoint is None
                and state.lower() != "deleting"
            ):
                actual.endpoint = endpoint
            else:
                actual.stale_endpoints.append(endpoint)

    def group(self, actual: ConsumerActual) -> None:
        filters = [{"Name": f"tag:{TAG_UID}", "Values": [self.owner.uid]}]
        answer = self.aws.call("ec2", "describe_security_groups", Filters=filters)
        for group in answer.get("SecurityGroups", []):
            tags = tag_dict(group.get("Tags", []))
            if not self.owner.owns(tags):
                continue
            rules = set()
            for perm in group.get("IpPermissions", []) or []:
                if perm.get("FromPort") != perm.get("ToPort"):
                    continue
                port = int(perm.get("FromPort") or 0)
                for r in perm.get("IpRanges", []) or []:
                    rules.add((port, r["CidrIp"]))
                for r in perm.get("Ipv6Ranges", []) or []:
                    rules.add((port, r["CidrIpv6"]))
            actual.group = ActualGroup(group["GroupId"], frozenset(rules), tags)
            return


def _info(detail: Mapping[str, Any]) -> ServiceInfo:
    return ServiceInfo(
        name=str(detail["ServiceName"]),
        id=detail.get("ServiceId"),
        private_dns_name=detail.get("PrivateDnsName"),
        verification_state=detail.get("PrivateDnsNameVerificationState"),
        acceptance_required=bool(detail.get("AcceptanceRequired", False)),
    )


def _stall(exc: AwsError) -> Stall:
    if exc.kind == "access":
        return Stall(
            exc.code,
            f"AWS denied {exc.operation}: {exc.message}. Grant the operator's IAM role the "
            "actions in deploy/iam-policy.json.",
            blocks_writes=False,
        )
    if exc.code in ("ServiceNotFound", "AmbiguousService", "ServiceMismatch"):
        return Stall(exc.code, exc.message)
    return Stall(exc.code, f"AWS rejected {exc.operation}: {exc.message}. Fix the spec.")


def read_endpoint(
    aws: AwsClients, owner: Owner, spec: PrivateLinkEndpointSpec, status: Mapping[str, Any]
) -> ConsumerActual:
    reader = EndpointReader(aws, owner)
    actual = ConsumerActual()
    actual.service = reader.service(spec)
    known = status.get("endpointId")
    reader.endpoints(known, actual, actual.service.name)
    found = ([actual.endpoint] if actual.endpoint else []) + actual.stale_endpoints
    if known and not any(e.id == known for e in found):
        actual.gone_endpoint_id = str(known)
    reader.group(actual)  # also without allowedCidrs: an owned group left over is deleted
    return actual


def reconcile_endpoint(
    aws: AwsClients,
    owner: Owner,
    spec: PrivateLinkEndpointSpec,
    status: Mapping[str, Any],
    generation: int | None,
    apply: bool = True,
) -> EndpointOutcome:
    blocked = status.get("stalledGeneration") is not None and (
        status.get("stalledGeneration") == generation
    )
    try:
        actual = read_endpoint(aws, owner, spec, status)
        plan = plan_endpoint(spec, owner, actual)
    except AwsError as exc:
        if exc.kind in ("user", "access"):
            stall = _stall(exc)
            outcome = EndpointOutcome(
                plan=Plan(stall=stall),
                status={"stalledGeneration": None},
                part=Condition.false(ENDPOINT_AVAILABLE, stall.reason, stall.message),
                stall=stall,
            )
            if exc.code == "ServiceNotFound":
                _service_gone(aws, owner, status, outcome)
            return outcome
        raise
    done: list[Done] = []
    if blocked and plan.steps:
        previous: Mapping[str, Any] = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "Stalled"), {}
        )
        stall = Stall(
            previous.get("reason", "Rejected"),
            previous.get("message", "AWS rejected this spec; change it to try again"),
        )
        return EndpointOutcome(
            plan=plan,
            status={"stalledGeneration": generation},
            part=Condition.false(ENDPOINT_AVAILABLE, stall.reason, stall.message),
            stall=stall,
        )
    events: list[tuple[str, str, str]] = []
    if apply and plan.steps:
        context: dict[str, str] = {}
        if actual.endpoint is not None:
            context["endpoint_id"] = actual.endpoint.id
        try:
            done = execute(aws, plan, context)
        except AwsError as exc:
            if exc.kind in ("user", "access"):
                stall = _stall(exc)
                return EndpointOutcome(
                    plan=plan,
                    status={"stalledGeneration": generation if stall.blocks_writes else None},
                    part=Condition.false(ENDPOINT_AVAILABLE, stall.reason, stall.message),
                    stall=stall,
                    events=[("Warning", exc.code, stall.message)],
                )
            raise
        events = [
            ("Normal", f"{d.step.action.capitalize()}d", f"{d.step.resource}: {d.step.summary}")
            for d in done
        ]
    outcome = _outcome(spec, actual, plan, done)
    outcome.events = events
    return outcome


def _rejected(service_name: str, endpoint_id: str) -> Stall:
    return Stall(
        "Rejected",
        f"the provider of {service_name} rejected endpoint {endpoint_id}: ask them to "
        "allow this account and accept it, then delete and recreate this object",
    )


def _service_gone(
    aws: AwsClients, owner: Owner, status: Mapping[str, Any], outcome: EndpointOutcome
) -> None:
    """The service is not visible (any more): say what became of an endpoint we already own.

    A provider that removes this account from its allowed principals also hides the service
    from it; its endpoint is then rejected, and that is what the user must learn, not that the
    service cannot be found. Nothing is planned: the endpoint is left as it is.
    """
    actual = ConsumerActual()
    EndpointReader(aws, owner).endpoints(
        status.get("endpointId"), actual, str(status.get("serviceName") or "")
    )
    candidates = [actual.endpoint] if actual.endpoint else []
    candidates += [e for e in actual.stale_endpoints if e.state.lower() != "deleting"]
    if not candidates:
        return
    endpoint = candidates[0]
    outcome.status.update(endpointId=endpoint.id, state=endpoint.state)
    if endpoint.state.lower() == "rejected":
        stall = _rejected(endpoint.service_name, endpoint.id)
        outcome.stall = stall
        outcome.plan.stall = stall
        outcome.part = Condition.false(ENDPOINT_AVAILABLE, stall.reason, stall.message)


def _outcome(
    spec: PrivateLinkEndpointSpec, actual: ConsumerActual, plan: Plan, done: list[Done]
) -> EndpointOutcome:
    service = actual.service
    assert service is not None
    produced = {d.step.produces: d.produced for d in done if d.step.produces}
    endpoint = actual.endpoint
    host = spec.private_dns_name or service.private_dns_name
    status: dict[str, Any] = {
        "serviceName": service.name,
        "serviceId": service.id,
        "privateDnsName": host,
        "stalledGeneration": None,
    }
    deleted = {
        d.step.params.get("GroupId") for d in done if d.step.operation == "delete_security_group"
    }
    if actual.group is not None and actual.group.id not in deleted:
        status["securityGroupId"] = actual.group.id
    else:
        status["securityGroupId"] = produced.get("security_group_id")
    stall: Stall | None = None
    requeue: float | None = None
    if endpoint is None:
        status["endpointId"] = produced.get("endpoint_id")
        status["state"] = "pending" if produced.get("endpoint_id") else None
        part = Condition.false(ENDPOINT_AVAILABLE, "Creating", "the endpoint is being created")
        requeue = SHORT
    else:
        status["endpointId"] = endpoint.id
        status["state"] = endpoint.state
        status["dnsEntries"] = [
            {"dnsName": d.get("DnsName", ""), "hostedZoneId": d.get("HostedZoneId")}
            for d in endpoint.dns_entries
        ]
        state = endpoint.state.lower()
        if state == "available":
            if spec.private_dns_enabled and service.private_dns_name and not service.dns_verified:
                part = Condition.false(
                    ENDPOINT_AVAILABLE,
                    "WaitingForDnsVerification",
                    f"the endpoint is available; private DNS for {service.private_dns_name} is "
                    "enabled once the provider's domain verification succeeds (state "
                    f"{service.verification_state or 'unknown'})",
                )
                requeue = 15.0
            elif spec.private_dns_enabled and not endpoint.private_dns_enabled:
                part = Condition.false(
                    ENDPOINT_AVAILABLE, "EnablingPrivateDns", "enabling private DNS"
                )
                requeue = SHORT
            else:
                part = Condition.true(ENDPOINT_AVAILABLE, "Available", "")
        elif state == "pendingacceptance":
            part = Condition.false(
                ENDPOINT_AVAILABLE,
                "PendingAcceptance",
                f"waiting for the provider of {service.name} to accept endpoint {endpoint.id}",
            )
            requeue = ACCEPTANCE_POLL
        elif state == "pending":
            part = Condition.false(ENDPOINT_AVAILABLE, "Pending", "AWS is provisioning it")
            requeue = SHORT
        elif state == "rejected":
            stall = _rejected(service.name, endpoint.id)
            part = Condition.false(ENDPOINT_AVAILABLE, stall.reason, stall.message)
        elif state in ("failed", "expired", "partial"):
            error = endpoint.last_error or {}
            detail = f": {error.get('Code', '')} {error.get('Message', '')}".rstrip(": ")
            stall = Stall(
                state.capitalize(),
                f"endpoint {endpoint.id} is {endpoint.state}{detail}; delete and recreate this "
                "object",
            )
            part = Condition.false(ENDPOINT_AVAILABLE, stall.reason, stall.message)
        else:
            part = Condition.false(ENDPOINT_AVAILABLE, endpoint.state, f"endpoint is {state}")
            requeue = SHORT
    if done:
        requeue = SHORT
        if part.status == "True":
            part = Condition.false(ENDPOINT_AVAILABLE, "Updating", "applying changes")
    return EndpointOutcome(
        plan=plan,
        status=status,
        part=part,
        stall=stall,
        requeue=requeue,
        probe_host=host,
        done=done,
    )


def delete_endpoint(
    aws: AwsClients, owner: Owner, spec: PrivateLinkEndpointSpec, status: Mapping[str, Any]
) -> tuple[Plan, list[Done]]:
    """One deletion pass: finished when the plan is empty and nothing waits."""
    reader = EndpointReader(aws, owner)
    actual = ConsumerActual()
    reader.endpoints(status.get("endpointId"), actual, "")
    reader.group(actual)
    plan = plan_endpoint_delete(actual)
    done = execute(aws, plan, {}) if plan.steps else []
    return plan, done
