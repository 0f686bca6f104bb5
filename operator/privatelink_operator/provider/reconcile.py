"""One level-based pass for a PrivateLinkService: read -> desired -> plan -> execute -> status."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..api import PrivateLinkServiceSpec
from ..aws import AwsCaller, AwsClients, AwsError
from ..execute import Done, execute
from ..ownership import Owner
from ..status import Condition, Stall, merge_conditions, summarize
from .actual import ProviderActual, Reader, txt_record_name
from .desired import DesiredService, Target, desired_service
from .diff import Memory, plan_delete, plan_service
from .plan import Plan

DRIFT_PERIOD = 60.0
# Seconds before the pass after one that wrote: re-read what was just changed (the next step of
# a chain often depends on it) soon, instead of after a whole polling interval.
SETTLE = 1.0

# Event reasons for what a step did (the plan's verbs in the past tense).
PAST = {
    "create": "Created",
    "replace": "Replaced",
    "modify": "Modified",
    "register": "Registered",
    "deregister": "Deregistered",
    "tag": "Tagged",
    "untag": "Untagged",
    "publish": "Published",
    "verify": "VerificationStarted",
    "accept": "Accepted",
    "reject": "Rejected",
    "delete": "Deleted",
}


def event_reason(action: str) -> str:
    return PAST.get(action, action[:1].upper() + action[1:])


@dataclass
class Outcome:
    """What a pass found and did: the status to write, Events, and when to come back."""

    plan: Plan
    status: dict[str, Any]
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message)
    requeue: float | None = None
    done: list[Done] = field(default_factory=list)
    quiet: bool = False  # a drift check that found nothing to do on the shared view

    @property
    def finished(self) -> bool:
        """For deletion: nothing owned is left."""
        return not self.plan.steps and not self.plan.waits and self.plan.stall is None


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def memory_from_status(status: Mapping[str, Any]) -> Memory:
    dns = status.get("privateDns") or {}
    return Memory(
        certificate_arn=status.get("certificateArn"),
        service_id=status.get("serviceId"),
        target_group_arn=status.get("targetGroupArn"),
        last_verification_start=_parse_time(dns.get("lastVerificationStart")),
        verification_attempts=int(dns.get("verificationAttempts") or 0),
    )


def read_actual(
    aws: AwsCaller,
    owner: Owner,
    spec: PrivateLinkServiceSpec,
    memory: Memory,
    endpoint_targets: list[Target] | None,
    deleting: bool = False,
) -> tuple[DesiredService, ProviderActual]:
    """The desired state and everything AWS holds for this object.

    Raises AwsError (kind ``user``) for bad input found on the way, such as an unknown subnet,
    before anything is written.
    """
    reader = Reader(aws, owner)
    actual = ProviderActual()
    actual.vpc_id = reader.subnets_vpc(spec.subnet_ids)
    desired = desired_service(spec, owner, actual.vpc_id, endpoint_targets)
    listener = spec.listener
    if listener.request_certificate:
        domain = spec.private_dns_name or ""
        if memory.certificate_arn:
            reader.certificate(memory.certificate_arn, actual, requested=True)
        if actual.certificate is None or actual.certificate.domain != domain:
            actual.certificate = None
            reader.find_requested_certificate(domain, actual)
    elif listener.certificate_arn:
        reader.certificate(listener.certificate_arn, actual, requested=False)
    reader.load_balancer(desired.load_balancer.name, actual)
    reader.target_groups(desired.target_group.name, [memory.target_group_arn or ""], actual)
    for tg in actual.target_groups:
        if tg.name == desired.target_group.name:
            reader.target_group_details(tg)
    reader.listener(spec.listener.port, actual)
    reader.endpoint_service(memory.service_id, actual)
    dns_name = spec.private_dns_name
    if dns_name and spec.dns.mode == "Route53":
        reader.hosted_zone(dns_name, spec.dns.hosted_zone_id, actual)
        service = actual.endpoint_service
        config = service.dns_config if service is not None else None
        if actual.zone is not None and service and config and service.private_dns_name:
            record = txt_record_name(config, service.private_dns_name)
            actual.txt_values = reader.record_values(actual.zone.id, record, "TXT")
        cert = actual.certificate
        pending = cert is not None and (cert.status != "ISSUED" or deleting)
        if actual.zone is not None and cert is not None and cert.owned and pending:
            for rec in cert.validation_records:
                values = reader.record_values(actual.zone.id, rec["Name"], rec["Type"])
                if values == [rec["Value"]]:
                    actual.validation_cname = rec
    return desired, actual


def _stall_from_error(exc: AwsError) -> Stall:
    if exc.kind == "access":
        return Stall(
            exc.code,
            f"AWS denied {exc.operation}: {exc.message}. Grant the operator's IAM role the "
            "actions in deploy/iam-policy.json.",
            blocks_writes=False,
        )
    path = _field_of(exc)
    what = f"Fix {path}." if path else "Fix the spec."
    return Stall(exc.code, f"AWS rejected {exc.operation}: {exc.message}. {what}")


# AWS error codes (prefixes) that name what the user wrote: the field a message points to.
_FIELDS = (
    ("InvalidSubnet", "spec.subnetIds"),
    ("InvalidSecurityGroup", "spec.securityGroupIds"),
    ("InvalidGroup", "spec.securityGroupIds"),
    ("CertificateNotFound", "spec.listener.certificateArn"),
    ("UnsupportedCertificate", "spec.listener.certificateArn"),
    ("SSLPolicyNotFound", "spec.listener.sslPolicy"),
    ("ALPNPolicyNotFound", "spec.listener.alpnPolicy"),
    ("InvalidTarget", "spec.backend.targets"),
    ("NoSuchHostedZone", "spec.dns.hostedZoneId"),
    ("InvalidPrincipal", "spec.endpointService.allowedPrincipals"),
)


def _field_of(exc: AwsError) -> str | None:
    for prefix, path in _FIELDS:
        if exc.code.startswith(prefix):
            return path
    return None


def reconcile_service(
    aws: AwsClients,
    owner: Owner,
    spec: PrivateLinkServiceSpec,
    status: Mapping[str, Any],
    generation: int | None,
    endpoint_targets: Iterable[Target] | None = None,
    now: datetime | None = None,
    apply: bool = True,
    view: AwsCaller | None = None,
    reads: AwsCaller | None = None,
) -> Outcome:
    """One pass. With ``apply=False`` nothing is written (the ``plan`` command).

    ``view``: a shared read-only view (``provider.inventory``) for a drift check of an object
    whose last pass completed this generation. The pass ends on it only when it shows nothing
    to do; otherwise it reads again from AWS, so writes never rest on a shared snapshot.
    ``reads``: what the pass reads AWS through (default ``aws``; the handlers' caches stable
    answers such as hosted zones).
    """
    now = now or datetime.now(UTC)
    memory = memory_from_status(status)
    targets = list(endpoint_targets) if endpoint_targets is not None else None
    blocked = status.get("stalledGeneration") is not None and (
        status.get("stalledGeneration") == generation
    )
    if (
        view is not None
        and generation is not None
        and status.get("observedGeneration") == generation
    ):
        quiet = _quiet_pass(view, owner, spec, memory, targets, status, generation, now)
        if quiet is not None:
            return quiet
    try:
        desired, actual = read_actual(aws if reads is None else reads, owner, spec, memory, targets)
        plan = plan_service(desired, actual, memory, now)
    except AwsError as exc:
        if exc.kind in ("user", "access"):
            plan = Plan(stall=_stall_from_error(exc))
            return _outcome(plan, None, None, status, generation, now, [], blocked=False)
        raise
    done: list[Done] = []
    events: list[tuple[str, str, str]] = []
    if blocked and plan.steps and plan.stall is None:
        previous = _stalled_condition(status)
        plan.stall = Stall(
            previous.get("reason", "Rejected"),
            previous.get("message", "AWS rejected this spec; change it to try again"),
        )
        plan.notes.append("no write calls: AWS rejected this generation of the spec")
        return _outcome(plan, desired, actual, status, generation, now, [], blocked=True)
    if apply and plan.steps and plan.stall is None:
        context = _context(actual)
        try:
            done = execute(aws, plan, context)
        except AwsError as exc:
            if exc.kind in ("user", "access"):
                plan.stall = _stall_from_error(exc)
                outcome = _outcome(plan, desired, actual, status, generation, now, [], True)
                outcome.events.append(("Warning", exc.code, plan.stall.message))
                return outcome
            raise
        # The spec did not change since the last complete pass: what was written puts back a
        # change made outside the operator (the console, the CLI).
        # Connections, verification and a Service's endpoints change without anyone drifting.
        steady = generation is not None and status.get("observedGeneration") == generation
        not_drift = {"connections", "dns-verification"} | (
            {"targets"} if targets is not None else set()
        )

        def event(d: Done) -> tuple[str, str, str]:
            message = f"{d.step.resource}: {d.step.summary}"
            if steady and d.step.resource not in not_drift:
                return ("Normal", "DriftCorrected", message + " (changed outside the operator)")
            return ("Normal", event_reason(d.step.action), message)

        events = [event(d) for d in done]
    outcome = _outcome(plan, desired, actual, status, generation, now, done, blocked=False)
    outcome.events = events + outcome.events
    return outcome


def _quiet_pass(
    view: AwsCaller,
    owner: Owner,
    spec: PrivateLinkServiceSpec,
    memory: Memory,
    targets: list[Target] | None,
    status: Mapping[str, Any],
    generation: int,
    now: datetime,
) -> Outcome | None:
    """The outcome of a pass read through ``view`` when it has nothing to do, else None."""
    try:
        desired, actual = read_actual(view, owner, spec, memory, targets)
        plan = plan_service(desired, actual, memory, now)
    except AwsError:
        return None
    if plan.steps or plan.waits or plan.stall is not None:
        return None
    outcome = _outcome(plan, desired, actual, status, generation, now, [], blocked=False)
    outcome.quiet = True
    return outcome


def _stalled_condition(status: Mapping[str, Any]) -> Mapping[str, Any]:
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Stalled":
            found: Mapping[str, Any] = cond
            return found
    return {}


def _context(actual: ProviderActual) -> dict[str, str]:
    context: dict[str, str] = {}
    if actual.certificate is not None:
        context["certificate_arn"] = actual.certificate.arn
    if actual.load_balancer is not None:
        context["load_balancer_arn"] = actual.load_balancer.arn
    if actual.listener is not None:
        context["listener_arn"] = actual.listener.arn
    if actual.endpoint_service is not None:
        context["service_id"] = actual.endpoint_service.id
    return context


def _outcome(
    plan: Plan,
    desired: DesiredService | None,
    actual: ProviderActual | None,
    status: Mapping[str, Any],
    generation: int | None,
    now: datetime,
    done: list[Done],
    blocked: bool,
) -> Outcome:
    new_status = _status_fields(desired, actual, status, done, now)
    parts = _parts(plan, desired, actual, done)
    new_status["conditions"] = merge_conditions(
        status.get("conditions"), summarize(parts, plan.stall), generation
    )
    requeue: float | None
    if plan.stall is not None:
        writes_failed = blocked or done or plan.steps
        new_status["stalledGeneration"] = (
            generation if writes_failed and plan.stall.blocks_writes else None
        )
        requeue = None
    else:
        new_status["stalledGeneration"] = None
        if done:
            requeue = SETTLE
        elif plan.waits:
            requeue = min(w.delay for w in plan.waits)
        else:
            requeue = None
    complete = plan.stall is None and not plan.waits and not done
    if complete or plan.stall is not None:
        new_status["observedGeneration"] = generation
    return Outcome(plan=plan, status=new_status, requeue=requeue, done=done)


def _status_fields(
    desired: DesiredService | None,
    actual: ProviderActual | None,
    status: Mapping[str, Any],
    done: list[Done],
    now: datetime,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if actual is None:
        return out
    produced = {d.step.produces: d.produced for d in done if d.step.produces}
    if actual.certificate is not None:
        out["certificateArn"] = actual.certificate.arn
    elif produced.get("certificate_arn"):
        out["certificateArn"] = produced["certificate_arn"]
    elif desired is not None and desired.certificate.arn:
        out["certificateArn"] = desired.certificate.arn
    lb = actual.load_balancer
    if lb is not None:
        out["loadBalancerArn"] = lb.arn
        out["loadBalancerDnsName"] = lb.dns_name
    elif produced.get("load_balancer_arn"):
        out["loadBalancerArn"] = produced["load_balancer_arn"]
    if actual.listener is not None:
        out["listenerArn"] = actual.listener.arn
    elif produced.get("listener_arn"):
        out["listenerArn"] = produced["listener_arn"]
    tg = actual.target_group(desired.target_group.name) if desired is not None else None
    if tg is not None:
        out["targetGroupArn"] = tg.arn
        out["targets"] = len(tg.targets or ())
    elif produced.get("target_group_arn"):
        out["targetGroupArn"] = produced["target_group_arn"]
    service = actual.endpoint_service
    previous_dns = status.get("privateDns") or {}
    if service is not None:
        out["serviceId"] = service.id
        out["serviceName"] = service.name
        out["connections"] = [
            {
                "endpointId": c["VpcEndpointId"],
                "owner": c.get("VpcEndpointOwner"),
                "state": str(c.get("VpcEndpointState", "")),
            }
            for c in sorted(service.connections, key=lambda c: str(c["VpcEndpointId"]))
        ]
        if service.private_dns_name:
            config = service.dns_config or {}
            dns: dict[str, Any] = {
                "name": service.private_dns_name,
                "state": config.get("State"),
                "lastVerificationStart": previous_dns.get("lastVerificationStart"),
                "verificationAttempts": previous_dns.get("verificationAttempts", 0),
            }
            if config.get("Name"):
                dns["txtRecord"] = {
                    "name": txt_record_name(config, service.private_dns_name),
                    "value": config.get("Value", ""),
                }
            if actual.zone is not None:
                dns["hostedZoneId"] = actual.zone.id
            if any(d.step.resource == "dns-verification" for d in done):
                dns["lastVerificationStart"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
                dns["verificationAttempts"] = int(dns["verificationAttempts"] or 0) + 1
            out["privateDns"] = dns
    elif produced.get("service_id"):
        out["serviceId"] = produced["service_id"]
    return out


def _parts(
    plan: Plan,
    desired: DesiredService | None,
    actual: ProviderActual | None,
    done: list[Done],
) -> list[Condition]:
    waits = {w.condition: w for w in reversed(plan.waits)}
    touched = {d.step.resource for d in done}
    lb_resources = {
        "certificate",
        "validation-record",
        "load-balancer",
        "target-group",
        "targets",
        "listener",
    }
    # Accepting or rejecting a consumer's connection is the service at work, not a change of
    # its configuration: it does not make the object Reconciling (no Ready flap per consumer).
    es_resources = {"endpoint-service", "permissions"}
    dns_resources = {"txt-record", "dns-verification"}

    def part(name: str, resources: set[str], ok: bool, ok_reason: str, missing: str) -> Condition:
        if name in waits:
            return Condition.false(name, waits[name].reason, waits[name].message)
        replaced = [d.step for d in done if d.step.action == "replace"]
        if replaced and any(r.resource in resources for r in replaced):
            what = "; ".join(f"{r.resource}: {r.summary}" for r in replaced)
            return Condition.false(name, "Replacing", f"replacing {what}")
        if touched & resources:
            changed = sorted(touched & resources)
            return Condition.false(name, "Updating", f"changed {', '.join(changed)}")
        if ok:
            return Condition.true(name, ok_reason, "")
        return Condition.unknown(name, "NotReconciled", missing)

    lb_ok = bool(
        actual is not None
        and actual.load_balancer is not None
        and actual.load_balancer.state == "active"
        and actual.listener is not None
        and desired is not None
        and actual.target_group(desired.target_group.name) is not None
    )
    service = actual.endpoint_service if actual is not None else None
    es_ok = service is not None and service.state.lower() == "available"
    dns_name = desired.endpoint_service.private_dns_name if desired is not None else None
    dns_state = ((service.dns_config or {}).get("State") or "").lower() if service else ""
    dns_ok = not dns_name or dns_state == "verified"
    return [
        part("LoadBalancerReady", lb_resources, lb_ok, "Active", "load balancer not read yet"),
        part(
            "EndpointServiceAvailable",
            es_resources,
            es_ok,
            "Available",
            "endpoint service not read yet",
        ),
        part(
            "DnsVerified",
            dns_resources,
            dns_ok,
            "Verified" if dns_name else "NoPrivateDnsName",
            "private DNS not verified yet",
        ),
    ]


def delete_service(
    aws: AwsClients,
    owner: Owner,
    spec: PrivateLinkServiceSpec,
    status: Mapping[str, Any],
    apply: bool = True,
) -> Outcome:
    """One deletion pass; ``finished`` when nothing this object owns is left."""
    memory = memory_from_status(status)
    try:
        desired, actual = read_actual(aws, owner, spec, memory, None, deleting=True)
    except AwsError as exc:
        if exc.kind != "user":
            raise
        # The spec no longer matches AWS (say, a subnet was deleted): find what we own anyway.
        desired = desired_service(spec, owner, None, None)
        actual = ProviderActual()
        reader = Reader(aws, owner)
        reader.load_balancer(desired.load_balancer.name, actual)
        reader.target_groups(desired.target_group.name, [memory.target_group_arn or ""], actual)
        reader.listener(spec.listener.port, actual)
        reader.endpoint_service(memory.service_id, actual)
    plan = plan_delete(desired, actual)
    done: list[Done] = []
    if apply and plan.steps:
        done = execute(aws, plan, {})
    events = [
        ("Normal", event_reason(d.step.action), f"{d.step.resource}: {d.step.summary}")
        for d in done
    ]
    outcome = Outcome(plan=plan, status={}, events=events, done=done)
    outcome.requeue = SETTLE if plan.steps else None
    return outcome
